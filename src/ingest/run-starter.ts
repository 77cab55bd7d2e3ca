/**
 * Runs a person starts: a playbook on an incident (manual start) and a re-run of a finished run.
 * Each run is made by `newRunFor`, as ingestion makes them, records who caused it (`user:<name>`:
 * four-eyes keeps that person from approving its destructive actions) and is written with its
 * audit entry in one store transaction; then the engine is woken.
 *
 * Failure semantics: a refusal (`StartRefused`) writes nothing. Once the store has committed the
 * run, it is queued and durable: a crash before the engine is woken loses nothing (the engine
 * picks queued runs up at start and on its safety poll). Nothing here sends anything anywhere.
 */
import type { Store } from '../store/store.js';
import type { RunRecord } from '../store/records.js';
import type { PlaybookRegistry, RegisteredPlaybook } from '../engine/registry.js';
import { ADHOC_PLAYBOOK_ID } from '../engine/adhoc-playbook.js';
import { RERUNNABLE, notRerunnable } from '../store/rerun.js';
import type { RunWaker } from './ingest-service.js';
import { newRunFor } from './new-run.js';

/** Largest `args` accepted, as JSON in UTF-8: parameters of a run, not data to carry. */
export const MAX_ARGS_BYTES = 16 * 1024;

export type StartRefusal =
  'unknown_playbook' | 'playbook_disabled' | 'not_startable' | 'unknown_incident' | 'run_not_finished' | 'invalid_args';

/** Why a start was refused; nothing was written. `code` is stable (the API answers with it). */
export class StartRefused extends Error {
  constructor(
    readonly code: StartRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'StartRefused';
  }
}

export interface ManualStart {
  playbookId: string;
  incidentId: number;
  args?: Record<string, unknown>;
  dryRun?: boolean;
}

/**
 * Checks a run's parameters: a JSON object (not an array, not null) of at most MAX_ARGS_BYTES;
 * returns it as JSON would carry it.
 */
export function checkArgs(args: unknown): Record<string, unknown> {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new StartRefused('invalid_args', 'args must be a JSON object, e.g. {"user":"jdoe"}');
  }
  let text: string;
  try {
    text = JSON.stringify(args);
  } catch (err) {
    throw new StartRefused('invalid_args', `args cannot be written as JSON: ${(err as Error).message}`);
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_ARGS_BYTES) {
    throw new StartRefused('invalid_args', `args are ${bytes} bytes of JSON; at most ${MAX_ARGS_BYTES} are accepted`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * The playbook a person may start by id: installed, enabled, and not the ad-hoc action's (started
 * only through `POST /actions`, which checks its asset and action first).
 */
export async function startablePlaybook(
  store: Store,
  registry: PlaybookRegistry,
  playbookId: string,
): Promise<RegisteredPlaybook> {
  if (playbookId === ADHOC_PLAYBOOK_ID) {
    throw new StartRefused(
      'not_startable',
      `playbook ${ADHOC_PLAYBOOK_ID} runs one action a person asks for: use POST /api/v1/actions`,
    );
  }
  const p = registry.get(playbookId);
  if (!p) {
    throw new StartRefused(
      'unknown_playbook',
      `playbook ${playbookId} is not installed (riposte playbooks list shows those that are)`,
    );
  }
  const settings = await store.getPlaybookSettings(playbookId);
  if (settings && !settings.enabled) throw new StartRefused('playbook_disabled', `playbook ${playbookId} is disabled`);
  return p;
}

export class RunStarter {
  constructor(
    private readonly store: Store,
    private readonly registry: PlaybookRegistry,
    private readonly waker: RunWaker,
  ) {}

  /** A run of `playbookId` on an incident, on a snapshot of the incident as it is now. */
  async start(req: ManualStart, cause: string, actor: string): Promise<RunRecord> {
    const args = req.args === undefined ? undefined : checkArgs(req.args);
    const p = await startablePlaybook(this.store, this.registry, req.playbookId);
    if (!(await this.store.getIncident(req.incidentId))) {
      throw new StartRefused('unknown_incident', `incident ${req.incidentId} does not exist`);
    }
    const run = await this.store.createRun(
      req.incidentId,
      newRunFor(p, cause, { args, dryRun: req.dryRun ?? false }),
      actor,
    );
    this.waker.wake();
    return run;
  }

  /**
   * A new run repeating `original` (completed, failed or cancelled): its playbook as installed now,
   * on the same incident, with the original's input snapshot and args, linked by `rerunOf`. Dry run
   * as the original unless `dryRun` says otherwise.
   */
  async rerun(original: RunRecord, cause: string, actor: string, opts: { dryRun?: boolean } = {}): Promise<RunRecord> {
    if (!RERUNNABLE.has(original.status)) throw new StartRefused('run_not_finished', notRerunnable(original));
    const p = await startablePlaybook(this.store, this.registry, original.playbookId);
    // The store checks the status again under its write lock (a ConflictError, 409 over the API),
    // should the run have been changed since we looked.
    const run = await this.store.rerunRun(
      original.id,
      newRunFor(p, cause, { dryRun: opts.dryRun ?? original.dryRun }),
      actor,
    );
    this.waker.wake();
    return run;
  }
}
