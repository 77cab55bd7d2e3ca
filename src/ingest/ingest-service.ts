/**
 * Turns a normalized alert into a stored incident and the runs of every enabled playbook whose
 * trigger matches — all in one store transaction, so an acknowledged alert never loses its runs —
 * then wakes the engine.
 *
 * A trigger is the playbook's labels plus an optional condition: the operator's
 * (`riposte playbooks trigger`, in the playbook's settings) or else the playbook's own
 * (`triggers.when`). The store evaluates it in the ingest transaction; a condition that does not
 * hold, or cannot be decided, starts no run and is named in the incident's audit entry.
 *
 * Every typed artifact value is validated first (artifact-validation.ts): under the `refuse`
 * policy an invalid one throws InvalidArtifactsError before anything is written.
 */
import type { IngestResult, IngestRun, RunCondition, Store } from '../store/store.js';
import type { NewIncident } from '../store/records.js';
import type { PlaybookRegistry } from '../engine/registry.js';
import { parseTriggerCondition } from '../engine/trigger-condition.js';
import { newRunFor } from './new-run.js';
import { validateArtifacts, type InvalidValuePolicy } from './artifact-validation.js';

export interface RunWaker {
  /** Something changed in the run queue: look for due runs now. */
  wake(): void;
}

/** Compiled conditions kept at most (texts change rarely; the cache starts over past this). */
const MAX_CACHED_CONDITIONS = 512;

export class IngestService {
  /** Compiled conditions by text, one map per origin: an alert costs a Map lookup, never a parse. */
  private readonly conditions = {
    playbook: new Map<string, RunCondition>(),
    operator: new Map<string, RunCondition>(),
  };

  constructor(
    private readonly store: Store,
    private readonly registry: PlaybookRegistry,
    private readonly waker: RunWaker,
  ) {}

  /**
   * `actor` is the audit actor (`token:<name>`, `source:<name>`); `cause` the principal the runs
   * are started for (`user:<name>`, `source:<name>`), who may never approve their destructive
   * actions (four-eyes). Default: the actor. `invalidValues`: what an invalid typed artifact value
   * does (default `untrusted`: stored, never handed to a playbook as its type).
   */
  async ingest(
    alert: NewIncident, actor: string, cause: string = actor, invalidValues: InvalidValuePolicy = 'untrusted',
  ): Promise<IngestResult> {
    const incident = validateArtifacts(alert, invalidValues);
    const runs: IngestRun[] = [];
    for (const p of this.registry.matching(incident.label)) {
      const settings = await this.store.getPlaybookSettings(p.config.id);
      if (settings && !settings.enabled) continue;
      const run: IngestRun = newRunFor(p, cause);
      const operator = settings?.triggerWhen ?? null;
      if (operator !== null) run.condition = this.condition(operator, 'operator');
      else if (p.config.triggers.when !== undefined) run.condition = this.condition(p.config.triggers.when, 'playbook');
      runs.push(run);
    }
    const result = await this.store.ingest(incident, runs, actor);
    if (result.runs.length > 0) this.waker.wake();
    return result;
  }

  /**
   * The compiled condition. One that does not parse (a playbook defined in memory, a row edited
   * by hand: files and the CLI check theirs) never holds, and says why when evaluated.
   */
  private condition(text: string, from: RunCondition['from']): RunCondition {
    const cache = this.conditions[from];
    let c = cache.get(text);
    if (c === undefined) {
      try {
        const parsed = parseTriggerCondition(text);
        c = { text, from, holds: (s) => parsed.holds(s) };
      } catch (err) {
        c = { text, from, holds: () => { throw err; } };
      }
      if (cache.size >= MAX_CACHED_CONDITIONS) cache.clear();
      cache.set(text, c);
    }
    return c;
  }
}
