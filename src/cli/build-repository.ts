/**
 * A repository's playbooks built for a CLI command (`playbooks test`, `runs replay`) as a sync
 * builds them — a local directory checked first (no link out of it: the bundler would read what
 * it points to), every playbook bundled, type-checked and loaded — or a CliError under `heading`
 * listing every error, printed terminal-safe.
 */
import { buildRepository, RepoBuildError } from '../repos/build.js';
import { checkDirectory } from '../repos/tree.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { PlaybookBuild } from '../store/repo-records.js';
import { CliError } from './open-store.js';
import { terminalSafe } from './terminal-text.js';

export async function buildForCli(
  sandbox: Sandbox, root: string, heading: string, opts: { localDirectory: boolean },
): Promise<PlaybookBuild[]> {
  try {
    if (opts.localDirectory) checkDirectory(root);
    return await buildRepository(sandbox, root, { typeCheck: true });
  } catch (err) {
    if (err instanceof RepoBuildError) throw new CliError(`${heading}:\n${err.errors.map((e) => `  ${terminalSafe(e)}`).join('\n')}`);
    throw err;
  }
}
