/**
 * The playbooks that come with Riposte — the shipped ones (playbooks/) and the ad-hoc action's —
 * loaded like any playbook: built from their files into sandbox bundles, never imported here.
 */
import { fileURLToPath } from 'node:url';
import { BUILTIN_REPOSITORY, shippedPlaybookFiles } from '../../playbooks/index.js';
import type { LoadedPlaybook } from '../engine/registry.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { loadPlaybookFile } from '../sandbox/load.js';
import { stopBundler } from '../sandbox/bundle.js';

const ADHOC = { path: 'src/engine/adhoc-playbook.ts', file: fileURLToPath(new URL('../engine/adhoc-playbook.js', import.meta.url)) };

/** The ad-hoc action's playbook: internal to Riposte, in no repository. */
export async function loadAdhocPlaybook(sandbox: Sandbox): Promise<LoadedPlaybook> {
  return loadPlaybookFile(sandbox, ADHOC.file, { repository: BUILTIN_REPOSITORY, commit: null, path: ADHOC.path });
}

/** The shipped playbooks loaded straight from their files (tests; the server syncs them as the built-in repository). */
export async function loadBuiltinPlaybooks(sandbox: Sandbox, opts: { adhoc?: boolean } = {}): Promise<LoadedPlaybook[]> {
  const files = [...shippedPlaybookFiles, ...(opts.adhoc === false ? [] : [ADHOC])];
  try {
    return await Promise.all(files.map((p) => loadPlaybookFile(sandbox, p.file, { repository: BUILTIN_REPOSITORY, commit: null, path: p.path })));
  } finally {
    await stopBundler();
  }
}
