/**
 * The closed error family an action handler may throw. The broker decides what happens next from
 * two facts only: may the call be retried, and could the vendor already have applied the effect.
 *
 * - `TerminalError`: the vendor refused (4xx, validation, not found). Never retried.
 * - `RetryableError`: throttled or temporarily unavailable (429, 503, connection refused).
 *   Retried with backoff, honouring `retryAfterMs`.
 *
 * `applied` says whether the effect may have happened anyway:
 * - `'no'`: the vendor certainly did not act (it rejected the request, or it was never sent).
 * - `'unknown'`: the request may have been applied (timeout after sending, connection reset,
 *   a 5xx after the body was sent). For a non-idempotent action the broker never re-sends in this
 *   case: it calls the action's `reconcile`, or parks the run for a human.
 */
export type AppliedState = 'no' | 'unknown';

export interface ActionErrorOptions {
  /** HTTP status of the vendor's reply, when there was one. */
  status?: number;
  /** The vendor's own error code (e.g. Graph `Request_ResourceNotFound`, PAN-OS `7`). */
  vendorCode?: string;
  applied?: AppliedState;
  cause?: unknown;
}

export abstract class ActionError extends Error {
  abstract readonly retryable: boolean;
  readonly status?: number;
  readonly vendorCode?: string;
  readonly applied: AppliedState;

  constructor(message: string, opts: ActionErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.vendorCode !== undefined) this.vendorCode = opts.vendorCode;
    this.applied = opts.applied ?? 'no';
  }
}

/** The vendor refused; retrying the same request cannot succeed. */
export class TerminalError extends ActionError {
  readonly retryable = false;
}

/** A temporary failure: retry later (after `retryAfterMs` when the vendor said so). */
export class RetryableError extends ActionError {
  readonly retryable = true;
  readonly retryAfterMs?: number;
  constructor(message: string, opts: ActionErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, opts);
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Serializable form of an action error, as journaled and shown in run timelines. */
export interface ErrorRecord {
  name: string;
  message: string;
  retryable: boolean;
  applied: AppliedState;
  status?: number;
  vendorCode?: string;
}

export function toErrorRecord(err: unknown): ErrorRecord {
  if (err instanceof ActionError) {
    const r: ErrorRecord = { name: err.name, message: err.message, retryable: err.retryable, applied: err.applied };
    if (err.status !== undefined) r.status = err.status;
    if (err.vendorCode !== undefined) r.vendorCode = err.vendorCode;
    return r;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  // Anything that is not an ActionError is a bug or an unexpected failure: not retried, and its
  // effect is unknown because we cannot tell how far the handler got.
  return { name: e.name, message: e.message, retryable: false, applied: 'unknown' };
}

/** Error a playbook sees when an action it called failed for good (after retries). */
export class ActionFailedError extends Error {
  constructor(readonly action: string, readonly record: ErrorRecord) {
    super(`${action} failed: ${record.message}`);
    this.name = 'ActionFailedError';
  }
}
