/**
 * Builds a playbook module into the script the sandbox evaluates: the playbook with every file of
 * its own it imports, the playbook side of the SDK (src/sdk/playbook-runtime.ts) and the guest
 * (guest.ts), as one self-contained strict-mode script whose value is the guest — nothing is
 * imported at run time, so a playbook can use nothing but what is in its bundle and what `ctx`
 * offers. The sandbox evaluates it once per execution: a fresh module instance each time. An import of anything
 * else (a Node built-in, an npm package outside the allow-list, an app's code) fails the build with
 * esbuild's message naming the file and the import.
 *
 * The bundle's hash is the playbook's code identity (what a run records): minified, so comments and
 * formatting do not change it.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

export interface PlaybookBundle {
  /** The script to evaluate in a sandbox context. */
  code: string;
  /** sha256 of the code, first 16 hex characters. */
  hash: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** The SDK as playbook code sees it inside the sandbox. */
const RUNTIME = resolve(HERE, '../sdk/playbook-runtime.js');
const GUEST = resolve(HERE, './guest.js');
/** The SDK's entry in this installation (compiled), which playbooks may import by path. */
const SDK_INDEX = resolve(HERE, '../sdk/index.js');

/** npm packages a playbook may bundle besides the SDK (pure JavaScript, no I/O). Empty today. */
export const ALLOWED_PACKAGES: readonly string[] = [];

export class BundleError extends Error {
  constructor(readonly entry: string, readonly errors: string[]) {
    super(`playbook ${entry} does not build: ${errors.join('; ')}`);
    this.name = 'BundleError';
  }
}

/** Redirects the SDK to its playbook side, and refuses packages outside the allow-list. */
const sdkPlugin = (root: string | null): Plugin => ({
  name: 'riposte-sdk',
  setup(build) {
    if (root !== null) {
      // Before anything is read: a file of the repository imports only files of the repository.
      build.onResolve({ filter: /^[./]/ }, (args) => {
        if (args.importer === '' || !inside(root, args.importer)) return undefined; // Riposte's own entry and guest
        const target = resolve(args.resolveDir, args.path);
        if (inside(root, target) || target === GUEST) return undefined; // the generated entry imports the guest
        return { errors: [{ text: `"${args.path}" is outside the repository: a playbook may import only its repository's files and the SDK` }] };
      });
    }
    build.onResolve({ filter: /^riposte$/ }, () => ({ path: RUNTIME }));
    build.onResolve({ filter: /sdk\/index(\.js|\.ts)?$/ }, (args) => {
      const target = resolve(args.resolveDir, args.path.endsWith('.ts') ? args.path.replace(/\.ts$/, '.js') : args.path);
      return target === SDK_INDEX || target === SDK_INDEX.replace(/\.js$/, '') ? { path: RUNTIME } : undefined;
    });
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path === 'riposte' || ALLOWED_PACKAGES.includes(args.path)) return undefined;
      return { errors: [{ text: `"${args.path}" cannot be imported by playbook code: only the SDK ("riposte") and the repository's own files` }] };
    });
  },
});

/** Riposte's own compiled tree (the guest, the SDK runtime): the only files outside a repository a bundle may hold. */
const RIPOSTE_TREE = resolve(HERE, '..');

const inside = (dir: string, file: string): boolean => {
  const r = relative(dir, file);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
};

/**
 * Bundles the playbook module at `entry` (its default export is the definition). With `root`, every
 * file of the bundle must lie inside that directory (the repository) once symlinks are resolved:
 * `import '../../../etc/x'`, or a symlink out of the repository, fails the build.
 */
export async function buildPlaybookBundle(entry: string, opts: { root?: string } = {}): Promise<PlaybookBundle> {
  const esbuild = await import('esbuild');
  const contents = `import definition from ${JSON.stringify(resolve(entry))};\nimport { makeGuest } from ${JSON.stringify(GUEST)};\nexport default makeGuest(definition);\n`;
  let out;
  try {
    out = await esbuild.build({
      stdin: { contents, resolveDir: dirname(resolve(entry)), sourcefile: 'riposte-sandbox-entry.js', loader: 'js' },
      bundle: true, write: false, format: 'iife', globalName: '__riposte_bundle', platform: 'neutral', target: 'es2022', minify: true,
      legalComments: 'none', logLevel: 'silent', charset: 'utf8', plugins: [sdkPlugin(opts.root !== undefined ? realpathSync(opts.root) : null)],
      // Modules are strict; the IIFE they become is not unless it says so.
      banner: { js: '"use strict";' },
      mainFields: ['module', 'main'], conditions: ['import'],
      metafile: opts.root !== undefined,
      // Messages name files relative to the repository.
      absWorkingDir: opts.root !== undefined ? realpathSync(opts.root) : process.cwd(),
      // Never the repository's tsconfig.json: its `extends` could name any file, quoted back in a parse error.
      ...(opts.root !== undefined ? { tsconfigRaw: '{}' } : {}),
    });
  } catch (err) {
    const failure = err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> };
    const errors = failure.errors?.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text));
    throw new BundleError(entry, errors ?? [(err as Error).message]);
  }
  if (opts.root !== undefined) {
    const root = realpathSync(opts.root);
    const outside = Object.keys(out.metafile?.inputs ?? {})
      .filter((f) => f !== '<stdin>')
      .map((f) => resolve(root, f))
      .filter((f) => !inside(root, f) && !inside(RIPOSTE_TREE, f));
    if (outside.length > 0) {
      throw new BundleError(entry, outside.map((f) => `${f} is outside the repository: a playbook may import only its repository's files and the SDK`));
    }
  }
  // Evaluated as an expression, the script's value is the guest; it declares no global (the
  // realm's global object is frozen anyway).
  const code = `(function () {\n${out.outputFiles[0]!.text}\nreturn __riposte_bundle.default;\n})()`;
  return { code, hash: createHash('sha256').update(code).digest('hex').slice(0, 16) };
}

/** Stops esbuild's helper process (builds start it on demand). */
export async function stopBundler(): Promise<void> {
  const esbuild = await import('esbuild');
  await esbuild.stop();
}

let bundlerUsers = 0;
/** Runs `fn` (which builds bundles) and stops esbuild's helper process once no one else is building. */
export async function withBundler<T>(fn: () => Promise<T>): Promise<T> {
  bundlerUsers++;
  try {
    return await fn();
  } finally {
    if (--bundlerUsers === 0) await stopBundler();
  }
}
