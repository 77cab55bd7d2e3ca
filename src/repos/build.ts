/**
 * Builds one commit of a playbook repository: find its playbooks, bundle each (only the SDK and the
 * repository's own files may be imported), type-check them against the SDK, and load each bundle
 * into the sandbox to read what it declares (validated there). Either every playbook of the commit
 * builds, or the commit is refused with every error found — never a partial set.
 *
 * Which files are playbooks: those listed in `riposte.json` (`{"playbooks": ["playbooks/a.ts", …]}`)
 * at the repository's root, or else every `playbooks/*.ts` (not `*.test.ts` / `*.d.ts`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { z } from 'zod';
import type { PlaybookBuild } from '../store/repo-records.js';
import { BundleError, buildPlaybookBundle, withBundler } from '../sandbox/bundle.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { typeCheck } from './typecheck.js';
import { issueLines } from '../common/issues.js';

export class RepoBuildError extends Error {
  constructor(readonly errors: string[]) {
    super(`the commit was refused: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}`);
    this.name = 'RepoBuildError';
  }
}

export const MANIFEST = 'riposte.json';
const MAX_PLAYBOOKS = 100;

const manifestSchema = z.strictObject({
  playbooks: z.array(z.string().min(1).max(500)).min(1).max(MAX_PLAYBOOKS),
});

/** The playbook files of the tree at `root`, relative to it. */
export function discoverPlaybooks(root: string): string[] {
  const manifestPath = join(root, MANIFEST);
  if (existsSync(manifestPath)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (err) {
      throw new RepoBuildError([`${MANIFEST}: not valid JSON (${(err as Error).message})`]);
    }
    const m = manifestSchema.safeParse(parsed);
    if (!m.success) throw new RepoBuildError(issueLines(m.error.issues, '(root)').map((l) => `${MANIFEST}: ${l}`));
    const errors: string[] = [];
    const files = m.data.playbooks.map((p) => {
      const rel = normalize(p);
      if (isAbsolute(rel) || rel.startsWith('..')) errors.push(`${MANIFEST}: "${p}" is outside the repository`);
      else if (!/\.(ts|mts|js|mjs)$/.test(rel)) errors.push(`${MANIFEST}: "${p}" is not a .ts or .js file`);
      else if (!existsSync(join(root, rel)) || !statSync(join(root, rel)).isFile()) errors.push(`${MANIFEST}: "${p}" does not exist`);
      return rel;
    });
    if (errors.length > 0) throw new RepoBuildError(errors);
    return [...new Set(files)];
  }
  const dir = join(root, 'playbooks');
  const files = existsSync(dir) && statSync(dir).isDirectory()
    ? readdirSync(dir).filter((f) => /\.(ts|mts)$/.test(f) && !/\.(test|d)\.m?ts$/.test(f)).sort().map((f) => join('playbooks', f))
    : [];
  if (files.length === 0) throw new RepoBuildError([`no playbooks found: list them in ${MANIFEST} or put them in playbooks/*.ts`]);
  if (files.length > MAX_PLAYBOOKS) throw new RepoBuildError([`more than ${MAX_PLAYBOOKS} playbooks in playbooks/`]);
  return files;
}

export interface BuildOptions {
  /** Type-check against the SDK (false only for the built-in repository, checked by Riposte's own build). */
  typeCheck: boolean;
  /** The files to build, relative to root; default: discoverPlaybooks(root). */
  files?: string[];
}

export async function buildRepository(sandbox: Sandbox, root: string, opts: BuildOptions): Promise<PlaybookBuild[]> {
  const files = opts.files ?? discoverPlaybooks(root);
  const errors: string[] = [];
  // Bundling first: it refuses imports from outside the repository before the type checker reads any.
  const bundles = await withBundler(() => Promise.all(files.map(async (file) => {
    try {
      return await buildPlaybookBundle(resolve(root, file), { root });
    } catch (err) {
      if (err instanceof BundleError) errors.push(...err.errors.map((e) => (e.startsWith(`${file}:`) ? e : `${file}: ${e}`)));
      else errors.push(`${file}: ${(err as Error).message}`);
      return null;
    }
  })));
  if (errors.length > 0) throw new RepoBuildError(errors);
  if (opts.typeCheck) {
    const diagnostics = await typeCheck(root, files);
    if (diagnostics.length > 0) throw new RepoBuildError(diagnostics);
  }
  const builds: PlaybookBuild[] = [];
  for (const [i, file] of files.entries()) {
    const bundle = bundles[i]!;
    try {
      const loaded = await sandbox.loadAsync(bundle);
      builds.push({ playbookId: loaded.config.id, path: file, bundle: { hash: bundle.hash, code: bundle.code, config: loaded.config } });
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  if (errors.length > 0) throw new RepoBuildError(errors);
  return builds;
}
