/**
 * One execution of one run: calls the playbook function with a durable context and replays the
 * run's journal. Each effect the playbook asks for gets the next position (`seq`) — assigned
 * synchronously at the call, so `Promise.all` branches get stable positions — and is looked up in
 * the journal:
 *   - recorded and finished → the recorded result is returned, nothing is sent again;
 *   - recorded as started but never finished (the process died mid-call) → the outcome is
 *     unknown: idempotent actions are sent again, others are reconciled with the vendor or the run
 *     is parked for a human;
 *   - not recorded → the intent is journaled *before* the call is made; for an action that can
 *     change something, the call waits until the intent (and its audit entry) has committed.
 *
 * Journal writes are pipelined: they are queued in order on the store's group commit, and only
 * the points that need durability wait for them — the send of a changing action, and the end of
 * the execution. Because writes commit in the order they were queued, an awaited write implies
 * every earlier one of the run is durable too. A read-only lookup is therefore sent without
 * waiting for its intent (re-sending a read after a crash is harmless), and outcomes, notes and
 * status changes cost no wait on the run's critical path. A failed write parks the run.
 * A recorded entry whose kind, name or parameters differ from what the code now asks for is
 * non-determinism: the run is parked with an explanation instead of being mis-replayed.
 *
 * The execution ends when the playbook function settles, or when every branch is blocked
 * (a timer not yet due, or a step needing attention) and nothing is in flight; then the run is
 * persisted as waiting / needs attention and the execution (with its closures) is dropped.
 */
import type { Store } from '../store/store.js';
import type { JournalEntry, JournalKind, RunRecord } from '../store/records.js';
import type { JournalPatch } from '../store/store.js';
import type { Broker } from '../broker/broker.js';
import type { AppDefinition } from '../sdk/app.js';
import { capabilities, type CapabilityName } from '../sdk/capabilities.js';
import type {
  AutomationLevel, IncidentStatus, IncidentView, PlaybookContext, PlaybookDefinition, PromptResult, PromptSpec, RelatedQuery, RelatedResult, Severity,
} from '../sdk/playbook.js';
import { ActionFailedError, TerminalError, toErrorRecord, type ErrorRecord } from '../sdk/errors.js';
import { NeedsAttention, NonDeterminismError } from './errors.js';
import { canonicalJson } from '../common/canonical-json.js';
import { ipInList } from '../store/ip-match.js';
import type { PolicyGate } from '../policy/gate.js';
import type { PromptService } from '../policy/prompts.js';
import { dryRunOutput } from '../policy/dry-run.js';

export type ExecutionResult =
  | { status: 'completed'; output: unknown }
  | { status: 'failed'; error: ErrorRecord }
  | { status: 'waiting'; wakeAt: string | null; waitingOn: string }
  | { status: 'needs_attention'; reason: string; error: ErrorRecord };

export interface ExecutionDeps {
  store: Store;
  broker: Broker;
  now: () => number;
  /** Sleeps up to this long are waited in-process; longer ones park the run. */
  shortSleepMs: number;
  /** Policy for non-read-only actions (approvals, kill switch, dry run); absent = allow all. */
  gate?: PolicyGate;
  prompts?: PromptService;
  /** Effective automation level of the playbook now (settings override the playbook's default). */
  automation: AutomationLevel;
  playbookDryRun: boolean;
}

/** Thrown inside an effect to leave its promise pending forever (the branch is parked). */
class Blocked {
  constructor(readonly wakeAt: number | null, readonly waitingOn: string) {}
}

/** How often an action whose outcome stayed unknown may be reconciled and re-sent. */
const MAX_RECONCILE_ROUNDS = 2;

/** The execution's own writes: nothing waits for them until `durable` (which urges the commit). */
const LAZY = { lazy: true } as const;

