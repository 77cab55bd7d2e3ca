/** Loads a playbook file into the sandbox: build its bundle, read its declared configuration. */
import type { LoadedPlaybook, PlaybookSource } from '../engine/registry.js';
import { buildPlaybookBundle } from './bundle.js';
import type { Sandbox } from './sandbox.js';

export async function loadPlaybookFile(sandbox: Sandbox, entry: string, source: PlaybookSource): Promise<LoadedPlaybook> {
  const bundle = await buildPlaybookBundle(entry);
  return sandbox.load(bundle).loaded(source);
}
