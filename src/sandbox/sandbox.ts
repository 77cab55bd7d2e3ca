/**
 * The sandbox: runs playbook code outside the server's trust boundary, in V8 isolates
 * (isolated-vm) whose realm is frozen by SES (realm.ts). Playbook code reaches nothing but `ctx`:
 * the isolate has no Node (no `process`, `require`, `import`, file system, network, timers), and
 * all that crosses between it and the server is JSON text, numbers and one host function for the
 * calls answered at once (guest.ts) — no host object, error or promise enters the isolate, so
 * there is no prototype chain leading back to the server's realm.
 *
 * Crossing into an isolate is what the sandbox costs (tens of µs each on a busy server), so there
 * is one per turn of the playbook, not one per call: the calls of a turn come back queued as the
 * entry's result and are made here in their order (`ctx.now` and the like, which need an answer at
 * once, are the exception and hand over the queue first).
 *
 * Limits, per execution:
 *   - time: every entry into the isolate (start, each outcome handed over) may run `callTimeoutMs`
 *     before it is stopped, and one execution may spend `cpuBudgetMs` in all: a busy loop fails
 *     the run with a clear error, while the server's event loop was held at most `callTimeoutMs`;
 *   - memory: executions share a realm's heap limit; whoever exhausts it loses the isolate, and
 *     every execution in it is interrupted (ExecutionInterrupted): the engine executes those runs
 *     again from their journals, each in a realm of its own, where the culprit fails alone.
 * The host validates every call; a malformed one is refused: its promise rejects in the playbook.
 *
 * Failure semantics: the sandbox holds no state beyond executions; a run whose code was stopped
 * fails (its recorded steps stay recorded); a crash of the server loses nothing here.
 */
import ivm from 'isolated-vm';
import { z } from 'zod';
import { ActionFailedError, toErrorRecord } from '../sdk/errors.js';
import { capabilities, type CapabilityName } from '../sdk/capabilities.js';
import type { AppDefinition } from '../sdk/app.js';
import type { IncidentStatus, PlaybookConfig, PlaybookContext, PromptSpec, RelatedQuery, Severity } from '../sdk/playbook.js';
import { AUTOMATION_LEVELS, INCIDENT_STATUSES, SEVERITIES } from '../common/domain.js';
import { ExecutionInterrupted, type PlaybookExecution, type PlaybookExecutor, type StartOptions } from '../engine/executor.js';
import { checkChildCall } from '../engine/child-call.js';
import type { LoadedPlaybook, PlaybookSource } from '../engine/registry.js';
import { checkListCall } from '../engine/list-call.js';
import { parseTriggerCondition } from '../engine/trigger-condition.js';
import type { PlaybookBundle } from './bundle.js';
import { OUTCOME, type GuestError } from './guest.js';
import { checkNodeFlags, MAX_CALL_BYTES, MAX_TURN_CALLS, Realm } from './realm.js';
import { issuesText } from '../common/issues.js';

export interface SandboxLimits {
  /** Heap limit of an execution's isolate, MB. */
  memoryLimitMb: number;
  /** How long one entry into the playbook's code may run before it is stopped, ms. */
  callTimeoutMs: number;
  /** Time one execution may spend in the playbook's code in all, ms. */
  cpuBudgetMs: number;
  /** Realms executions share (each an isolate with its heap limit). */
  realms: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { memoryLimitMb: 128, callTimeoutMs: 200, cpuBudgetMs: 2000, realms: 2 };


const capabilityName = z.enum(Object.keys(capabilities) as [CapabilityName, ...CapabilityName[]]);
/** What a bundle says of itself — a proposal checked here, not trusted. */
const describedConfig = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).max(128),
  version: z.number().int().min(1),
  description: z.string().max(2000).optional(),
  triggers: z.strictObject({
    labels: z.array(z.string().min(1).max(128)).max(100),
    // Checked here so that a bundle whose condition does not parse is refused at load, with why.
    when: z.string().optional().superRefine((when, ctx) => {
      if (when === undefined) return;
      try {
        parseTriggerCondition(when);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      }
    }),
  }),
  automation: z.enum(AUTOMATION_LEVELS).optional(),
  minutesSaved: z.number().min(0).max(100_000).optional(),
  roles: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), capabilityName),
});

