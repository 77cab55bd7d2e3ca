/**
 * Group commit: the hot-path writes of many concurrent runs and alerts (journal entries, action
 * results, run state, incidents) are queued and applied together in ONE transaction per event-loop
 * turn, so one fsync covers them all. Each write still commits before its promise resolves — a
 * resolved write survives `kill -9` and, with synchronous=FULL, power loss. A failing write rejects
 * only its own promise: every queued op must therefore be atomic on its own (one statement, or a
 * better-sqlite3 transaction function, which nests as a savepoint).
 */
import type Database from 'better-sqlite3';

interface Pending {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Transactions committed and writes applied (for metrics and tests). */
  readonly stats = { commits: 0, writes: 0 };

  constructor(private readonly db: Database.Database, private readonly maxBatch = 2000) {}

  /** Queues a synchronous write; resolves with its result once the batch has committed. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is queued now (before closing the database). */
  flushNow(): void {
    this.flush();
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        this.db.transaction(() => {
          for (const p of batch) {
            try {
              outcomes.push({ ok: true, value: p.op() });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        }).immediate();
      } catch (error) {
        // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
        for (const p of batch) p.reject(error);
        continue;
      }
      this.stats.commits++;
      this.stats.writes += batch.length;
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    }
  }
}
