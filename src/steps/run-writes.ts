/**
 * The writes of one run, pipelined on the store's group commit: each is queued without waiting,
 * and only the points that need durability wait — the send of a changing action, and the end of an
 * execution. Batches commit in the order writes were queued, so waiting for everything queued so
 * far is one wait, and it covers every earlier write of the run. Once one write failed, every
 * later wait rejects: nothing more is sent for the run, and it is parked.
 */
import type { Store } from '../store/store.js';

export class RunWrites {
  /** Settles when every write queued so far has committed; rejects forever once one failed. */
  private written: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store) {}

  /** Queues a write of this run: not awaited here, but part of every later `durable`. */
  add(p: Promise<unknown>): void {
    p.catch(() => {
      /* observed through `written` */
    });
    const next = this.written.then(() => p);
    next.catch(() => {
      /* observed by `durable` */
    });
    this.written = next;
  }

  /** Urges the commit and resolves when every write queued so far committed; rejects if one failed. */
  async durable(): Promise<void> {
    this.store.flushWrites();
    await this.written;
  }
}
