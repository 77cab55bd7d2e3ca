/**
 * The playbooks this process runs, by id, each with its configuration, the executor that runs its
 * code (in the sandbox, or in process for playbooks defined in memory), its code identity and
 * where it came from. The code identity is recorded on every run, so a replay on different code can
 * be told apart from one on the same code (the non-determinism message says so).
 *
 * For a playbook loaded from a file (src/sandbox/load.ts), the identity is the hash of its sandbox
 * bundle: its module with every helper it imports, minified (comments and formatting do not change
 * it). A definition made in memory (tests) has no file: its identity is its function's text.
 */
import { createHash } from 'node:crypto';
import type { PlaybookConfig, PlaybookDefinition } from '../sdk/playbook.js';
import type { CapabilityName } from '../sdk/capabilities.js';
import { inProcessExecutor, type PlaybookExecutor } from './executor.js';

/** Where a playbook's code came from. */
export interface PlaybookSource {
  /** Repository name (`builtin` for the playbooks shipped with Riposte). */
  repository: string;
  /** The commit the code was built from; null for a directory that is not a Git checkout. */
  commit: string | null;
  /** The playbook's file, relative to the repository. */
  path: string;
}

export interface LoadedPlaybook {
  config: PlaybookConfig<Record<string, CapabilityName>>;
  executor: PlaybookExecutor;
  /** The code identity: sha256 of the bundle (or of the function's text), first 16 hex characters. */
  hash: string;
  /** What the hash covers. */
  identity: 'bundle' | 'function';
  source?: PlaybookSource;
}

export type RegisteredPlaybook = LoadedPlaybook;

/** A playbook defined in memory (tests): run in process, identified by its function's text. */
export function inMemoryPlaybook(definition: PlaybookDefinition): LoadedPlaybook {
  const hash = createHash('sha256').update(`${definition.version}\n${definition.run.toString()}`).digest('hex').slice(0, 16);
  return { config: definition, executor: inProcessExecutor(definition), hash, identity: 'function' };
}

export class PlaybookRegistry {
  private readonly byId = new Map<string, RegisteredPlaybook>();

  constructor(playbooks: Array<PlaybookDefinition | LoadedPlaybook> = []) {
    for (const p of playbooks) this.register(p);
  }

  register(p: PlaybookDefinition | LoadedPlaybook): RegisteredPlaybook {
    const loaded = 'executor' in p ? p : inMemoryPlaybook(p);
    if (this.byId.has(loaded.config.id)) throw new Error(`playbook ${loaded.config.id} is registered twice`);
    this.byId.set(loaded.config.id, loaded);
    return loaded;
  }

  get(id: string): RegisteredPlaybook | undefined {
    return this.byId.get(id);
  }

  all(): RegisteredPlaybook[] {
    return [...this.byId.values()];
  }

  /** Playbooks whose triggers match an incident label. */
  matching(label: string): RegisteredPlaybook[] {
    return this.all().filter((p) => p.config.triggers.labels.includes(label));
  }
}
