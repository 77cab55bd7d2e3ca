/**
 * Group commit: the hot-path writes of many concurrent runs and alerts (journal entries, action
 * results, run state, incidents) are queued and applied together in ONE transaction, so one fsync
 * covers them all. Each write still commits before its promise resolves — a resolved write
 * survives `kill -9` and, with synchronous=FULL, power loss. A failing write rejects only its own
 * promise: every queued op must therefore be atomic on its own (one statement, or a better-sqlite3
 * transaction function, which nests as a savepoint). Batches commit in queue order.
 *
 * When: a write somebody waits for (an alert's acknowledgement, a step's intent) is committed at
 * the end of the current event-loop turn. A *lazy* write — one nothing waits for yet, such as a
 * step's outcome or a note, whose run goes on without waiting — rides along with the next batch,
 * or is committed after `lazyMs` at the latest. `urge()` asks for the queued writes to be committed
 * this turn (a run about to send a changing action). The commit and its fsync run on the event
 * loop (about 0.6 ms on the development machine), so fewer, larger batches are cheaper for all.
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
  private lazyTimer: NodeJS.Timeout | null = null;
  /** Transactions committed and writes applied (for metrics and tests). */
  readonly stats = { commits: 0, writes: 0 };

  constructor(private readonly db: Database.Database, private readonly maxBatch = 2000, private readonly lazyMs = 10) {}

  /** Queues a synchronous write; resolves with its result once the batch has committed. */
  run<T>(op: () => T, lazy = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (lazy) this.scheduleLazy();
      else this.urge();
    });
  }

  /** Commits the queued writes at the end of this event-loop turn. */
  urge(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits whatever is queued now (before closing the database). */
  flushNow(): void {
    this.flush();
  }

  private scheduleLazy(): void {
    if (this.scheduled || this.lazyTimer) return;
    this.lazyTimer = setTimeout(() => this.flush(), this.lazyMs);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
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
