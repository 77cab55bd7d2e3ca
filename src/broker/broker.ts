/**
 * The broker is the only component that holds asset credentials and calls app handlers. For one
 * journaled step it: resolves the asset (decrypting its secrets), validates input and output
 * against the action's schemas, applies the per-attempt timeout, retries retryable errors with
 * backoff (honouring Retry-After), records every attempt as an action result, and writes an audit
 * entry for every action that changes something at a vendor.
 *
 * Every handler, reconcile and connectivity call runs under the asset's egress policy
 * (src/common/egress-guard.ts): a destination the policy refuses fails before anything is sent.
 *
 * Retry rule for non-idempotent actions: an attempt is repeated only when the vendor certainly
 * did not apply it (`applied: 'no'`, e.g. 429). When the outcome is unknown (timeout, lost reply,
 * 5xx) the broker stops and reports `unknown`; the engine then reconciles or parks the run.
 */
import { redactInput } from '../common/sensitive.js';
import type { z } from 'zod';
import {
  actionForAsset, type ActionContext, type AnyActionDefinition, type AppDefinition, type ReconcileOutcome,
} from '../sdk/app.js';
import { ActionError, RetryableError, TerminalError, toErrorRecord, type ErrorRecord } from '../sdk/errors.js';
import type { Store } from '../store/store.js';
import type { AppCatalog } from './catalog.js';
import { hashJson } from '../common/canonical-json.js';
import { issuesText } from '../common/issues.js';
import { egressPolicy, withEgressPolicy, type EgressPolicy } from '../common/egress-guard.js';

export interface ActionCall {
  runId: string;
  seq: number;
  asset: string;
  action: string;
  input: unknown;
}

export type InvokeOutcome =
  | { kind: 'succeeded'; output: unknown; attempts: number }
  | { kind: 'failed'; error: ErrorRecord; attempts: number }
  /** The vendor may or may not have applied it: never re-send a non-idempotent action blindly. */
  | { kind: 'unknown'; error: ErrorRecord; attempts: number };

export interface InvokeOptions {
  /**
   * Writes that must be durable before anything is sent (the step's journaled intent). The audit
   * entry of a changing action is queued first, so both commit together; a rejection is thrown
   * out of `invoke` and nothing is sent.
   */
  before?: Promise<unknown>;
}

/** The outcome, and the per-attempt action results, which are queued, not awaited. */
export type InvokeResult = InvokeOutcome & { recorded: Promise<unknown> };

export interface ResolvedAsset {
  name: string;
  app: AppDefinition;
  config: unknown;
  /** Where the asset's app may connect (its loopback/private allowances). */
  egress: EgressPolicy;
}

/** The asset a call goes to and the action definition behind it, resolved once per step by the caller. */
export interface ActionTarget {
  asset: ResolvedAsset;
  def: AnyActionDefinition;
}

