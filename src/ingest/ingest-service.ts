/**
 * Turns a normalized alert into a stored incident and the runs of every enabled playbook whose
 * trigger matches — all in one store transaction, so an acknowledged alert never loses its runs —
 * then wakes the engine.
 */
import type { IngestResult, NewRun, Store } from '../store/store.js';
import type { NewIncident } from '../store/records.js';
import type { PlaybookRegistry } from '../engine/registry.js';
import { newRunFor } from './new-run.js';

export interface RunWaker {
  /** Something changed in the run queue: look for due runs now. */
  wake(): void;
}

export class IngestService {
  constructor(
    private readonly store: Store,
    private readonly registry: PlaybookRegistry,
    private readonly waker: RunWaker,
  ) {}

  /**
   * `actor` is the audit actor (`token:<name>`, `source:<name>`); `cause` the principal the runs
   * are started for (`user:<name>`, `source:<name>`), who may never approve their destructive
   * actions (four-eyes). Default: the actor.
   */
  async ingest(incident: NewIncident, actor: string, cause: string = actor): Promise<IngestResult> {
    const runs: NewRun[] = [];
    for (const p of this.registry.matching(incident.label)) {
      const settings = await this.store.getPlaybookSettings(p.config.id);
      if (settings && !settings.enabled) continue;
      runs.push(newRunFor(p, cause));
    }
    const result = await this.store.ingest(incident, runs, actor);
    if (result.runs.length > 0) this.waker.wake();
    return result;
  }
}
