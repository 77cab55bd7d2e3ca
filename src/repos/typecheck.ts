/**
 * Type-checks a repository's playbooks against the SDK with the TypeScript compiler's API, before
 * they are activated: a playbook that calls an action its role's capability does not have, passes
 * the wrong parameters or returns the wrong shape is refused at sync with the compiler's own
 * messages, never found out in a run.
 *
 * The program sees the ES2022 library and the SDK (`import … from 'riposte'` resolves to this
 * installation's SDK declarations), and no Node or DOM types: code that names `process`,
 * `require` or `fetch` fails here already (the sandbox refuses it at run time anyway).
 *
 * Confinement: the compiler reads files through a host that refuses everything outside the
 * repository, the TypeScript library and Riposte's own declarations (a `/// <reference path>` or an
 * `import type` of /etc/…, or of the server's secret key, is "not found" — its content never reaches
 * a message), does not follow symlinks (the sync refuses them anyway), and diagnostics about files
 * outside the repository are dropped.
 *
 * It runs in a worker thread (typecheck-worker.ts) with a heap limit and a time limit: the compiler
 * is synchronous and takes seconds, which would otherwise hold the server's event loop.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The SDK's declarations in this installation (dist/src/sdk/index.d.ts). */
const SDK_TYPES = resolve(HERE, '../sdk/index.d.ts');
/** Riposte's compiled tree and its dependencies' declarations (the SDK's types import zod's). */
const RIPOSTE_DIST = resolve(HERE, '..');
const PACKAGE_MODULES = resolve(HERE, '../../../node_modules');

const TIMEOUT_MS = 120_000;
const MAX_DIAGNOSTICS = 200;

const inside = (dir: string, file: string): boolean => {
  const r = relative(dir, file);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
};

/** Runs the check in a worker thread; compiler messages as `path:line:col: TSxxxx: message`. */
export function typeCheck(root: string, entries: string[]): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./typecheck-worker.js', import.meta.url), {
      workerData: { root, entries },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
      env: {}, // the compiler needs nothing of the server's environment
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`the type check took more than ${TIMEOUT_MS / 1000} s and was stopped`));
    }, TIMEOUT_MS);
    worker.once('message', (m: { ok: true; diagnostics: string[] } | { ok: false; error: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok) resolvePromise(m.diagnostics);
      else reject(new Error(`the type check failed: ${m.error}`));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`the type check failed: ${err.message}`));
    });
  });
}

/** The check itself (in the worker). */
export async function typeCheckHere(root: string, entries: string[]): Promise<string[]> {
  const ts = (await import('typescript')).default;
  const options: import('typescript').CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
    paths: { riposte: [SDK_TYPES] },
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    isolatedModules: true,
    noResolve: false,
  };
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  const allowed = (file: string): boolean => {
    const f = resolve(root, file);
    return inside(root, f) || inside(libDir, f) || inside(RIPOSTE_DIST, f) || inside(PACKAGE_MODULES, f);
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, directoryExists, getSourceFile } = host;
  host.fileExists = (f) => allowed(f) && fileExists.call(host, f);
  host.readFile = (f) => (allowed(f) ? readFile.call(host, f) : undefined);
  host.directoryExists = (d) => allowed(d) && (directoryExists?.call(host, d) ?? false);
  host.getSourceFile = (f, ...rest) => (allowed(f) ? getSourceFile.call(host, f, ...rest) : undefined);
  host.realpath = (p) => p;
  const program = ts.createProgram(entries.map((e) => resolve(root, e)), options, host);
  const out: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n').slice(0, 1000);
    if (!d.file || d.start === undefined) out.push(`TS${d.code}: ${text}`);
    else if (inside(root, d.file.fileName)) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      out.push(`${relative(root, d.file.fileName)}:${line + 1}:${character + 1}: TS${d.code}: ${text}`);
    }
    // A diagnostic about a file outside the repository (the SDK, the library) says nothing the author can fix.
    if (out.length >= MAX_DIAGNOSTICS) break;
  }
  return out;
}
