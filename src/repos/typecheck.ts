/**
 * Type-checks a repository's playbooks against the SDK with the TypeScript compiler's API, before
 * they are bundled: a playbook that calls an action its role's capability does not have, passes
 * the wrong parameters or returns the wrong shape is refused at sync with the compiler's own
 * messages, never found out in a run.
 *
 * The program sees the ES2022 library and the SDK (`import … from 'riposte'` resolves to this
 * installation's SDK declarations), and no Node or DOM types: code that names `process`,
 * `require` or `fetch` fails here already (the sandbox refuses it at run time anyway).
 */
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The SDK's declarations in this installation (dist/src/sdk/index.d.ts). */
const SDK_TYPES = resolve(HERE, '../sdk/index.d.ts');

/** Compiler messages as `path:line:col: message`, paths relative to the repository; empty when it checks. */
export async function typeCheck(root: string, entries: string[]): Promise<string[]> {
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
    noUncheckedIndexedAccess: false,
    isolatedModules: true,
  };
  const program = ts.createProgram(entries.map((e) => resolve(root, e)), options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const where = relative(root, d.file.fileName);
    return `${where.startsWith('..') ? d.file.fileName : where}:${line + 1}:${character + 1}: TS${d.code}: ${text}`;
  });
}
