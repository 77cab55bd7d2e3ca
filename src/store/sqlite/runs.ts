/** Runs, their journal (the replay memo) and the per-attempt action results. */
import type Database from 'better-sqlite3';
import type { ErrorRecord } from '../../sdk/errors.js';
import { formatWaitOn } from '../../common/wait-on.js';
import type { IncidentView } from '../../sdk/playbook.js';
import type { ActionResultRecord, JournalEntry, JournalKind, JournalStatus, RunRecord, RunStatus } from '../records.js';
import type { JournalPatch, NewActionResult, NewRun, RunPatch, RunQuery } from '../store.js';
import { ConflictError, NotFoundError, ValidationError, clampLimit, fromJson, isConstraint, nowIso, toJson } from './common.js';

export interface RunRow {
  id: string; incident_id: number; playbook_id: string; playbook_version: number; playbook_hash: string; status: string;
  input: string; output: string | null; error: string | null; attention_reason: string | null; wake_at: string | null;
  minutes_saved: number | null; created_at: string; started_at: string | null; updated_at: string; finished_at: string | null;
  args: string | null; waiting_on: string | null; dry_run: number; requested_by: string | null; rerun_of: string | null;
  also_caused_by: string | null;
  playbook_repo: string | null; playbook_commit: string | null; playbook_path: string | null;
  parent_run_id: string | null; parent_seq: number | null;
}
interface DueRow extends RunRow { seq_no: number }
interface JournalRow {
  run_id: string; seq: number; kind: string; name: string; asset: string | null; app: string | null; action: string | null;
  status: string; input: string | null; output: string | null; error: string | null; attempts: number; started_at: string;
  finished_at: string | null; wake_at: string | null; detail: string | null; resolution: number | null;
}
interface ActionResultRow {
  id: number; run_id: string; seq: number; attempt: number; app: string; asset: string; action: string;
  idempotency_key: string; outcome: string; input: string | null; output: string | null; error: string | null;
  started_at: string; duration_ms: number;
}

export const toRun = (r: RunRow): RunRecord => ({
  id: r.id, incidentId: r.incident_id, playbookId: r.playbook_id, playbookVersion: r.playbook_version,
  playbookHash: r.playbook_hash, status: r.status as RunStatus, input: fromJson(r.input), output: fromJson(r.output),
  error: fromJson<ErrorRecord | null>(r.error), attentionReason: r.attention_reason, wakeAt: r.wake_at,
  minutesSaved: r.minutes_saved, createdAt: r.created_at, startedAt: r.started_at, updatedAt: r.updated_at,
  finishedAt: r.finished_at, args: fromJson(r.args), waitingOn: r.waiting_on, dryRun: r.dry_run === 1, requestedBy: r.requested_by,
  origin: r.playbook_repo === null ? null : { repository: r.playbook_repo, commit: r.playbook_commit, path: r.playbook_path ?? '' },
  parentRunId: r.parent_run_id ?? null, parentSeq: r.parent_seq ?? null,
  rerunOf: r.rerun_of,
  alsoCausedBy: r.also_caused_by === null || r.also_caused_by === undefined ? [] : fromJson<string[]>(r.also_caused_by),
});
const fromRun = (r: RunRecord): RunRow => ({
  id: r.id, incident_id: r.incidentId, playbook_id: r.playbookId, playbook_version: r.playbookVersion,
  playbook_hash: r.playbookHash, status: r.status, input: toJson(r.input) ?? 'null', output: toJson(r.output),
  error: toJson(r.error), attention_reason: r.attentionReason, wake_at: r.wakeAt, minutes_saved: r.minutesSaved,
  created_at: r.createdAt, started_at: r.startedAt, updated_at: r.updatedAt, finished_at: r.finishedAt,
  args: toJson(r.args), waiting_on: r.waitingOn, dry_run: r.dryRun ? 1 : 0, requested_by: r.requestedBy,
  playbook_repo: r.origin?.repository ?? null, playbook_commit: r.origin?.commit ?? null, playbook_path: r.origin?.path ?? null,
  parent_run_id: r.parentRunId, parent_seq: r.parentSeq,
  rerun_of: r.rerunOf,
  also_caused_by: r.alsoCausedBy.length > 0 ? JSON.stringify(r.alsoCausedBy) : null,
});
const toJournal = (r: JournalRow): JournalEntry => ({
  runId: r.run_id, seq: r.seq, kind: r.kind as JournalKind, name: r.name, asset: r.asset, app: r.app, action: r.action,
  status: r.status as JournalStatus, input: fromJson(r.input), output: fromJson(r.output),
  error: fromJson<ErrorRecord | null>(r.error), attempts: r.attempts, startedAt: r.started_at, finishedAt: r.finished_at,
  wakeAt: r.wake_at, detail: r.detail, resolution: r.resolution,
});
const fromJournal = (e: JournalEntry): JournalRow => ({
  run_id: e.runId, seq: e.seq, kind: e.kind, name: e.name, asset: e.asset ?? null, app: e.app ?? null,
  action: e.action ?? null, status: e.status, input: toJson(e.input), output: toJson(e.output), error: toJson(e.error),
  attempts: e.attempts ?? 0, started_at: e.startedAt, finished_at: e.finishedAt ?? null, wake_at: e.wakeAt ?? null,
  detail: e.detail ?? null, resolution: e.resolution ?? null,
});
const toActionResult = (r: ActionResultRow): ActionResultRecord => ({
  id: r.id, runId: r.run_id, seq: r.seq, attempt: r.attempt, app: r.app, asset: r.asset, action: r.action,
  idempotencyKey: r.idempotency_key, outcome: r.outcome, input: fromJson(r.input), output: fromJson(r.output),
  error: fromJson<ErrorRecord | null>(r.error), startedAt: r.started_at, durationMs: r.duration_ms,
});