export interface BrokerOptions {
  /** First retry delay; doubles each attempt. */
  retryBaseMs?: number;
  /** Upper bound for one retry delay (a longer Retry-After is capped to this). */
  retryMaxMs?: number;
  defaultTimeoutMs?: number;
  defaultMaxAttempts?: number;
  /** How long a resolved asset (decrypted config) is cached. */
  assetCacheMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Broker {
  private readonly assets = new Map<string, { at: number; asset: ResolvedAsset }>();
  private readonly opts: Required<BrokerOptions>;

  constructor(
    private readonly store: Store,
    readonly catalog: AppCatalog,
    opts: BrokerOptions = {},
  ) {
    this.opts = {
      retryBaseMs: opts.retryBaseMs ?? 500,
      retryMaxMs: opts.retryMaxMs ?? 60_000,
      defaultTimeoutMs: opts.defaultTimeoutMs ?? 30_000,
      defaultMaxAttempts: opts.defaultMaxAttempts ?? 3,
      assetCacheMs: opts.assetCacheMs ?? 5_000,
      sleep: opts.sleep ?? sleepReal,
    };
  }

  /** Loads an asset and its decrypted configuration (cached briefly). */
  async resolveAsset(name: string): Promise<ResolvedAsset> {
    const hit = this.assets.get(name);
    if (hit && Date.now() - hit.at < this.opts.assetCacheMs) return hit.asset;
    const rec = await this.store.getAsset(name);
    if (!rec) throw new TerminalError(`asset "${name}" is not configured`);
    const app = this.catalog.get(rec.appId);
    if (!app) throw new TerminalError(`asset "${name}" uses app "${rec.appId}", which is not installed`);
    const secrets = rec.secretFields.length > 0 ? await this.store.getAssetSecrets(name) : {};
    const parsed = app.config.safeParse({ ...rec.config, ...secrets });
    if (!parsed.success) {
      // Name the fields only: values may be secrets.
      const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
      throw new TerminalError(`asset "${name}" has an invalid configuration for app ${app.id}: ${fields}`);
    }
    const asset = { name, app, config: parsed.data, egress: egressPolicy(name, rec.egressAllow) };
    this.assets.set(name, { at: Date.now(), asset });
    return asset;
  }

  invalidateAsset(name?: string): void {
    if (name === undefined) this.assets.clear();
    else this.assets.delete(name);
  }

  /** The action definition behind an asset, for callers that need its flags (idempotent, …). */
  async describe(assetName: string, action: string): Promise<{ asset: ResolvedAsset; def: AnyActionDefinition }> {
    const asset = await this.resolveAsset(assetName);
    const def = actionForAsset(asset.app, action, asset.config);
    if (!def) throw new TerminalError(`app ${asset.app.id} (asset "${assetName}") has no action "${action}"`);
    return { asset, def };
  }

  /**
   * Runs one step on a resolved target: attempts with timeout and retries; records each attempt.
   * The action results are queued without waiting for their commit (they are records, not
   * preconditions); the caller waits for `recorded` before it considers the step's writes durable.
   */
  async invoke(target: ActionTarget, call: ActionCall, opts: InvokeOptions = {}): Promise<InvokeResult> {
    const recorded: Array<Promise<unknown>> = [];
    const done = (outcome: InvokeOutcome): InvokeResult => ({ ...outcome, recorded: Promise.all(recorded) });
    const { asset, def } = target;
    const parsedInput = def.input.safeParse(call.input);
    if (!parsedInput.success) {
      const detail = issuesText(parsedInput.error.issues, '(input)');
      return done({ kind: 'failed', error: toErrorRecord(new TerminalError(`invalid input for ${asset.app.id}.${call.action}: ${detail}`)), attempts: 0 });
    }
    const shown = redactInput(parsedInput.data, def.sensitiveInput);
    const maxAttempts = def.maxAttempts ?? this.opts.defaultMaxAttempts;
    const idempotencyKey = `${call.runId}:${call.seq}`;
    const audited = def.readOnly ? undefined : this.store.appendAudit({
      actor: `run:${call.runId}`, action: 'action.execute', target: `${call.asset}/${call.action}`,
      // The hash of what may be shown: a hash of a sensitive value (a password) could be guessed offline.
      detail: { runId: call.runId, step: call.seq, app: asset.app.id, kind: def.kind, paramsHash: hashJson(shown) },
    });
    // Nothing is sent before the intent (and, for a changing action, its audit entry) is durable.
    await Promise.all([audited, opts.before]);
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const result = await this.attempt(asset, def, parsedInput.data, { idempotencyKey, attempt, call });
      const durationMs = Date.now() - started;
      recorded.push(this.store.recordActionResult({
        runId: call.runId, seq: call.seq, attempt, app: asset.app.id, asset: call.asset, action: call.action, idempotencyKey,
        outcome: result.ok ? 'succeeded' : result.timedOut ? 'timeout' : 'failed',
        input: shown, output: result.ok ? result.output : null, error: result.ok ? null : result.error,
        startedAt: new Date(started).toISOString(), durationMs,
      }, { lazy: true }));
      if (result.ok) return done({ kind: 'succeeded', output: result.output, attempts: attempt });
      const e = result.error;
      const mayHaveApplied = !def.idempotent && e.applied === 'unknown';
      if (mayHaveApplied) return done({ kind: 'unknown', error: e, attempts: attempt });
      if (!e.retryable || attempt >= maxAttempts) return done({ kind: 'failed', error: e, attempts: attempt });
      await this.opts.sleep(this.backoff(attempt, result.retryAfterMs));
    }
  }