export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

export class Sandbox {
  private readonly realms: Realm[] = [];
  /** Executions by realm, to interrupt them when the realm is lost. */
  private readonly running = new Map<Realm, Set<Execution>>();
  readonly limits: SandboxLimits;
  private closed = false;

  constructor(limits: Partial<SandboxLimits> = {}) {
    checkNodeFlags();
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** A shared realm (the least busy), or a new dedicated one. */
  realm(dedicated: boolean): Realm {
    if (this.closed) throw new SandboxError('the sandbox is shut down');
    if (dedicated) return new Realm(this.limits.memoryLimitMb, true);
    for (let i = this.realms.length - 1; i >= 0; i--) if (!this.realms[i]!.usable) this.realms.splice(i, 1);
    if (this.realms.length < this.limits.realms) this.realms.push(new Realm(this.limits.memoryLimitMb, false));
    return this.realms.reduce((a, b) => (b.active < a.active ? b : a));
  }

  /**
   * Creates the shared realms now (an isolate and SES's lockdown cost tens of ms each): the server
   * calls it at start, so the first alerts do not pay for them.
   */
  warm(): void {
    while (this.realms.length < this.limits.realms) this.realms.push(new Realm(this.limits.memoryLimitMb, false));
  }

  enter(realm: Realm, e: Execution): void {
    realm.active++;
    let set = this.running.get(realm);
    if (!set) this.running.set(realm, (set = new Set()));
    set.add(e);
  }

  leave(realm: Realm, e: Execution): void {
    realm.active--;
    this.running.get(realm)?.delete(e);
    if (realm.dedicated || (realm.lost && realm.active === 0)) {
      this.running.delete(realm);
      realm.dispose();
    }
  }

  /** The realm's isolate died: every execution in it is interrupted (the culprit among them). */
  lose(realm: Realm): void {
    if (realm.lost) return;
    realm.lost = true;
    for (const e of [...(this.running.get(realm) ?? [])]) e.interrupt();
  }

  /** Evaluates the bundle and reads the playbook's declared configuration (a proposal, checked). */
  load(bundle: PlaybookBundle): SandboxedPlaybook {
    const realm = this.realm(true);
    try {
      return this.described(bundle, realm.describe(bundle, this.limits.callTimeoutMs));
    } catch (err) {
      if (err instanceof SandboxError) throw err;
      throw new SandboxError(`the playbook's code could not be loaded: ${stopped(err, this.limits)}`);
    } finally {
      realm.dispose();
    }
  }

  /**
   * `load` without holding the server's event loop: the bundle's top-level code and `describe` run
   * on isolated-vm's threads (a repository's commit may hold hundreds of bundles, each allowed to
   * spin `callTimeoutMs` at top level).
   */
  async loadAsync(bundle: PlaybookBundle): Promise<SandboxedPlaybook> {
    const realm = this.realm(true);
    try {
      return this.described(bundle, await realm.describeAsync(bundle, this.limits.callTimeoutMs));
    } catch (err) {
      if (err instanceof SandboxError) throw err;
      throw new SandboxError(`the playbook's code could not be loaded: ${stopped(err, this.limits)}`);
    } finally {
      realm.dispose();
    }
  }

  /**
   * An entry into a shared realm was stopped: empty what it left queued, or — when even that has to
   * be stopped — give the realm up (its executions run again elsewhere, as after a memory bomb).
   */
  clean(realm: Realm): void {
    if (realm.dedicated || !realm.usable) return;
    if (!realm.drain(this.limits.callTimeoutMs) && !realm.drain(this.limits.callTimeoutMs)) this.lose(realm);
  }

  /** What the bundle's `describe` said (`ok:<json>` or `error:<why>`, realm.ts), checked: a proposal, never trusted. */
  private described(bundle: PlaybookBundle, answer: unknown): SandboxedPlaybook {
    if (typeof answer !== 'string' || !answer.startsWith('ok:')) {
      const why = typeof answer === 'string' && answer.startsWith('error:') ? answer.slice(6) : 'no answer';
      throw new SandboxError(`the playbook's code could not be loaded: ${why}`);
    }
    let json: unknown = null;
    try {
      json = JSON.parse(answer.slice(3));
    } catch {
      // refused below
    }
    const parsed = describedConfig.safeParse(json);
    if (!parsed.success) {
      const why = issuesText(parsed.error.issues, '(definition)');
      throw new SandboxError(`the playbook's definition is not valid: ${why}`);
    }
    return new SandboxedPlaybook(this, bundle, parsed.data);
  }

  close(): void {
    this.closed = true;
    for (const r of this.realms.splice(0)) if (r.active === 0) r.dispose();
  }
}

/** A readable reason for an isolate that stopped (timeout, memory), or the error's message. */
function stopped(err: unknown, limits: SandboxLimits, alone = true): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message)) return `the playbook's code ran for more than ${limits.callTimeoutMs} ms without waiting on ctx and was stopped`;
  if (/memory limit|disposed/i.test(message)) {
    return `the playbook's code exceeded ${alone ? 'its' : 'the'} memory limit (${limits.memoryLimitMb} MB) and was stopped`;
  }
  return message;
}

