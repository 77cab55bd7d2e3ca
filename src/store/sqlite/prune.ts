/**
 * Pruning of old run history. Finished runs (completed, failed, cancelled) that finished before a
 * cutoff are deleted with everything that hangs off them — journal, action results, approvals
 * with their decisions and e-mail links, prompts — children first, as the foreign keys require.
 * Each batch is its own short IMMEDIATE transaction of at most `batchSize` runs, sized so that it
 * holds the write lock for about `targetBatchMs` (a batch's cost varies with the runs' history and
 * the disk: 500 runs took 25–130 ms on the benchmark machine, and every commit of the server
 * waited that long). Batches are separated by a pause of twice the batch's duration (at least
 * 20 ms): another process' writer (the server) that found the database locked sleeps in SQLite's
 * busy handler in steps of up to 25–50 ms, so a shorter pause would let the pruner take the lock
 * again before the server wakes, and starve it. Incidents, notes and the audit log are kept: the
 * audit log is append-only by design, and incidents are the record of what was detected.
 */
import type Database from 'better-sqlite3';
import type { PruneCounts, PruneOptions } from '../store.js';
import { ValidationError } from './common.js';

const FINISHED = ['completed', 'failed', 'cancelled'] as const;

type Counts = Omit<PruneCounts, 'batches'>;

export const DEFAULT_TARGET_BATCH_MS = 25;
const FIRST_BATCH = 64;

/** The next batch's size: in proportion to how far the last one was from the target, at most doubling. */
function nextBatchSize(size: number, tookMs: number, targetMs: number, max: number): number {
  const scaled = tookMs > 0 ? Math.floor((size * targetMs) / tookMs) : size * 2;
  return Math.max(1, Math.min(max, size * 2, scaled));
}

export async function pruneRuns(db: Database.Database, opts: PruneOptions): Promise<PruneCounts> {
  const cutoff = new Date(opts.finishedBefore);
  if (Number.isNaN(cutoff.getTime())) throw new ValidationError(`finishedBefore must be an ISO date-time, got "${opts.finishedBefore}"`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1 || opts.batchSize > 10_000) {
    throw new ValidationError(`batchSize must be an integer between 1 and 10000, got ${opts.batchSize}`);
  }
  const targetMs = opts.targetBatchMs ?? DEFAULT_TARGET_BATCH_MS;
  if (!(targetMs > 0 && targetMs <= 60_000)) throw new ValidationError(`targetBatchMs must be between 0 and 60000 ms, got ${opts.targetBatchMs}`);
  const now = opts.now ?? (() => performance.now());
  const before = cutoff.toISOString();
  // created_at <= finished_at, so the (status, created_at) index bounds the scan; finished_at decides.
  const pick = db.prepare<[string, string, string, number], { id: string }>(
    'SELECT id FROM runs WHERE status = ? AND created_at < ? AND finished_at < ? ORDER BY created_at LIMIT ?');
  const ids = "(SELECT value FROM json_each(?))";
  const approvalIds = `(SELECT id FROM approvals WHERE run_id IN ${ids})`;
  const del = {
    emailLinks: db.prepare<[string]>(`DELETE FROM email_links WHERE approval_id IN ${approvalIds}`),
    approvalDecisions: db.prepare<[string]>(`DELETE FROM approval_decisions WHERE approval_id IN ${approvalIds}`),
    approvals: db.prepare<[string]>(`DELETE FROM approvals WHERE run_id IN ${ids}`),
    prompts: db.prepare<[string]>(`DELETE FROM prompts WHERE run_id IN ${ids}`),
    actionResults: db.prepare<[string]>(`DELETE FROM action_results WHERE run_id IN ${ids}`),
    journal: db.prepare<[string]>(`DELETE FROM journal WHERE run_id IN ${ids}`),
    runWaits: db.prepare<[string]>(`DELETE FROM run_waits WHERE run_id IN ${ids}`),
    runs: db.prepare<[string]>(`DELETE FROM runs WHERE id IN ${ids}`),
  };
  // Picked and deleted in one transaction: nothing can change a run between the two.
  const batch = db.transaction((status: string, size: number): Counts & { picked: number } => {
    const runIds = pick.all(status, before, before, size).map((r) => r.id);
    if (runIds.length === 0) return { picked: 0, emailLinks: 0, approvalDecisions: 0, approvals: 0, prompts: 0, actionResults: 0, journal: 0, runs: 0 };
    const json = JSON.stringify(runIds);
    return {
      picked: runIds.length,
      emailLinks: del.emailLinks.run(json).changes,
      approvalDecisions: del.approvalDecisions.run(json).changes,
      approvals: del.approvals.run(json).changes,
      prompts: del.prompts.run(json).changes,
      actionResults: del.actionResults.run(json).changes,
      journal: del.journal.run(json).changes,
      runs: (del.runWaits.run(json), del.runs.run(json).changes),
    };
  });

  const total: PruneCounts = { runs: 0, journal: 0, actionResults: 0, approvals: 0, approvalDecisions: 0, emailLinks: 0, prompts: 0, batches: 0 };
  // Start small and let the measured durations size the batches (a first batch of 500 could hold the lock for 100 ms).
  let size = Math.min(opts.batchSize, FIRST_BATCH);
  for (const status of FINISHED) {
    for (;;) {
      const t0 = now();
      const { picked, ...c } = batch.immediate(status, size);
      const tookMs = now() - t0;
      if (picked === 0) break;
      for (const k of Object.keys(c) as Array<keyof Counts>) total[k] += c[k];
      total.batches++;
      opts.onBatch?.(total);
      // Copy the deleted pages out of the WAL here, in the pruning connection: otherwise the
      // server's next commit finds the WAL over its auto-checkpoint size and does it, blocked.
      db.pragma('wal_checkpoint(PASSIVE)');
      // Let other writers in between batches (and, in the server process, the event loop run).
      await new Promise((r) => setTimeout(r, opts.pauseMs ?? Math.max(20, 2 * tookMs)));
      if (picked < size) break;
      size = nextBatchSize(size, tookMs, targetMs, opts.batchSize);
    }
  }
  return total;
}
