/**
 * The playbooks this process knows, by id, each with its code identity: a hash of what the
 * playbook really executes, recorded on every run, so a replay on different code can be told
 * apart from one on the same code (the non-determinism message says so).
 *
 * For a playbook defined in a module file, the identity is the hash of that module bundled with
 * every helper it imports (esbuild, minified: comments and formatting do not change it; npm
 * packages stay outside). A definition made in memory (tests) has no file: its identity is its
 * function's text.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PlaybookDefinition } from '../sdk/playbook.js';

export interface PlaybookModule {
  definition: PlaybookDefinition;
  /** Path of the compiled module that defines the playbook. */
  entry?: string;
}

export interface RegisteredPlaybook {
  definition: PlaybookDefinition;
  /** sha256 of the playbook's bundle (or function text), first 16 hex characters. */
  hash: string;
  /** What the hash covers. */
  identity: 'bundle' | 'function';
}

// A module's bundle does not change while the process runs: one build per file.
const bundles = new Map<string, string>();

/**
 * esbuild, loaded on first use with its worker thread off: each build is then a one-shot esbuild
 * process (13 ms), instead of a worker that would stay resident in the server (~11 MB of RSS).
 */
function esbuild(): typeof import('esbuild') {
  process.env['ESBUILD_WORKER_THREADS'] ??= '0';
  return createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
}

/** sha256 (16 hex) of the module bundled with its relative imports. */
export function bundleHash(entry: string): string {
  let hash = bundles.get(entry);
  if (hash === undefined) {
    const out = esbuild().buildSync({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
      charset: 'utf8',
    });
    hash = createHash('sha256').update(out.outputFiles[0]!.contents).digest('hex').slice(0, 16);
    bundles.set(entry, hash);
  }
  return hash;
}

export class PlaybookRegistry {
  private readonly byId = new Map<string, RegisteredPlaybook>();

  constructor(playbooks: Array<PlaybookDefinition | PlaybookModule> = []) {
    for (const p of playbooks) this.register(p);
  }

  register(p: PlaybookDefinition | PlaybookModule): RegisteredPlaybook {
    const { definition, entry } = 'definition' in p ? p : { definition: p, entry: undefined };
    if (this.byId.has(definition.id)) throw new Error(`playbook ${definition.id} is registered twice`);
    const code = entry !== undefined ? bundleHash(entry) : definition.run.toString();
    const hash = createHash('sha256').update(`${definition.version}\n${code}`).digest('hex').slice(0, 16);
    const reg: RegisteredPlaybook = { definition, hash, identity: entry !== undefined ? 'bundle' : 'function' };
    this.byId.set(definition.id, reg);
    return reg;
  }

  get(id: string): RegisteredPlaybook | undefined {
    return this.byId.get(id);
  }

  all(): RegisteredPlaybook[] {
    return [...this.byId.values()];
  }

  /** Playbooks whose triggers match an incident label. */
  matching(label: string): RegisteredPlaybook[] {
    return this.all().filter((p) => p.definition.triggers.labels.includes(label));
  }
}