export class RunExecution {
  private nextSeq = 0;
  private inflight = 0;
  private readonly blocked: Blocked[] = [];
  private halt: { reason: string; error: ErrorRecord } | null = null;
  private settled: ExecutionResult | null = null;
  private checkScheduled = false;
  private finish!: (r: ExecutionResult) => void;
  private finished = false;
  private readonly journal: Map<number, JournalEntry>;
  /** Settles when every write queued so far has committed; rejects forever once one failed. */
  private written: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly run: RunRecord,
    private readonly playbook: PlaybookDefinition,
    private readonly codeChanged: boolean,
    journal: JournalEntry[],
    private readonly bindings: Record<string, string>,
    private readonly deps: ExecutionDeps,
  ) {
    this.journal = new Map(journal.map((e) => [e.seq, e]));
  }

  execute(): Promise<ExecutionResult> {
    return new Promise<ExecutionResult>((resolve) => {
      this.finish = resolve;
      const incident = this.run.input as IncidentView;
      let p: Promise<unknown>;
      try {
        p = Promise.resolve(this.playbook.run(this.context(incident), incident, this.run.args ?? undefined));
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (output) => {
          const extra = [...this.journal.keys()].filter((s) => s >= this.nextSeq);
          if (extra.length > 0 && !this.halt) {
            const first = this.journal.get(Math.min(...extra))!;
            this.park(new NonDeterminismError(first.seq, first.name, 'the end of the playbook', this.hint()));
          }
          this.settled = { status: 'completed', output: output === undefined ? null : output };
          this.scheduleCheck();
        },
        (err) => {
          const error = err instanceof ActionFailedError ? { ...err.record, message: err.message } : toErrorRecord(err);
          this.settled = { status: 'failed', error };
          this.scheduleCheck();
        },
      );
      this.scheduleCheck();
    });
  }

  // ── quiescence ───────────────────────────────────────────────────────────────────────────

  /** After microtasks drain: finish when the playbook settled, or every branch is blocked. */
  private scheduleCheck(): void {
    if (this.checkScheduled || this.finished) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      if (this.finished || this.inflight > 0) return;
      let result: ExecutionResult | null = null;
      if (this.halt) result = { status: 'needs_attention', reason: this.halt.reason, error: this.halt.error };
      else if (this.settled) result = this.settled;
      else if (this.blocked.length > 0) {
        const times = this.blocked.map((b) => b.wakeAt).filter((t): t is number => t !== null);
        // A run waits on its first blocked step (approval, prompt, kill switch or timer).
        result = { status: 'waiting', wakeAt: times.length > 0 ? new Date(Math.min(...times)).toISOString() : null, waitingOn: this.blocked[0]!.waitingOn };
      }
      if (result) {
        this.finished = true;
        const settled = result;
        this.deps.store.flushWrites();
        this.written.then(
          () => this.finish(settled),
          (err: unknown) => {
            const error = toErrorRecord(err);
            this.finish(this.halt ? { status: 'needs_attention', reason: this.halt.reason, error: this.halt.error } : { status: 'needs_attention', reason: `a journal write failed: ${error.message}`, error });
          },
        );
      }
    });
  }

  /** Runs an effect's body, counting it as in flight; a `Blocked` throw parks the branch. */
  private effect<T>(body: () => Promise<T>): Promise<T> {
    if (this.halt) return new Promise<T>(() => {});
    this.inflight++;
    return new Promise<T>((resolve, reject) => {
      body().then(
        (v) => { this.inflight--; resolve(v); this.scheduleCheck(); },
        (e) => {
          this.inflight--;
          if (e instanceof Blocked) {
            this.blocked.push(e);
          } else if (e instanceof NeedsAttention || e instanceof NonDeterminismError) {
            this.park(e);
          } else {
            reject(e);
          }
          this.scheduleCheck();
        },
      );
    });
  }

  private park(e: Error): void {
    if (this.halt) return;
    this.halt = { reason: e.message, error: { name: e.name, message: e.message, retryable: false, applied: 'unknown' } };
  }

  /** Queues a write of this run: not awaited here, but part of every later durability wait. */
  private write(p: Promise<unknown>): void {
    p.catch(() => { /* observed through `written` */ });
    const next = this.written.then(() => p);
    next.catch(() => { /* observed by `durable` and at the end */ });
    this.written = next;
  }

  /** Waits until every write queued so far has committed; a failed one parks the run. */
  private async durable(seq: number): Promise<void> {
    this.deps.store.flushWrites();
    try {
      await this.written;
    } catch (err) {
      throw new NeedsAttention(seq, `step ${seq}: a journal write of this run failed, so nothing more was sent: ${toErrorRecord(err).message}`);
    }
  }

  /** For the engine: a write made for this run before the execution (its state change). */
  addWrite(p: Promise<unknown>): void {
    this.write(p);
  }

  private hint(): string {
    return this.codeChanged
      ? `The playbook's code changed since this run started (run recorded ${this.run.playbookHash}); restore the old version to finish this run, or cancel it.`
      : 'Playbook code must be deterministic: take time and randomness from ctx, and do not branch on anything outside ctx.';
  }

  /** The recorded entry at `seq`, checked against what the code asks for now. */
  private recorded(seq: number, kind: JournalKind, name: string, input: unknown): JournalEntry | undefined {
    const rec = this.journal.get(seq);
    if (!rec) return undefined;
    if (rec.kind !== kind || rec.name !== name) throw new NonDeterminismError(seq, `${rec.kind} ${rec.name}`, `${kind} ${name}`, this.hint());
    if (canonicalJson(rec.input) !== canonicalJson(input)) {
      throw new NonDeterminismError(seq, `${rec.name} with parameters ${canonicalJson(rec.input)}`, `the same step with ${canonicalJson(input)}`, this.hint());
    }
    return rec;
  }

  private entry(seq: number, kind: JournalKind, name: string, input: unknown, extra: Partial<JournalEntry> = {}): JournalEntry {
    return {
      runId: this.run.id, seq, kind, name, asset: null, app: null, action: null, status: 'started', input, output: null,
      error: null, attempts: 0, startedAt: new Date(this.deps.now()).toISOString(), finishedAt: null, wakeAt: null, detail: null, ...extra,
    };
  }

  // ── the context handed to the playbook ────────────────────────────────────────────────────

  private context(incident: IncidentView): PlaybookContext {
    const roles: Record<string, unknown> = {};
    for (const [role, cap] of Object.entries(this.playbook.roles)) roles[role] = this.roleClient(role, cap);
    return {
      runId: this.run.id,
      incident,
      roles: roles as PlaybookContext['roles'],
      asset: <A extends AppDefinition>(app: A, assetName: string) =>
        // `then` is not an action: without this guard `await ctx.asset(...)` would call one.
        new Proxy({}, { get: (_t, action) => typeof action === 'string' && action !== 'then' ? (input: unknown) => this.act(assetName, assetName, action, input, { appId: app.id }) : undefined }) as never,
      lists: { contains: (list, value) => this.listContains(list, value) },
      related: (q) => this.related(incident, q),
      note: (text) => this.incidentEffect('note', 'note', { text }),
      setStatus: (status: IncidentStatus) => this.incidentEffect('status', 'setStatus', { status }),
      setSeverity: (severity: Severity) => this.incidentEffect('severity', 'setSeverity', { severity }),
      sleep: (ms) => this.sleep(ms),
      prompt: (spec) => this.prompt(spec) as never,
      now: () => new Date(this.syncValue('now', () => this.deps.now())),
      random: () => this.syncValue('random', () => Math.random()),
    };
  }

  private roleClient(role: string, cap: CapabilityName): unknown {
    const known = capabilities[cap] as Record<string, unknown>;
    return new Proxy({}, {
      get: (_t, action) => {
        if (typeof action !== 'string' || !Object.hasOwn(known, action)) return undefined;
        return (input: unknown) => this.act(role, this.bindings[role], action, input, { capability: cap });
      },
    });
  }

  // ── actions ───────────────────────────────────────────────────────────────────────────────

  private act(label: string, assetName: string | undefined, action: string, input: unknown, expect: { appId?: string; capability?: CapabilityName }): Promise<unknown> {
    const seq = this.nextSeq++;
    const name = `${label}.${action}`;
    return this.effect(async () => {
      const rec = this.recorded(seq, 'action', name, input);
      if (rec) {
        if (rec.status === 'completed') return rec.output;
        if (rec.status === 'failed') throw new ActionFailedError(name, rec.error!);
        return this.resolveUnknown(rec, 'the process stopped before the outcome was recorded', 0);
      }
      const entry = this.entry(seq, 'action', name, input, { asset: assetName ?? null, action });
      const problem = await this.checkTarget(label, assetName, expect);
      if (problem) {
        const error = toErrorRecord(new TerminalError(problem));
        this.write(this.deps.store.appendJournal({ ...entry, status: 'failed', error, finishedAt: entry.startedAt }, LAZY));
        throw new ActionFailedError(name, error);
      }
      const { asset, def } = await this.deps.broker.describe(assetName!, action).catch(() => ({ asset: null, def: null }));
      if (!asset || !def) return this.failStep(entry, `app of asset "${assetName}" has no action "${action}"`);
      entry.app = asset.app.id;
      if (!def.readOnly && this.deps.gate) {
        const g = await this.deps.gate.check({
          run: this.run, seq, asset: assetName!, app: asset.app.id, action, def, params: input,
          automation: this.deps.automation, playbookDryRun: this.deps.playbookDryRun,
        });
        if (g.kind === 'wait') throw new Blocked(g.wakeAt, g.waitingOn);
        if (g.kind === 'attention') throw new NeedsAttention(seq, `step ${seq} ${name}: ${g.reason}`);
        if (g.kind === 'deny') return this.failStep(entry, g.message, 'ApprovalDenied');
        if (g.kind === 'dry-run') {
          const output = dryRunOutput(asset.app.implements ?? [], action, input);
          this.write(this.deps.store.appendJournal({ ...entry, status: 'completed', output, detail: g.detail, finishedAt: new Date(this.deps.now()).toISOString() }, LAZY));
          return output;
        }
        entry.detail = g.detail;
      }
      // A changing action's intent is journaled and committed before it is sent (send waits for
      // it): a crash after this point is seen on replay and reconciled. A read-only lookup is
      // journaled once, with its outcome: if the process dies while it is in flight, the replay
      // simply asks again.
      if (def.readOnly) return this.send(entry, 0, false, false);
      this.write(this.deps.store.appendJournal(entry, LAZY));
      return this.send(entry, 0, true, true);
    });
  }

  /** Why the step cannot target this asset, or null when it can. */
  private async checkTarget(label: string, assetName: string | undefined, expect: { appId?: string; capability?: CapabilityName }): Promise<string | null> {
    if (assetName === undefined) return `role "${label}" of playbook ${this.playbook.id} is not bound to an asset (riposte playbooks bind ${this.playbook.id} ${label}=<asset>)`;
    try {
      const { app } = await this.deps.broker.resolveAsset(assetName);
      if (expect.appId !== undefined && app.id !== expect.appId) return `asset "${assetName}" belongs to app ${app.id}, not ${expect.appId}`;
      if (expect.capability !== undefined && !(app.implements ?? []).includes(expect.capability)) {
        return `role "${label}" is bound to asset "${assetName}" of app ${app.id}, which does not implement the ${expect.capability} capability`;
      }
      return null;
    } catch (err) {
      return toErrorRecord(err).message;
    }
  }

  /**
   * Sends the step; `changing` = wait until its intent and everything before it has committed;
   * `journaled` = the entry is in the journal already (else the outcome inserts it).
   */
  private async send(entry: JournalEntry, round: number, changing: boolean, journaled: boolean): Promise<unknown> {
    const call = { runId: this.run.id, seq: entry.seq, asset: entry.asset!, action: entry.action!, input: entry.input };
    const out = await this.deps.broker.invoke(call, changing ? { before: this.durable(entry.seq) } : {});
    this.write(out.recorded);
    const attempts = entry.attempts + out.attempts;
    entry.attempts = attempts;
    const finishedAt = new Date(this.deps.now()).toISOString();
    const record = (patch: JournalPatch) => this.write(journaled
      ? this.deps.store.updateJournal(this.run.id, entry.seq, patch, LAZY)
      : this.deps.store.appendJournal({ ...entry, ...patch }, LAZY));
    if (out.kind === 'succeeded') {
      record({ status: 'completed', output: out.output, attempts, finishedAt });
      return out.output;
    }
    if (out.kind === 'failed') {
      record({ status: 'failed', error: out.error, attempts, finishedAt });
      throw new ActionFailedError(entry.name, out.error);
    }
    record({ status: 'started', error: out.error, attempts });
    return this.resolveUnknown(entry, out.error.message, round);
  }

  /** An attempt may or may not have reached the vendor: never re-send a non-idempotent action blindly. */
  private async resolveUnknown(entry: JournalEntry, why: string, round: number): Promise<unknown> {
    const seq = entry.seq;
    let def;
    try {
      ({ def } = await this.deps.broker.describe(entry.asset!, entry.action!));
    } catch (err) {
      throw new NeedsAttention(seq, `step ${seq} (${entry.name}) has an unknown outcome (${why}) and its asset cannot be loaded: ${toErrorRecord(err).message}`);
    }
    const note = (detail: string) => this.write(this.deps.store.updateJournal(this.run.id, seq, { status: 'started', detail }, LAZY));
    const changing = !def.readOnly;
    if (def.idempotent) {
      note(`outcome unknown (${why}); the action is idempotent, so it was sent again`);
      return this.send(entry, round, changing, true);
    }
    if (def.reconcile && round < MAX_RECONCILE_ROUNDS) {
      const r = await this.deps.broker.reconcile({ runId: this.run.id, seq, asset: entry.asset!, action: entry.action!, input: entry.input }, new Date(entry.startedAt));
      if (r.applied === true) {
        this.write(this.deps.store.updateJournal(this.run.id, seq, {
          status: 'completed', output: r.output, finishedAt: new Date(this.deps.now()).toISOString(),
          detail: `outcome was unknown (${why}); reconciled with the vendor: the action had been applied, so it was not sent again`,
        }, LAZY));
        return r.output;
      }
      if (r.applied === false) {
        note(`outcome was unknown (${why}); reconciled with the vendor: not applied, so it was sent once more`);
        return this.send(entry, round + 1, changing, true);
      }
      throw this.attention(entry, `${why}; reconcile could not tell: ${r.reason}`);
    }
    throw this.attention(entry, round >= MAX_RECONCILE_ROUNDS ? `${why}; still unknown after ${round} reconcile rounds` : `${why}; the action is not idempotent and has no reconcile`);
  }

  private attention(entry: JournalEntry, why: string): NeedsAttention {
    const reason = `step ${entry.seq} ${entry.name} on asset "${entry.asset}": outcome unknown (${why}). It was NOT sent again. Check at the vendor, then resolve the step with \`riposte runs resolve ${this.run.id} ${entry.seq} --applied|--not-applied\`.`;
    this.write(this.deps.store.updateJournal(this.run.id, entry.seq, { status: 'started', detail: reason }, LAZY));
    return new NeedsAttention(entry.seq, reason);
  }

  // ── other effects ─────────────────────────────────────────────────────────────────────────

  private listContains(list: string, value: string): Promise<boolean> {
    const seq = this.nextSeq++;
    const input = { list, value };
    return this.effect(async () => {
      const rec = this.recorded(seq, 'list', `lists.contains`, input);
      if (rec) return this.replayed(rec) as boolean;
      const items = await this.deps.store.getListItems(list);
      if (items === null) return this.failStep(this.entry(seq, 'list', 'lists.contains', input), `custom list "${list}" does not exist`);
      const output = ipInList(value, items);
      this.write(this.deps.store.appendJournal({ ...this.entry(seq, 'list', 'lists.contains', input), status: 'completed', output, finishedAt: new Date(this.deps.now()).toISOString() }, LAZY));
      return output;
    });
  }

  private related(incident: IncidentView, q: RelatedQuery): Promise<RelatedResult> {
    const seq = this.nextSeq++;
    return this.effect(async () => {
      const until = incident.createdAt;
      const input = { label: q.label ?? incident.label, match: q.match, since: new Date(Date.parse(until) - q.withinMs).toISOString(), until };
      const rec = this.recorded(seq, 'related', 'related', input);
      if (rec) return this.replayed(rec) as RelatedResult;
      const output = await this.deps.store.countRelated({ ...input, excludeIncidentId: incident.id });
      this.write(this.deps.store.appendJournal({ ...this.entry(seq, 'related', 'related', input), status: 'completed', output, finishedAt: new Date(this.deps.now()).toISOString() }, LAZY));
      return output;
    });
  }

  private incidentEffect(kind: 'note' | 'status' | 'severity', name: string, input: Record<string, string>): Promise<void> {
    const seq = this.nextSeq++;
    return this.effect(async () => {
      const rec = this.recorded(seq, kind, name, input);
      if (rec) {
        this.replayed(rec);
        return;
      }
      const entry = { ...this.entry(seq, kind, name, input), status: 'completed' as const, finishedAt: new Date(this.deps.now()).toISOString() };
      // Journal entry and incident change commit together: exactly once, even across crashes.
      this.write(this.deps.store.applyRunEffect(entry, kind === 'note'
        ? { type: 'note', incidentId: this.run.incidentId, text: input.text! }
        : { type: 'incident', incidentId: this.run.incidentId, patch: kind === 'status' ? { status: input.status as IncidentStatus } : { severity: input.severity as Severity } }, LAZY));
    });
  }

  private sleep(ms: number): Promise<void> {
    const seq = this.nextSeq++;
    const input = { ms };
    return this.effect(async () => {
      const rec = this.recorded(seq, 'sleep', 'sleep', input);
      if (rec?.status === 'completed') return;
      const wakeAt = rec ? Date.parse(rec.wakeAt!) : this.deps.now() + Math.max(0, ms);
      if (!rec) this.write(this.deps.store.appendJournal({ ...this.entry(seq, 'sleep', 'sleep', input), status: 'waiting', wakeAt: new Date(wakeAt).toISOString() }, LAZY));
      const left = wakeAt - this.deps.now();
      if (left > this.deps.shortSleepMs) throw new Blocked(wakeAt, 'timer');
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      this.write(this.deps.store.updateJournal(this.run.id, seq, { status: 'completed', finishedAt: new Date(this.deps.now()).toISOString() }, LAZY));
    });
  }

  private prompt(spec: PromptSpec): Promise<PromptResult<unknown>> {
    const seq = this.nextSeq++;
    return this.effect(async () => {
      const rec = this.recorded(seq, 'prompt', 'prompt', spec);
      if (rec?.status === 'completed') return rec.output as PromptResult<unknown>;
      if (!this.deps.prompts) return this.failStep(this.entry(seq, 'prompt', 'prompt', spec), 'prompts are not available in this engine');
      if (!rec) await this.deps.store.appendJournal({ ...this.entry(seq, 'prompt', 'prompt', spec), status: 'waiting' });
      const state = await this.deps.prompts.step(this.run.id, seq, spec);
      if (state.kind === 'wait') throw new Blocked(state.wakeAt, state.waitingOn);
      const output: PromptResult<unknown> = { answer: state.answer, answeredBy: state.answeredBy, timedOut: state.timedOut };
      await this.deps.store.updateJournal(this.run.id, seq, {
        status: 'completed', output, finishedAt: new Date(this.deps.now()).toISOString(),
        detail: state.timedOut ? 'no answer before the timeout: the default answer was taken' : `answered by ${state.answeredBy}`,
      });
      return output;
    });
  }

  /** `now`/`random`: synchronous for the playbook; the journal write is tracked as in flight. */
  private syncValue(kind: 'now' | 'random', make: () => number): number {
    const seq = this.nextSeq++;
    const rec = this.journal.get(seq);
    if (rec) {
      if (rec.kind !== kind) {
        this.park(new NonDeterminismError(seq, `${rec.kind} ${rec.name}`, `${kind} ${kind}`, this.hint()));
        this.scheduleCheck();
      }
      return rec.output as number;
    }
    const value = make();
    this.write(this.deps.store.appendJournal({ ...this.entry(seq, kind, kind, null), status: 'completed', output: value, finishedAt: new Date(this.deps.now()).toISOString() }, LAZY));
    return value;
  }

  private replayed(rec: JournalEntry): unknown {
    if (rec.status === 'failed') throw new ActionFailedError(rec.name, rec.error!);
    return rec.output;
  }

  private async failStep(entry: JournalEntry, message: string, errorName?: string): Promise<never> {
    const error = toErrorRecord(new TerminalError(message));
    if (errorName !== undefined) error.name = errorName;
    this.write(this.deps.store.appendJournal({ ...entry, status: 'failed', error, finishedAt: entry.startedAt }, LAZY));
    throw new ActionFailedError(entry.name, error);
  }
}