/** A playbook loaded into the sandbox: its declared configuration and a way to run it. */
export class SandboxedPlaybook implements PlaybookExecutor {
  /** Each role's actions, as the guest builds `ctx.roles` from them (the same for every execution). */
  private readonly roleActionsJson: string;

  constructor(
    private readonly sandbox: Sandbox,
    readonly bundle: PlaybookBundle,
    readonly config: PlaybookConfig<Record<string, CapabilityName>>,
  ) {
    const roleActions: Record<string, string[]> = {};
    for (const [role, cap] of Object.entries(config.roles)) roleActions[role] = Object.keys(capabilities[cap]);
    this.roleActionsJson = JSON.stringify(roleActions);
  }

  /** The playbook as the registry holds it: its configuration, this executor, the bundle's hash as its code identity. */
  loaded(source?: PlaybookSource): LoadedPlaybook {
    return { config: this.config, executor: this, hash: this.bundle.hash, identity: 'bundle', ...(source ? { source } : {}) };
  }

  start(ctx: PlaybookContext, incident: unknown, args: unknown, opts: StartOptions = {}): PlaybookExecution {
    return new Execution(this.sandbox, this.bundle, this.config, this.roleActionsJson, ctx, opts.dedicated === true).start(incident, args);
  }
}

type Json = Record<string, unknown>;
const ok = (value: unknown) => JSON.stringify({ ok: true, value: value === undefined ? null : value });
const refuse = (error: string) => JSON.stringify({ ok: false, error });
/** The calls of `ctx` answered at once (a value, not a step): the rest are queued. */
const SYNC_CALLS = new Set(['now', 'random', 'patched', 'deprecatePatch']);
/** Numbers executions across realms (the runtime keys them by it). */
let executionIds = 0;

/**
 * One execution: a fresh module instance of the bundle in a shared realm, and the calls between
 * the playbook and its host `ctx`. Each entry into the isolate (start, an outcome) returns the
 * calls the playbook queued in that turn (guest.ts); they are checked and made here, in order.
 */