const RUN_COLUMNS = `id, incident_id, playbook_id, playbook_version, playbook_hash, status, input, output, error,
  attention_reason, wake_at, minutes_saved, created_at, started_at, updated_at, finished_at, args, waiting_on, dry_run,
  requested_by, parent_run_id, parent_seq, playbook_repo, playbook_commit, playbook_path, rerun_of,
  also_caused_by`;
const JOURNAL_COLUMNS = 'run_id, seq, kind, name, asset, app, action, status, input, output, error, attempts, started_at, '
  + 'finished_at, wake_at, detail, resolution';
const params = (cols: string): string => cols.split(',').map((c) => `@${c.trim()}`).join(', ');

/** Run ids in [from, to): a range on the primary key's index. LIKE would take `_` in an id for a wildcard. */
export const RUN_ID_RANGE_SQL = 'SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?';

export class RunRepo {
  private readonly s;
  private readonly listCache = new Map<string, Database.Statement>();
  private readonly updateTx;
  private readonly patchCache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.s = {
      insert: db.prepare<[RunRow]>(`INSERT INTO runs (${RUN_COLUMNS}) VALUES (${params(RUN_COLUMNS)})`),
      byId: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
      idRange: db.prepare<[string, string, number], { id: string }>(RUN_ID_RANGE_SQL),
      // Two index-backed queries (runs_status, runs_status_wake) rather than one OR that would
      // scan the whole run history on every engine wake-up.
      dueQueued: db.prepare<[number], DueRow>(`SELECT rowid AS seq_no, * FROM runs WHERE status = 'queued' ORDER BY created_at, rowid LIMIT ?`),
      dueRunning: db.prepare<[number], DueRow>(`SELECT rowid AS seq_no, * FROM runs WHERE status = 'running' ORDER BY created_at, rowid LIMIT ?`),
      dueWaiting: db.prepare<[string, number], DueRow>(`SELECT rowid AS seq_no, * FROM runs WHERE status = 'waiting' AND wake_at <= ?
        ORDER BY wake_at LIMIT ?`),
      nextWake: db.prepare<[], { w: string | null }>(`SELECT MIN(wake_at) AS w FROM runs WHERE status = 'waiting'`),
      insertJournal: db.prepare<[JournalRow]>(`INSERT INTO journal (${JOURNAL_COLUMNS}) VALUES (${params(JOURNAL_COLUMNS)})`),
      // A parked marker ('waiting') may become an intent or an outcome, an intent an outcome: the
      // row keeps its identity (kind, name, input), and its start time unless it was only parked.
      putJournal: db.prepare<[JournalRow]>(`INSERT INTO journal (${JOURNAL_COLUMNS}) VALUES (${params(JOURNAL_COLUMNS)})
        ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, output = excluded.output, error = excluded.error,
        attempts = excluded.attempts, finished_at = excluded.finished_at, wake_at = excluded.wake_at, detail = excluded.detail,
        resolution = excluded.resolution, asset = coalesce(excluded.asset, asset), app = coalesce(excluded.app, app),
        action = coalesce(excluded.action, action),
        started_at = CASE WHEN status = 'waiting' THEN excluded.started_at ELSE started_at END`),
      journalOne: db.prepare<[string, number], JournalRow>('SELECT * FROM journal WHERE run_id = ? AND seq = ?'),
      journal: db.prepare<[string], JournalRow>('SELECT * FROM journal WHERE run_id = ? ORDER BY seq'),
      deleteJournal: db.prepare<[string, number]>('DELETE FROM journal WHERE run_id = ? AND seq = ?'),
      deleteWaits: db.prepare<[string]>('DELETE FROM run_waits WHERE run_id = ?'),
      insertWait: db.prepare<[string, string]>('INSERT INTO run_waits (run_id, waiting_on) VALUES (?, ?)'),
      wakeWaitingOn: db.prepare<[string, string, string]>(`UPDATE runs SET wake_at = ?, updated_at = ?
        WHERE status = 'waiting' AND id IN (SELECT run_id FROM run_waits WHERE waiting_on = ?)`),
      updateJournal: db.prepare<[JournalRow]>(`UPDATE journal SET status = @status, output = @output, error = @error,
        attempts = @attempts, finished_at = @finished_at, wake_at = @wake_at, detail = @detail, resolution = @resolution
        WHERE run_id = @run_id AND seq = @seq`),
      insertResult: db.prepare(`INSERT INTO action_results (run_id, seq, attempt, app, asset, action, idempotency_key,
        outcome, input, output, error, started_at, duration_ms) VALUES (@run_id, @seq, @attempt, @app, @asset, @action,
        @idempotency_key, @outcome, @input, @output, @error, @started_at, @duration_ms)`),
      results: db.prepare<[string], ActionResultRow>('SELECT * FROM action_results WHERE run_id = ? ORDER BY id'),
    };
    this.updateTx = db.transaction((id: string, patch: RunPatch) => this.updateInTx(id, patch));
  }

  /**
   * An UPDATE of exactly the columns a patch names, prepared once per set of columns. The hot path
   * (engine state changes, journal outcomes) then writes a few columns instead of reading, parsing
   * and re-serialising the whole row — a run's input is the full incident.
   */
  private patchStatement(table: 'runs' | 'journal', columns: string[]): Database.Statement {
    const key = `${table}:${columns.join(',')}`;
    let stmt = this.patchCache.get(key);
    if (!stmt) {
      const where = table === 'runs' ? 'id = @id' : 'run_id = @run_id AND seq = @seq';
      stmt = this.db.prepare(`UPDATE ${table} SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE ${where}`);
      this.patchCache.set(key, stmt);
    }
    return stmt;
  }

  /** Inserts a queued run; the caller holds the transaction (and writes the audit entry). */
  insertInTx(incidentId: number, run: NewRun, input: IncidentView): RunRecord {
    const now = nowIso();
    const rec: RunRecord = {
      id: run.id, incidentId, playbookId: run.playbookId, playbookVersion: run.playbookVersion, playbookHash: run.playbookHash,
      status: 'queued', input, output: null, error: null, attentionReason: null, wakeAt: null,
      minutesSaved: run.minutesSaved ?? null, createdAt: now, startedAt: null, updatedAt: now, finishedAt: null,
      args: run.args ?? null, waitingOn: null, dryRun: run.dryRun ?? false, requestedBy: run.requestedBy ?? null,
      origin: run.origin ?? null,
      parentRunId: run.parentRunId ?? null, parentSeq: run.parentSeq ?? null,
      rerunOf: run.rerunOf ?? null,
      alsoCausedBy: otherCauses(run.requestedBy ?? null, run.alsoCausedBy ?? []),
    };
    try {
      this.s.insert.run(fromRun(rec));
    } catch (err) {
      if (isConstraint(err, 'PRIMARYKEY')) throw new ConflictError(`run ${run.id} already exists`);
      if (isConstraint(err, 'UNIQUE')) {
        throw new ConflictError(`run ${run.parentRunId} already has a child run for step ${run.parentSeq}`);
      }
      throw err;
    }
    return toRun(this.s.byId.get(run.id)!);
  }

  get(id: string): RunRecord | null {
    const row = this.s.byId.get(id);
    return row ? toRun(row) : null;
  }

  /** See Store.runIdsWithPrefix. */
  idsWithPrefix(prefix: string, limit: number): string[] {
    if (!/^[\x20-\x7e]+$/.test(prefix)) throw new ValidationError('a run id prefix must be one or more printable ASCII characters');
    // Every id that starts with the prefix sorts in [prefix, prefix with its last character + 1):
    // ASCII compares byte by byte under SQLite's BINARY collation, and '~' + 1 is still one byte.
    const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return this.s.idRange.all(prefix, upper, clampLimit(limit, 10, 1000)).map((r) => r.id);
  }

  /** Newest first. */
  list(query: RunQuery): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.incidentId !== undefined) { where.push('incident_id = ?'); args.push(query.incidentId); }
    if (query.status !== undefined) { where.push('status = ?'); args.push(query.status); }
    if (query.playbookId !== undefined) { where.push('playbook_id = ?'); args.push(query.playbookId); }
    if (query.rerunOf !== undefined) { where.push('rerun_of = ?'); args.push(query.rerunOf); }
    const sql = `SELECT * FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    let stmt = this.listCache.get(sql);
    if (!stmt) { stmt = this.db.prepare(sql); this.listCache.set(sql, stmt); }
    return (stmt.all(...args, clampLimit(query.limit, 100, 1000)) as RunRow[]).map(toRun);
  }

  update(id: string, patch: RunPatch): RunRecord {
    return this.updateTx.immediate(id, patch);
  }

  /** Applies a patch without reading the run back (the engine's state changes). */
  patch(id: string, patch: RunPatch): void {
    this.patchOp(id, patch)();
  }

  /*
   * The …Op methods serialise their values when called and return the write itself: queued writes
   * commit later (group commit), and the objects they were given may have changed by then — a
   * playbook may edit a step's output in place right after receiving it.
   */

  /** `patch`, with its values taken now. */
  patchOp(id: string, patch: RunPatch): () => void {
    const row: Record<string, unknown> = { id, updated_at: nowIso() };
    if (patch.status !== undefined) row.status = patch.status;
    if (patch.output !== undefined) row.output = toJson(patch.output);
    if (patch.error !== undefined) row.error = toJson(patch.error);
    if (patch.attentionReason !== undefined) row.attention_reason = patch.attentionReason;
    if (patch.wakeAt !== undefined) row.wake_at = patch.wakeAt;
    if (patch.startedAt !== undefined) row.started_at = patch.startedAt;
    if (patch.finishedAt !== undefined) row.finished_at = patch.finishedAt;
    if (patch.waitingOn !== undefined) row.waiting_on = patch.waitingOn;
    if (patch.minutesSaved !== undefined) row.minutes_saved = patch.minutesSaved;
    const columns = Object.keys(row).filter((c) => c !== 'id');
    const waits = patch.waits === undefined ? undefined : [...new Set(patch.waits)];
    const update = () => {
      if (this.patchStatement('runs', columns).run(row).changes === 0) throw new NotFoundError(`run ${id} not found`);
    };
    // A run that ends wakes the runs parked on it (a parent waiting for its child), in the same
    // transaction: a crash can never leave a parent waiting for a child that has finished.
    const ended = patch.status === 'completed' || patch.status === 'failed' || patch.status === 'cancelled';
    if (waits === undefined && !ended) return update;
    const at = row.updated_at as string;
    return () => this.patchTx(update, id, waits, ended ? at : null);
  }

  /** The run's change with its waits and the wake of the runs waiting on it, together (a savepoint inside a batch). */
  private patchTx(update: () => void, id: string, waits: string[] | undefined, endedAt: string | null): void {
    type Fn = (u: () => void, runId: string, ws: string[] | undefined, at: string | null) => void;
    this.patchTxFn ??= this.db.transaction<Fn>((u, runId, ws, at) => {
      u();
      if (ws !== undefined) {
        this.s.deleteWaits.run(runId);
        for (const w of ws) this.s.insertWait.run(runId, w);
      }
      if (at !== null) this.s.wakeWaitingOn.run(at, at, formatWaitOn({ kind: 'run', id: runId }));
    });
    this.patchTxFn(update, id, waits, endedAt);
  }
  private patchTxFn:
    | ((update: () => void, id: string, waits: string[] | undefined, at: string | null) => void)
    | undefined;

  private updateInTx(id: string, patch: RunPatch): RunRecord {
    this.patch(id, patch);
    return toRun(this.s.byId.get(id)!);
  }

  due(now: string, limit: number, includeRunning: boolean): RunRecord[] {
    const n = clampLimit(limit, 100, 10_000);
    const rows = [...(includeRunning ? this.s.dueRunning.all(n) : []), ...this.s.dueQueued.all(n), ...this.s.dueWaiting.all(now, n)];
    rows.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.seq_no - b.seq_no));
    return rows.slice(0, n).map(toRun);
  }

  nextWakeAt(): string | null {
    return this.s.nextWake.get()?.w ?? null;
  }

  loadJournal(runId: string): JournalEntry[] {
    return this.s.journal.all(runId).map(toJournal);
  }

  appendJournal(entry: JournalEntry): void {
    this.appendJournalOp(entry)();
  }

  appendJournalOp(entry: JournalEntry): () => void {
    const row = fromJournal(entry);
    return () => {
      try {
        this.s.insertJournal.run(row); // a single statement is its own durable transaction
      } catch (err) {
        if (isConstraint(err, 'PRIMARYKEY')) throw new ConflictError(`journal entry ${entry.runId}#${entry.seq} already exists`);
        if (isConstraint(err, 'FOREIGNKEY')) throw new NotFoundError(`run ${entry.runId} not found`);
        throw err;
      }
    };
  }

  /** Inserts the entry, or completes the one at its position (see the statement's comment). */
  putJournalOp(entry: JournalEntry): () => void {
    const row = fromJournal(entry);
    return () => {
      try {
        this.s.putJournal.run(row);
      } catch (err) {
        if (isConstraint(err, 'FOREIGNKEY')) throw new NotFoundError(`run ${entry.runId} not found`);
        throw err;
      }
    };
  }

  updateJournalOp(runId: string, seq: number, patch: JournalPatch): () => void {
    const row: Record<string, unknown> = { run_id: runId, seq, status: patch.status };
    if (patch.output !== undefined) row.output = toJson(patch.output);
    if (patch.error !== undefined) row.error = toJson(patch.error);
    if (patch.attempts !== undefined) row.attempts = patch.attempts;
    if (patch.finishedAt !== undefined) row.finished_at = patch.finishedAt;
    if (patch.wakeAt !== undefined) row.wake_at = patch.wakeAt;
    if (patch.detail !== undefined) row.detail = patch.detail;
    if (patch.resolution !== undefined) row.resolution = patch.resolution;
    const columns = Object.keys(row).filter((c) => c !== 'run_id' && c !== 'seq');
    return () => {
      if (this.patchStatement('journal', columns).run(row).changes === 0) throw new NotFoundError(`journal entry ${runId}#${seq} not found`);
    };
  }

  /** See Store.resolveStep; the caller holds the transaction and writes the audit entry. */
  resolveStepInTx(runId: string, seq: number, resolution: { applied: true; output: unknown } | { applied: false }, at: string): JournalEntry {
    const run = this.s.byId.get(runId);
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    if (run.status !== 'needs_attention') throw new ValidationError(`run ${runId} is ${run.status}, not needs_attention: nothing to resolve`);
    const row = this.s.journalOne.get(runId, seq);
    if (!row) throw new NotFoundError(`run ${runId} has no step ${seq}`);
    const e = toJournal(row);
    if (e.kind !== 'action' || e.status !== 'started') throw new ValidationError(`step ${seq} of run ${runId} is a ${e.status} ${e.kind} step, not an action with an unknown outcome`);
    if (resolution.applied) {
      this.s.updateJournal.run(fromJournal({ ...e, status: 'completed', output: resolution.output, finishedAt: at, detail: `${e.detail ?? ''} Resolved by an operator: applied.`.trim() }));
    } else {
      this.s.deleteJournal.run(runId, seq);
    }
    // Due now: a running engine picks it up at its next look (a run left `running` is only taken
    // over when an engine starts, as a crashed process's).
    const now = nowIso();
    this.updateInTx(runId, { status: 'waiting', wakeAt: now, waitingOn: 'timer', attentionReason: null, error: null });
    return e;
  }

  recordActionResultOp(r: NewActionResult): () => void {
    const row = {
      run_id: r.runId, seq: r.seq, attempt: r.attempt, app: r.app, asset: r.asset, action: r.action,
      idempotency_key: r.idempotencyKey, outcome: r.outcome, input: toJson(r.input), output: toJson(r.output),
      error: toJson(r.error), started_at: r.startedAt, duration_ms: r.durationMs,
    };
    return () => {
      try {
        this.s.insertResult.run(row);
      } catch (err) {
        if (isConstraint(err, 'FOREIGNKEY')) throw new NotFoundError(`run ${r.runId} not found`);
        throw err;
      }
    };
  }

  listActionResults(runId: string): ActionResultRecord[] {
    return this.s.results.all(runId).map(toActionResult);
  }
}

/** `causes` without `cause` and without repeats, in their order. */
export function otherCauses(cause: string | null, causes: readonly string[]): string[] {
  return [...new Set(causes)].filter((c) => c !== cause);
}
