/**
 * Loads a playbook for a hermetic test as the server would run it: its file bundled (only the SDK
 * and the repository's own files may be imported) and evaluated in the sandbox, its declared
 * configuration checked. One sandbox serves every test of the process.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlaybookBundle, withBundler } from '../sandbox/bundle.js';
import { Sandbox } from '../sandbox/sandbox.js';
import type { TestPlaybook } from './runner.js';

let shared: Sandbox | null = null;

/** The process's sandbox for tests (created on first use; its isolates do not keep the process alive). */
export function testSandbox(): Sandbox {
  shared ??= new Sandbox();
  return shared;
}

/**
 * The playbook in `file` (a path, relative to the working directory, or a `file:` URL such as
 * `new URL('../playbooks/block-ip.ts', import.meta.url)`). `root`: the repository the playbook may
 * import from (default: the file's directory's parent, as a repository's `playbooks/` folder).
 */
export async function loadPlaybook(file: string | URL, opts: { root?: string } = {}): Promise<TestPlaybook> {
  const path = file instanceof URL || file.startsWith('file:') ? fileURLToPath(file) : resolve(file);
  const root = opts.root === undefined ? {} : { root: resolve(opts.root) };
  const bundle = await withBundler(() => buildPlaybookBundle(path, root));
  const playbook = await testSandbox().loadAsync(bundle);
  return { id: playbook.config.id, loaded: playbook.loaded({ repository: 'local', commit: null, path }) };
}