  /** Asks the vendor whether an attempt with unknown outcome took effect. */
  async reconcile(target: ActionTarget, call: ActionCall, intentAt: Date): Promise<ReconcileOutcome<unknown>> {
    const { asset, def } = target;
    if (!def.reconcile) return { applied: 'unknown', reason: `${asset.app.id}.${call.action} has no reconcile` };
    const input = def.input.parse(call.input);
    const timeoutMs = def.timeoutMs ?? this.opts.defaultTimeoutMs;
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // A handler that ignores its signal must not hold the run forever: the timeout answers "unknown".
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctl.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const rctx = { ...this.context(asset, `${call.runId}:${call.seq}`, 1, ctl.signal), intentAt };
      const out = await Promise.race([withEgressPolicy(asset.egress, () => def.reconcile!(input, rctx)), timeout]);
      if (out.applied === true) return { applied: true, output: def.output.parse(out.output) };
      return out;
    } catch (err) {
      return { applied: 'unknown', reason: `reconcile failed: ${toErrorRecord(err).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exp = this.opts.retryBaseMs * 2 ** (attempt - 1);
    const jittered = exp * (0.8 + Math.random() * 0.4);
    return Math.min(this.opts.retryMaxMs, Math.max(retryAfterMs ?? 0, jittered));
  }

  private context(asset: ResolvedAsset, idempotencyKey: string, attempt: number, signal: AbortSignal): ActionContext<unknown> {
    return {
      config: asset.config, idempotencyKey, attempt, signal,
      log: () => { /* attempt logs are summarised in the action result; handlers must not log secrets */ },
    };
  }

  private async attempt(
    asset: ResolvedAsset, def: AnyActionDefinition, input: unknown, a: { idempotencyKey: string; attempt: number; call: ActionCall },
  ): Promise<{ ok: true; output: unknown } | { ok: false; error: ErrorRecord; retryAfterMs?: number; timedOut: boolean }> {
    const timeoutMs = def.timeoutMs ?? this.opts.defaultTimeoutMs;
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctl.abort();
        reject(new RetryableError(`${asset.app.id}.${a.call.action} timed out after ${timeoutMs} ms`, { applied: 'unknown' }));
      }, timeoutMs);
    });
    try {
      const actx = this.context(asset, a.idempotencyKey, a.attempt, ctl.signal);
      const run = () => def.handler(input as z.output<z.ZodType>, actx);
      const raw = await Promise.race([withEgressPolicy(asset.egress, run), timeout]);
      const out = def.output.safeParse(raw);
      if (!out.success) {
        const detail = issuesText(out.error.issues, '(output)');
        // The vendor answered, so for a non-read-only action the effect may well have happened.
        return { ok: false, timedOut: false, error: toErrorRecord(new TerminalError(`${asset.app.id}.${a.call.action} returned an invalid output: ${detail}`, { applied: def.readOnly ? 'no' : 'unknown' })) };
      }
      return { ok: true, output: out.data };
    } catch (err) {
      const rec = toErrorRecord(err);
      const timedOut = ctl.signal.aborted;
      if (err instanceof RetryableError && err.retryAfterMs !== undefined) return { ok: false, error: rec, retryAfterMs: err.retryAfterMs, timedOut };
      if (!(err instanceof ActionError) && def.readOnly) rec.applied = 'no';
      return { ok: false, error: rec, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }
}
