/**
 * The audit stream: every audit entry, in id order, to a SIEM sink, resuming from a cursor
 * persisted in the store (the last id the sink acknowledged).
 *
 * Failure semantics: at-least-once. A batch is read after the cursor, sent, and only then is the
 * cursor moved past it; a crash or a refused batch before that sends the batch again, never skips
 * it. A failing sink is retried with exponential backoff (`minBackoffMs` doubling to
 * `maxBackoffMs`, with jitter); entries wait in the audit log meanwhile, so an unreachable receiver
 * delays the stream but loses nothing. Errors go to `onError`; they never carry credentials (the
 * sinks word them).
 */
import type { Store } from '../../store/store.js';
import type { AuditSink } from './sink.js';

export interface ExporterOptions {
  batch?: number;
  pollMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (err: unknown, sink: string) => void;
}

export class AuditExporter {
  private running = false;
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** Consecutive failures (0 when the last send worked). */
  failures = 0;

  constructor(private readonly store: Store, private readonly sink: AuditSink, private readonly opts: ExporterOptions = {}) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in flight (its cursor is saved if it was acknowledged). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
  }

  /** Sends everything after the cursor now; resolves with the number of entries sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const after = await this.store.auditExportCursor(this.sink.name);
      const entries = await this.store.listAudit({ after, limit: this.opts.batch ?? 200 });
      if (entries.length === 0) return sent;
      await this.sink.send(entries);
      await this.store.setAuditExportCursor(this.sink.name, entries[entries.length - 1]!.id);
      sent += entries.length;
      if (this.stopping) return sent;
    }
  }

  private async run(): Promise<void> {
    const min = this.opts.minBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 60_000;
    while (this.running) {
      let delay = this.opts.pollMs ?? 1000;
      try {
        await this.drain();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.opts.onError?.(err, this.sink.name);
        const backoff = Math.min(max, min * 2 ** Math.min(this.failures - 1, 20));
        delay = backoff / 2 + Math.random() * (backoff / 2);
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeUp = () => { clearTimeout(t); resolve(); };
      });
      this.wakeUp = null;
    }
  }
}
