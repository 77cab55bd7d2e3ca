/**
 * What a repository's tree may hold before anything of it is built: no symlinks (a link out of the
 * repository would let the bundler or the type checker read the server's files), no submodules,
 * and bounded size — checked on the commit's tree before it is exported (git) or on the directory
 * as it is (dir), so a hostile commit can neither reach outside nor fill the disk.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TreeEntry } from './git.js';
import { RepoBuildError } from './build.js';

export const TREE_LIMITS = { maxFiles: 5000, maxBytes: 50 * 1024 * 1024, maxFileBytes: 5 * 1024 * 1024 };

export function checkTree(entries: TreeEntry[]): void {
  const errors: string[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (e.mode === '120000') errors.push(`${e.path}: symlinks are not allowed in a playbook repository`);
    else if (e.mode === '160000') errors.push(`${e.path}: submodules are not allowed in a playbook repository`);
    else if (e.size > TREE_LIMITS.maxFileBytes) errors.push(`${e.path}: ${e.size} bytes, more than ${TREE_LIMITS.maxFileBytes} per file`);
    bytes += e.size;
    if (errors.length >= 20) break;
  }
  if (entries.length > TREE_LIMITS.maxFiles) errors.push(`${entries.length} files, more than ${TREE_LIMITS.maxFiles}`);
  if (bytes > TREE_LIMITS.maxBytes) errors.push(`${bytes} bytes in all, more than ${TREE_LIMITS.maxBytes}`);
  if (errors.length > 0) throw new RepoBuildError(errors);
}

/** The same check on a local directory (`.git` and `node_modules` are not part of it). */
export function checkDirectory(root: string): void {
  const entries: TreeEntry[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (dir === root && (name === '.git' || name === 'node_modules')) continue;
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) entries.push({ mode: '120000', size: 0, path: relative(root, p) });
      else if (st.isDirectory()) walk(p);
      else entries.push({ mode: '100644', size: st.size, path: relative(root, p) });
      if (entries.length > TREE_LIMITS.maxFiles) return;
    }
  };
  walk(root);
  checkTree(entries);
}
