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
import type { PlaybookOrigin } from '../store/records.js';
import { inProcessExecutor, type PlaybookExecutor } from './executor.js';

/** Where a playbook's code came from (recorded on each of its runs). */
export type PlaybookSource = PlaybookOrigin;

export interface LoadedPlaybook {
  config: PlaybookConfig<Record<string, CapabilityName>>;
  executor: PlaybookExecutor;
  /** The code identity: sha256 of the bundle (or of the function's text), first 16 hex characters. */
  hash: string;
  /** What the hash covers. */
  identity: 'bundle' | 'function';
  source?: PlaybookSource;
  /**
   * What the playbook declares about its power that no admin has confirmed (src/engine/power.ts);
   * non-empty: its runs are supervised. Undefined for playbooks defined in memory (tests).
   */
  unconfirmed?: string[];
}

/**
 * Finds the code of a run that started on a playbook version no longer active, by its hash; the
 * repository the run's code came from decides which grant covers it.
 */
export type PastCode = (
  playbookId: string, hash: string, repository: string | null,
) => Promise<RegisteredPlaybook | null>;

export type RegisteredPlaybook = LoadedPlaybook;

/** A playbook defined in memory (tests): run in process, identified by its function's text. */
export function inMemoryPlaybook(definition: PlaybookDefinition): LoadedPlaybook {
  const hash = createHash('sha256').update(`${definition.version}\n${definition.run.toString()}`).digest('hex').slice(0, 16);
  return { config: definition, executor: inProcessExecutor(definition), hash, identity: 'function' };
}

export class PlaybookRegistry {
  private byId = new Map<string, RegisteredPlaybook>();
  /** Where the code of runs started on an earlier version is found (the catalog's bundles by hash). */
  pastCode: PastCode | null = null;

  constructor(playbooks: Array<PlaybookDefinition | LoadedPlaybook> = []) {
    for (const p of playbooks) this.register(p);
  }

  register(p: PlaybookDefinition | LoadedPlaybook): RegisteredPlaybook {
    const loaded = 'executor' in p ? p : inMemoryPlaybook(p);
    if (this.byId.has(loaded.config.id)) throw new Error(`playbook ${loaded.config.id} is registered twice`);
    this.byId.set(loaded.config.id, loaded);
    return loaded;
  }

  /** Replaces every playbook at once (a repository activated a commit): runs already started keep their code. */
  replace(playbooks: LoadedPlaybook[]): void {
    const next = new Map<string, RegisteredPlaybook>();
    for (const p of playbooks) {
      if (next.has(p.config.id)) throw new Error(`playbook ${p.config.id} is registered twice`);
      next.set(p.config.id, p);
    }
    this.byId = next;
  }

  /**
   * The code a run executes: the active version if the run started on it (the same code from the
   * same repository), else the version it started on (by its code hash), else the active one (the
   * replay then reports any difference).
   */
  async forRun(
    run: { playbookId: string; playbookHash: string; origin?: PlaybookOrigin | null },
  ): Promise<RegisteredPlaybook | undefined> {
    const current = this.byId.get(run.playbookId);
    const repository = run.origin?.repository ?? null;
    if (current?.hash === run.playbookHash && (current.source?.repository ?? null) === repository) return current;
    const past = this.pastCode ? await this.pastCode(run.playbookId, run.playbookHash, repository) : null;
    return past ?? current;
  }

  get(id: string): RegisteredPlaybook | undefined {
    return this.byId.get(id);
  }

  all(): RegisteredPlaybook[] {
    return [...this.byId.values()];
  }

  /** What a new run of this playbook records about its code. */
  static runFields(p: RegisteredPlaybook): { playbookId: string; playbookVersion: number; playbookHash: string; origin: PlaybookOrigin | null; minutesSaved?: number } {
    const out: { playbookId: string; playbookVersion: number; playbookHash: string; origin: PlaybookOrigin | null; minutesSaved?: number } = {
      playbookId: p.config.id, playbookVersion: p.config.version, playbookHash: p.hash, origin: p.source ?? null,
    };
    if (p.config.minutesSaved !== undefined) out.minutesSaved = p.config.minutesSaved;
    return out;
  }

  /** Playbooks whose triggers match an incident label. */
  matching(label: string): RegisteredPlaybook[] {
    return this.all().filter((p) => p.config.triggers.labels.includes(label));
  }
}
