/** Loads a playbook file into the sandbox: build its bundle, read its declared configuration. */
import type { LoadedPlaybook, PlaybookSource } from '../engine/registry.js';
import { buildPlaybookBundle } from './bundle.js';
import type { Sandbox } from './sandbox.js';

export async function loadPlaybookFile(sandbox: Sandbox, entry: string, source: PlaybookSource): Promise<LoadedPlaybook> {
  const bundle = await buildPlaybookBundle(entry);
  const playbook = sandbox.load(bundle);
  return { config: playbook.config, executor: playbook, hash: bundle.hash, identity: 'bundle', source };
}
