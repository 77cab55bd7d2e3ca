/**
 * Periodic signed checkpoints of the audit chain (src/store/audit-checkpoint.ts), written outside
 * the database: one JSON line appended to the checkpoint file (0600), and an `audit.checkpoint`
 * audit entry carrying the same checkpoint, which the audit stream takes to the SIEM.
 *
 * When: every `everyEntries` new entries or `everyMs` with any new entry (checked every `pollMs`
 * with one indexed read, off the ingestion path), and on stop. A checkpoint whose only new entry
 * is the previous checkpoint's own entry is not written, so an idle server stays idle.
 *
 * Failure semantics: the line is appended and fsynced before the audit entry is written. A crash in
 * between leaves a file line without its entry (harmless: the next checkpoint covers it, and the
 * line still proves the chain up to its id). A failed write goes to `onError` and is retried at
 * the next poll; the server keeps running. The file is opened O_APPEND per write: never rewritten.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Store } from '../store/store.js';
import type { AuditKeyring } from '../store/audit-keyring.js';
import { signCheckpoint, type AuditCheckpoint } from '../store/audit-checkpoint.js';

export const CHECKPOINT_ACTION = 'audit.checkpoint';

export interface CheckpointerOptions {
  file: string;
  everyEntries: number;
  everyMs: number;
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/** The newest line of a checkpoint file (unchecked), or null when there is none. */
function lastLine(file: string): { lastId: number } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const lines = text.trimEnd().split('\n');
  try {
    const c = JSON.parse(lines[lines.length - 1] ?? '') as { lastId?: unknown };
    return typeof c.lastId === 'number' ? { lastId: c.lastId } : null;
  } catch {
    return null;
  }
}

export class AuditCheckpointer {
  private timer: NodeJS.Timeout | null = null;
  private lastId = 0;
  private lastAt = Date.now();
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store, private readonly keys: AuditKeyring, private readonly opts: CheckpointerOptions) {}

  start(): void {
    this.lastId = lastLine(this.opts.file)?.lastId ?? 0;
    const poll = this.opts.pollMs ?? Math.min(this.opts.everyMs, 5000);
    this.timer = setInterval(() => void this.tick(false), poll);
    this.timer.unref();
  }

  /** Stops polling and writes a final checkpoint when anything is new. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tick(true);
  }

  private tick(force: boolean): Promise<unknown> {
    // One at a time: a slow disk must not stack checkpoints.
    this.busy = this.busy.then(async () => {
      try {
        const head = await this.store.auditHead();
        if (!head || head.id <= this.lastId) return;
        if (head.id === this.lastId + 1 && head.action === CHECKPOINT_ACTION) return;
        const due = force || head.id - this.lastId >= this.opts.everyEntries || Date.now() - this.lastAt >= this.opts.everyMs;
        if (due) await this.checkpoint();
      } catch (err) {
        this.opts.onError?.(err);
      }
    });
    return this.busy;
  }

  /** Writes a checkpoint of the current head now; null when the log is empty. */
  async checkpoint(): Promise<AuditCheckpoint | null> {
    const head = await this.store.auditHead();
    if (!head) return null;
    const cp = signCheckpoint({
      lastId: head.id, lastHash: head.hash, count: head.id, keyedFrom: head.keyedFrom, at: new Date().toISOString(),
    }, this.keys.current());
    appendLine(this.opts.file, JSON.stringify(cp));
    this.lastId = head.id;
    this.lastAt = Date.now();
    await this.store.appendAudit({ actor: 'system', action: CHECKPOINT_ACTION, detail: cp });
    return cp;
  }
}

/** Appends one line (O_APPEND, created 0600) and fsyncs it. */
export function appendLine(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
