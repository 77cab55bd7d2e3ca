/**
 * The context the broker hands an app action (`ActionContext` in src/sdk/app.ts), for tests that
 * call an action's handler or `reconcile` directly: a first attempt whose log goes nowhere.
 */
import type { ActionContext, ReconcileContext } from '../../src/sdk/app.js';

export interface ActionContextOptions {
  /** The step's abort signal; by default one that never aborts. */
  readonly signal?: AbortSignal;
  /** Without `signal`: abort after this many ms, a guard against a test hanging on a vendor. */
  readonly timeoutMs?: number;
}

/** `idempotencyKey` is `${runId}:${step}`; vendors that dedupe on it see the same step each time. */
export function actionContext<C>(
  config: C,
  idempotencyKey = 'run-1:3',
  opts: ActionContextOptions = {},
): ActionContext<C> {
  const signal = opts.signal
    ?? (opts.timeoutMs === undefined ? new AbortController().signal : AbortSignal.timeout(opts.timeoutMs));
  return { config, idempotencyKey, signal, attempt: 1, log() {} };
}

/** The context of `reconcile`: as above, plus when the engine recorded its intent (default: now). */
export function reconcileContext<C>(
  config: C,
  idempotencyKey = 'run-1:3',
  opts: ActionContextOptions & { readonly intentAt?: Date } = {},
): ReconcileContext<C> {
  return { ...actionContext(config, idempotencyKey, opts), intentAt: opts.intentAt ?? new Date() };
}
