/**
 * Playbooks written as source text, built and loaded into a real sandbox, for tests of what playbook
 * code can and cannot do (test/sandbox/). The module imports the SDK by path, as a repository's
 * playbook would import `riposte`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import { buildPlaybookBundle } from '../../src/sandbox/bundle.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { tempDir } from './temp-store.js';

const SDK = fileURLToPath(new URL('../../src/sdk/index.js', import.meta.url));

export interface PlaybookSource {
  /** Code at the top of the module (runs when the bundle is evaluated). */
  module?: string;
  /** The body of `async (ctx, incident, args) => { … }`. */
  body: string;
  id?: string;
  roles?: Record<string, string>;
  /** Default: `{ labels: ['test'] }`. */
  triggers?: { labels: string[]; when?: string };
  /** The playbook's default automation level (none when absent). */
  automation?: 'manual' | 'supervised' | 'autonomous';
}

/** Writes the playbook's module as `<dir>/playbook.mjs` and returns its path. */
export function writePlaybookFile(dir: string, src: PlaybookSource): string {
  const file = join(dir, 'playbook.mjs');
  writeFileSync(file, [
    `import { definePlaybook, ActionFailedError } from ${JSON.stringify(SDK)};`,
    src.module ?? '',
    `export default definePlaybook({ id: ${JSON.stringify(src.id ?? 'attack')}, version: 1,`,
    `  triggers: ${JSON.stringify(src.triggers ?? { labels: ['test'] })},`,
    ...(src.automation ? [`  automation: ${JSON.stringify(src.automation)},`] : []),
    `  roles: ${JSON.stringify(src.roles ?? {})} }, async (ctx, incident, args) => {`,
    src.body,
    '});',
  ].join('\n'));
  return file;
}

/** Writes, builds and loads a playbook; its label is `test`. */
export async function sandboxPlaybook(sandbox: Sandbox, src: PlaybookSource): Promise<LoadedPlaybook> {
  return loadPlaybookModule(sandbox, (dir) => writePlaybookFile(dir, src));
}

/** Builds and loads the module `write` puts in a temporary folder (it returns the file's path). */
export async function loadPlaybookModule(sandbox: Sandbox, write: (dir: string) => string): Promise<LoadedPlaybook> {
  using tmp = tempDir('riposte-sandbox-pb-');
  const bundle = await buildPlaybookBundle(write(tmp.dir));
  return sandbox.load(bundle).loaded();
}