class Execution {
  private readonly realm: Realm;
  private readonly id = ++executionIds;
  /** Stopped (failed or interrupted): nothing more enters the isolate for this execution. */
  private stopped = false;
  private released = false;
  /** Calls refused by the host: their rejection is handed in after the current entry. */
  private readonly refusals: Array<{ id: number; message: string }> = [];
  private lastId = 0;
  /** Time spent in the playbook's code and in making its calls so far, ms (entries are synchronous: wall time). */
  private spentMs = 0;
  private finish!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
  private done = false;
  private readonly limits: SandboxLimits;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly bundle: PlaybookBundle,
    private readonly config: PlaybookConfig<Record<string, CapabilityName>>,
    private readonly roleActionsJson: string,
    private readonly ctx: PlaybookContext,
    dedicated: boolean,
  ) {
    this.limits = sandbox.limits;
    this.realm = sandbox.realm(dedicated);
    sandbox.enter(this.realm, this);
  }

  start(incident: unknown, args: unknown): PlaybookExecution {
    const result = new Promise<unknown>((resolve, reject) => { this.finish = { resolve, reject }; });
    result.catch(() => { /* the engine observes it */ });
    const startArgs = [this.ctx.runId, JSON.stringify(incident), JSON.stringify(args ?? null), this.roleActionsJson];
    const onCall = (op: unknown, json: unknown, queued: unknown) => this.handleSync(op, json, queued);
    this.turn(() => this.realm.start(this.bundle, this.id, onCall, startArgs, this.limits.callTimeoutMs));
    return { result, isolated: true, release: () => this.release() };
  }

  /** One entry into the isolate, then the calls it queued; then the rejections of refused calls. */
  private turn(entry: () => unknown[]): void {
    let next: (() => unknown[]) | null = entry;
    const began = performance.now();
    while (next) {
      if (next !== entry && performance.now() - began > this.limits.callTimeoutMs) {
        // Refusals answered and reacted to, again and again: all one stretch without waiting.
        this.fail(new Error('timed out'));
        return;
      }
      const queue = this.enter(next);
      if (queue !== undefined) {
        // The calls a turn makes count against the budget, as they did when made from inside it.
        const t0 = performance.now();
        this.apply(queue);
        this.spentMs += performance.now() - t0;
        this.checkBudget();
      }
      const refused = this.refusals.shift();
      next = refused && !this.stopped
        ? () => this.realm.settle(this.id, refused.id, OUTCOME.refused, JSON.stringify(refused.message), this.limits.callTimeoutMs)
        : null;
    }
  }

  /** Runs playbook code: stopped when it runs too long, exhausts the heap or the budget. */
  private enter(call: () => unknown[]): unknown[] | undefined {
    if (this.stopped || this.released) return undefined;
    const t0 = performance.now();
    let queue: unknown[];
    try {
      queue = call();
    } catch (err) {
      if (this.realm.isolate.isDisposed) this.sandbox.lose(this.realm);
      else {
        this.fail(err);
        this.sandbox.clean(this.realm);
      }
      return undefined;
    } finally {
      this.spentMs += performance.now() - t0;
    }
    return this.checkBudget() ? queue : undefined;
  }

  /** False (and the execution failed) once its code and calls spent more than its budget. */
  private checkBudget(): boolean {
    if (this.spentMs <= this.limits.cpuBudgetMs || this.stopped) return !this.stopped;
    this.fail(new Error(`the playbook's code ran ${Math.round(this.spentMs)} ms in this execution, more than its budget of ${this.limits.cpuBudgetMs} ms, and was stopped`));
    return false;
  }

  private fail(err: unknown): void {
    this.stopped = true;
    if (this.done) return;
    this.done = true;
    const dedicated = this.realm.dedicated;
    this.finish.reject(new SandboxError(stopped(err, this.limits, dedicated)));
  }

  /** The realm was lost under this execution: the engine runs it again, alone. */
  interrupt(): void {
    this.stopped = true;
    if (this.realm.dedicated) {
      this.fail(new Error('memory limit'));
      return;
    }
    if (this.done) return;
    this.done = true;
    this.finish.reject(new ExecutionInterrupted(`the sandbox realm of this execution ran out of memory (${this.limits.memoryLimitMb} MB, shared); the run is executed again in a realm of its own`));
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    try {
      this.realm.drop(this.id);
    } catch {
      // The realm is gone (lost or closed): so is the guest.
    }
    this.sandbox.leave(this.realm, this);
  }

  /** A step's promise: its outcome is handed into the isolate when the engine delivers it. */
  private track(id: number, p: Promise<unknown>): void {
    p.then(
      (value) => this.settle(id, OUTCOME.ok, value),
      (err: unknown) => this.settle(id, OUTCOME.failed, err instanceof ActionFailedError
        ? { action: err.action, record: err.record }
        : { action: 'step', record: toErrorRecord(err) }),
    );
  }

  private settle(id: number, kind: number, value: unknown): void {
    this.turn(() => this.realm.settle(this.id, id, kind, JSON.stringify(value === undefined ? null : value), this.limits.callTimeoutMs));
  }

  /**
   * The calls a turn queued: flat triples (id, op, JSON text) from the realm's runtime. Checked
   * anyway — they crossed from the isolate.
   */
  private apply(queue: unknown[]): void {
    if (!Array.isArray(queue) || queue.length % 3 !== 0 || queue.length > 3 * (MAX_TURN_CALLS + 2)) {
      this.fail(new Error('the sandbox handed back malformed calls'));
      return;
    }
    for (let i = 0; i < queue.length && !this.stopped; i += 3) {
      const id = queue[i], op = queue[i + 1], json = queue[i + 2];
      if (op === 'fault' && id === 0 && typeof json === 'string') {
        // The playbook's code threw out of its module or an entry (read as text in the isolate).
        this.fail(new Error(json));
        return;
      }
      if (typeof id !== 'number' || typeof op !== 'string' || typeof json !== 'string' || (op !== 'done' && !(Number.isInteger(id) && id > this.lastId))) {
        this.fail(new Error('the sandbox handed back malformed calls'));
        return;
      }
      if (op !== 'done') this.lastId = id;
      const answer = SYNC_CALLS.has(op) ? { refused: `${op} is answered at once, not queued` } : this.handle(op, json);
      if (answer.refused !== undefined) this.refusals.push({ id, message: answer.refused });
      else if (answer.step) this.track(id, answer.step);
    }
  }

  /** A synchronous call (`ctx.now` …): the calls queued before it first, in order. */
  private handleSync(op: unknown, json: unknown, queued: unknown): string {
    if (typeof op !== 'string' || typeof json !== 'string' || typeof queued !== 'string') return refuse('malformed call');
    try {
      this.apply(JSON.parse(queued) as unknown[]);
    } catch {
      return refuse('malformed call');
    }
    if (this.stopped) return refuse('the execution is stopped');
    if (!SYNC_CALLS.has(op)) return refuse(`${op} is queued, not answered at once`);
    const answer = this.handle(op, json);
    if (answer.refused !== undefined) return refuse(answer.refused);
    return ok(answer.value);
  }

  /** One call from the playbook: checked, then made through the host `ctx`. */
  private handle(op: string, json: string): { step?: Promise<unknown>; value?: unknown; refused?: string } {
    if (json.length > MAX_CALL_BYTES) return { refused: `a call to ctx carries at most ${MAX_CALL_BYTES} bytes of JSON` };
    let a: Json;
    try {
      const parsed = JSON.parse(json) as unknown;
      a = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as Json;
    } catch {
      return { refused: 'malformed call' };
    }
    try {
      return this.dispatch(op, a);
    } catch (err) {
      return { refused: err instanceof Error ? err.message : String(err) };
    }
  }

  private dispatch(op: string, a: Json): { step?: Promise<unknown>; value?: unknown } {
    const ctx = this.ctx;
    const str = (k: string): string => {
      const v = a[k];
      if (typeof v !== 'string') throw new Error(`${op}: "${k}" must be a string`);
      return v;
    };
    switch (op) {
      case 'act': {
        const action = str('action');
        if (typeof a.role === 'string') {
          const client = Object.hasOwn(this.config.roles, a.role) ? (ctx.roles as Record<string, Record<string, unknown>>)[a.role] : undefined;
          const fn = client && Object.hasOwn(capabilities[this.config.roles[a.role]!], action) ? client[action] : undefined;
          if (typeof fn !== 'function') throw new Error(`role "${a.role}" has no action "${action}"`);
          return { step: (fn as (i: unknown) => Promise<unknown>)(a.input) };
        }
        const client = ctx.asset({ id: str('appId') } as AppDefinition, str('asset')) as unknown as Record<string, (i: unknown) => Promise<unknown>>;
        return { step: client[action]!(a.input) };
      }
      case 'list': return { step: ctx.lists.contains(str('list'), str('value')) };
      case 'list-change': {
        // The arguments as given (not coerced): the engine checks them as it does in process.
        if (a.op !== 'add' && a.op !== 'remove') throw new Error('list-change: "op" must be add or remove');
        const call = checkListCall(a.op, a.list, a.value);
        return { step: a.op === 'add' ? ctx.lists.add(call.list, call.value) : ctx.lists.remove(call.list, call.value) };
      }
      case 'related': return { step: ctx.related(a as unknown as RelatedQuery) };
      case 'note': return { step: ctx.note(str('text')) };
      case 'status': {
        const status = str('status');
        if (!(INCIDENT_STATUSES as readonly string[]).includes(status)) throw new Error(`setStatus: unknown status "${status}"`);
        return { step: ctx.setStatus(status as IncidentStatus) };
      }
      case 'severity': {
        const severity = str('severity');
        if (!(SEVERITIES as readonly string[]).includes(severity)) throw new Error(`setSeverity: unknown severity "${severity}"`);
        return { step: ctx.setSeverity(severity as Severity) };
      }
      case 'sleep': {
        if (typeof a.ms !== 'number' || !Number.isFinite(a.ms)) throw new Error('sleep: "ms" must be a number');
        return { step: ctx.sleep(a.ms) };
      }
      case 'prompt': return { step: ctx.prompt(a as unknown as PromptSpec) };
      case 'playbook': {
        const call = checkChildCall(a.id, a.input);
        return { step: ctx.playbook(call.id, call.args) };
      }
      case 'now': return { value: ctx.now().getTime() };
      case 'random': return { value: ctx.random() };
      case 'patched': return { value: ctx.patched(str('id')) };
      case 'deprecatePatch': return { value: ctx.deprecatePatch(str('id')) };
      case 'done': {
        if (this.done) return {};
        this.done = true;
        if (a.ok === true) this.finish.resolve(a.output);
        else this.finish.reject(errorFrom(a.error as GuestError | undefined));
        return {};
      }
      default:
        throw new Error(`unknown call "${op}"`);
    }
  }
}

/** The playbook's failure as the engine knows it: a failed step keeps its record (checked, not trusted). */
function errorFrom(e: GuestError | undefined): Error {
  const text = (v: unknown, max: number, fallback: string) => (typeof v === 'string' ? v.slice(0, max) : fallback);
  if (e?.kind === 'action' && e.record !== null && typeof e.record === 'object') {
    const r = e.record;
    return new ActionFailedError(text(e.action, 200, 'step'), {
      name: text(r.name, 100, 'Error'), message: text(r.message, 4000, 'failed'), retryable: r.retryable === true,
      applied: r.applied === 'no' ? 'no' : 'unknown',
      ...(typeof r.status === 'number' ? { status: r.status } : {}), ...(typeof r.vendorCode === 'string' ? { vendorCode: r.vendorCode.slice(0, 200) } : {}),
    });
  }
  const err = new Error(text(e?.kind === 'error' ? e.message : undefined, 4000, 'the playbook failed'));
  if (e?.kind === 'error') err.name = text(e.name, 100, 'Error');
  return err;
}
