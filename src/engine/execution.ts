/**
 * One execution of one run: calls the playbook function with a durable context and replays the
 * run's journal. It decides *which* step is asked for and what the journal says about it; whether
 * and how an effect happens is the host's business (the step service, src/steps/). Everything it
 * says to the host is plain data (src/steps/protocol.ts).
 *
 * Each effect the playbook asks for takes the next position (`seq`) when it is called, and is
 * looked up in the journal:
 *   - recorded with its outcome → handed back at its recorded place in the order of outcomes
 *     (delivery.ts), nothing is performed again;
 *   - recorded as an intent without outcome (the process died mid-call) → the host resolves the
 *     unknown outcome (idempotent: sent again; otherwise reconciled, or the run is parked);
 *   - recorded as parked, or not recorded → performed by the host, once the replay has caught up
 *     with the journal.
 * A recorded entry whose kind, name or parameters differ from what the code now asks for, or a
 * recorded outcome the code never asks for, is non-determinism: the run is parked with an
 * explanation instead of being mis-replayed, before anything new was sent.
 *
 * Journal writes are queued on the host and not awaited: an outcome is journaled (with its place
 * in the order) when it is handed to the playbook; a note or status change together with its
 * effect on the incident, in one transaction. The execution ends when the playbook function
 * settled, or every branch is blocked (a timer not due, a step waiting for an approval or an
 * answer), and nothing is in flight; it then waits for its writes. A failed write parks the run.
 */
import type { JournalEntry, JournalKind, RunRecord } from '../store/records.js';
import type { RunEffect } from '../store/store.js';
import type {
  IncidentView,
  PlaybookConfig,
  PromptResult,
  PromptSpec,
  RelatedQuery,
  RelatedResult,
} from '../sdk/playbook.js';
import { ActionFailedError, toErrorRecord, type ErrorRecord } from '../sdk/errors.js';
import { maskLike, redactInput } from '../common/sensitive.js';
import { canonicalJson } from '../common/canonical-json.js';
import type { WaitOn } from '../common/wait-on.js';
import type { ActionTarget, RunHost, StepOutcome, StepRequest } from '../steps/protocol.js';
import { NeedsAttention, NonDeterminismError } from './errors.js';
import { Delivery } from './delivery.js';
import { buildContext, type RunEffects } from './context.js';
import { checkChildCall } from './child-call.js';
import { checkListCall, type ListOp } from './list-call.js';
import { ExecutionInterrupted, type PlaybookExecution, type PlaybookExecutor } from './executor.js';
import type { CapabilityName } from '../sdk/capabilities.js';

export type ExecutionResult =
  | { status: 'completed'; output: unknown }
  | { status: 'failed'; error: ErrorRecord }
  /** `on`: every wait of the run's parked branches, the first one first (never empty). */
  | { status: 'waiting'; wakeAt: string | null; on: WaitOn[] }
  | { status: 'needs_attention'; reason: string; error: ErrorRecord }
  /** The playbook's code was stopped through no fault of its own (its sandbox realm was lost): run it again. */
  | { status: 'interrupted'; reason: string };

export interface ExecutionOptions {
  now: () => number;
  /** Sleeps up to this long are waited in-process; longer ones park the run. */
  shortSleepMs: number;
  /** Dry run (of the run or the playbook): incident changes are journaled, not applied. */
  dryRun: boolean;
  /** Run the playbook's code in a sandbox realm of its own (after an interruption). */
  dedicated?: boolean;
}

const FINAL = new Set(['completed', 'failed']);
const never = <T>(): Promise<T> => new Promise<T>(() => {});

export class RunExecution implements RunEffects {
  private nextSeq = 0;
  /** Steps being performed by the host. */
  private inflight = 0;
  /** Parked steps; `held`: it holds an intent whose outcome is unknown (a re-send waits). */
  private readonly blocked: Array<{ seq: number; wakeAt: number | null; on: WaitOn; held: boolean }> = [];
  private halt: { reason: string; error: ErrorRecord } | null = null;
  private settled: ExecutionResult | null = null;
  private checkScheduled = false;
  private finished = false;
  private finish!: (r: ExecutionResult) => void;
  private readonly journal: Map<number, JournalEntry>;
  private readonly bySeqOfResolution = new Map<number, JournalEntry>();
  private readonly delivery: Delivery;
  private dryRunSteps: boolean;
  /** The playbook's code running (in the sandbox, or in process), released when the execution ends. */
  private execution: PlaybookExecution | null = null;
  /** The code was stopped through no fault of its own: outcomes are recorded, not handed over. */
  private interrupted: string | null = null;

  constructor(
    private readonly run: RunRecord,
    private readonly playbook: PlaybookConfig<Record<string, CapabilityName>>,
    private readonly executor: PlaybookExecutor,
    private readonly codeChanged: boolean,
    journal: JournalEntry[],
    private readonly host: RunHost,
    private readonly opts: ExecutionOptions,
  ) {
    this.journal = new Map(journal.map((e) => [e.seq, e]));
    const resolutions: number[] = [];
    for (const e of journal) {
      if (FINAL.has(e.status) && e.resolution !== null && e.resolution !== undefined) {
        resolutions.push(e.resolution);
        this.bySeqOfResolution.set(e.resolution, e);
      }
    }
    this.delivery = new Delivery(resolutions, () => this.scheduleCheck(), journal.length > 0);
    this.dryRunSteps = journal.some(isDryRunStep);
  }

  /** A destructive step of this run was recorded instead of executed (it earns no minutes saved). */
  get didDryRun(): boolean {
    return this.dryRunSteps || this.opts.dryRun;
  }

  execute(): Promise<ExecutionResult> {
    return new Promise<ExecutionResult>((resolve) => {
      this.finish = (r) => {
        this.execution?.release();
        resolve(r);
      };
      const incident = this.run.input as IncidentView;
      let p: Promise<unknown>;
      try {
        const ctx = buildContext(this.run.id, incident, this.playbook, this);
        this.execution = this.executor.start(ctx, incident, this.run.args ?? undefined, { dedicated: this.opts.dedicated === true });
        p = this.execution.result;
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (output) => {
          this.settled = { status: 'completed', output: output === undefined ? null : output };
          this.scheduleCheck();
        },
        (err) => {
          if (err instanceof ExecutionInterrupted) {
            this.interrupted = err.message;
            this.scheduleCheck();
            return;
          }
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
      if (this.finished || this.inflight > 0 || this.delivery.busy) return;
      if (this.interrupted !== null) {
        // Every step in flight is recorded; the next execution replays them.
        this.finished = true;
        const reason = this.interrupted;
        this.host.settle().then(
          () => this.finish({ status: 'interrupted', reason }),
          (err: unknown) => {
            const error = toErrorRecord(err);
            this.finish({ status: 'needs_attention', reason: `a journal write failed: ${error.message}`, error });
          },
        );
        return;
      }
      if (this.delivery.replaying) this.park(this.stuckReplay());
      else if (this.settled) this.checkJournalConsumed();
      const held = this.blocked.find((b) => b.held);
      if (this.settled && held) {
        // A branch the playbook no longer waits for holds an action whose outcome is unknown.
        this.park(
          new NeedsAttention(
            held.seq,
            `step ${held.seq}: its outcome is unknown and sending it again waits (${held.on.kind}), but the playbook ended without it; check at the vendor, then resolve the step with \`riposte runs resolve ${this.run.id} ${held.seq} --applied|--not-applied\``,
          ),
        );
      }
      let result: ExecutionResult | null = null;
      if (this.halt) result = { status: 'needs_attention', reason: this.halt.reason, error: this.halt.error };
      else if (this.settled) result = this.settled;
      else if (this.blocked.length > 0) {
        const times = this.blocked.map((b) => b.wakeAt).filter((t): t is number => t !== null);
        // A run waits on every blocked step (approval, prompt, kill switch or timer): any wakes it.
        result = {
          status: 'waiting',
          wakeAt: times.length > 0 ? new Date(Math.min(...times)).toISOString() : null,
          on: this.blocked.map((b) => b.on),
        };
      }
      if (result === null && this.execution?.isolated && !this.delivery.replaying) {
        result = {
          status: 'failed',
          error: {
            name: 'PlaybookStuck', retryable: false, applied: 'no',
            message: 'the playbook waits for something that is not a ctx step (a promise nothing will settle): it can never go on',
          },
        };
      }
      if (result === null) return;
      this.finished = true;
      const settled = result;
      // A run that ends while a branch is parked (a lost Promise.race) leaves nothing pending.
      const abandoned =
        settled.status === 'completed' || settled.status === 'failed' ? this.blocked.map((b) => b.seq) : [];
      const failed = (what: string) => (err: unknown) => {
        const error = toErrorRecord(err);
        this.finish(
          this.halt
            ? { status: 'needs_attention', reason: this.halt.reason, error: this.halt.error }
            : { status: 'needs_attention', reason: `${what}: ${error.message}`, error },
        );
      };
      const released = abandoned.length > 0 ? this.host.abandon(abandoned) : Promise.resolve();
      released.then(
        () => this.host.settle().then(() => this.finish(settled), failed('a journal write failed')),
        failed('withdrawing what its parked steps waited for failed'),
      );
    });
  }

  private park(e: Error): void {
    if (this.halt) return;
    this.halt = {
      reason: e.message,
      error: { name: e.name, message: e.message, retryable: false, applied: 'unknown' },
    };
  }

  /** The replay ran out of calls before handing back every recorded outcome. */
  private stuckReplay(): NonDeterminismError {
    const e = this.bySeqOfResolution.get(this.delivery.expected!)!;
    return new NonDeterminismError(
      e.seq,
      `${e.kind} ${e.name} as the next step to complete`,
      this.nextSeq > e.seq ? 'something else first' : 'no such step (the playbook stopped asking before it)',
      this.hint(),
    );
  }

  /** The playbook returned: a journal that recorded more steps than it asked for is non-determinism. */
  private checkJournalConsumed(): void {
    const extra = [...this.journal.keys()].filter((s) => s >= this.nextSeq);
    if (extra.length === 0) return;
    const first = this.journal.get(Math.min(...extra))!;
    this.park(
      new NonDeterminismError(first.seq, `${first.kind} ${first.name}`, 'the end of the playbook', this.hint()),
    );
  }

  private hint(): string {
    return this.codeChanged
      ? `The playbook's code changed since this run started (run recorded ${this.run.playbookHash}); restore the old version to finish this run, or mark the change with ctx.patched().`
      : 'Playbook code must be deterministic: take time and randomness from ctx, and do not branch on anything outside ctx.';
  }

  /** The recorded entry at `seq`, checked against what the code asks for now. */
  private recorded(seq: number, kind: JournalKind, name: string, input: unknown): JournalEntry | undefined {
    const rec = this.journal.get(seq);
    if (!rec) return undefined;
    if (rec.kind === 'patch' && kind !== 'patch') {
      throw new NonDeterminismError(
        seq,
        `the patch marker "${rec.name}"`,
        `${kind} ${name}`,
        `This run took the ctx.patched("${rec.name}") path: keep that call where it was, or replace it with ctx.deprecatePatch("${rec.name}").`,
      );
    }
    if (rec.kind !== kind || rec.name !== name)
      throw new NonDeterminismError(seq, `${rec.kind} ${rec.name}`, `${kind} ${name}`, this.hint());
    // A sensitive input was journaled as a marker: compared by presence, never printed.
    const asked = maskLike(input, rec.input);
    if (canonicalJson(rec.input) !== canonicalJson(asked)) {
      throw new NonDeterminismError(
        seq,
        `${rec.name} with parameters ${canonicalJson(rec.input)}`,
        `the same step with ${canonicalJson(asked)}`,
        this.hint(),
      );
    }
    return rec;
  }

  private entry(seq: number, kind: JournalKind, name: string, input: unknown): JournalEntry {
    return {
      runId: this.run.id,
      seq,
      kind,
      name,
      asset: null,
      app: null,
      action: null,
      status: 'started',
      input,
      output: null,
      error: null,
      attempts: 0,
      startedAt: new Date(this.opts.now()).toISOString(),
      finishedAt: null,
      wakeAt: null,
      detail: null,
      resolution: null,
    };
  }

  // ── one step: replay it, or have the host perform it ─────────────────────────────────────

  /**
   * Asks for the step at the next position. `perform` is called (with the recorded entry, if any)
   * only when the journal holds no outcome for it; `effect` is the incident change a note or
   * status step makes, applied with its journal entry.
   */
  private step<T>(
    kind: JournalKind,
    name: string,
    input: unknown,
    perform: (rec: JournalEntry | undefined) => Promise<StepOutcome>,
    effect?: RunEffect,
  ): Promise<T> {
    const seq = this.nextSeq++;
    if (this.halt) return never();
    let rec: JournalEntry | undefined;
    try {
      rec = this.recorded(seq, kind, name, input);
    } catch (err) {
      this.park(err as Error);
      this.scheduleCheck();
      return never();
    }
    // Abandoned when an earlier execution of this run ended without it: it stays as it was then.
    if (rec?.status === 'abandoned') return never();
    const promise = new Promise<T>((resolve, reject) => {
      const hand = (e: JournalEntry) => {
        if (e.status === 'failed') reject(new ActionFailedError(e.name, e.error ?? toErrorRecord(new Error('failed'))));
        else resolve(e.output as T);
      };
      if (rec && FINAL.has(rec.status) && rec.resolution !== null && rec.resolution !== undefined) {
        const known = rec;
        this.delivery.replay(rec.resolution, () => hand(known));
        return;
      }
      const base = rec ?? this.entry(seq, kind, name, input);
      this.delivery.whenLive(() => {
        if (this.halt) return;
        this.inflight++;
        // An outcome recorded but never handed over (an operator's answer for a step whose
        // outcome was unknown) is handed over now, as a live one, and gets its order then.
        const outcome = rec && FINAL.has(rec.status) ? Promise.resolve(outcomeOf(rec)) : perform(rec);
        outcome.then(
          (o) => {
            this.inflight--;
            this.onOutcome(base, o, hand, rec !== undefined, effect);
            this.scheduleCheck();
          },
          (err: unknown) => {
            this.inflight--;
            this.park(err instanceof Error ? err : new Error(String(err)));
            this.scheduleCheck();
          },
        );
      });
    });
    // A failed step is handed over from a macrotask of its own, maybe before the playbook awaits
    // it: that must not count as an unhandled rejection (which ends a Node process). The
    // playbook still sees the failure where it awaits the step.
    promise.catch(() => {});
    return promise;
  }

  private onOutcome(
    given: JournalEntry,
    o: StepOutcome,
    hand: (e: JournalEntry) => void,
    recorded: boolean,
    effect: RunEffect | undefined,
  ): void {
    // The action's sensitive inputs never reach the journal (common/sensitive.ts).
    const sensitive = o.status === 'attention' ? undefined : o.sensitive;
    const base = sensitive ? { ...given, input: redactInput(given.input, sensitive) } : given;
    const known = recorded && FINAL.has(base.status);
    switch (o.status) {
      case 'completed':
      case 'failed': {
        if (o.status === 'completed' && o.dryRun) this.dryRunSteps = true;
        const entry: JournalEntry = {
          ...base,
          status: o.status,
          output: o.status === 'completed' ? o.output : null,
          error: o.status === 'failed' ? o.error : null,
          attempts: o.attempts ?? base.attempts,
          detail: o.detail ?? base.detail,
          asset: o.asset ?? base.asset,
          app: o.app ?? base.app,
          action: base.action,
          finishedAt: known ? base.finishedAt : new Date(this.opts.now()).toISOString(),
        };
        // The entry exists when it was recorded before (a parked marker, an intent) or the host
        // journaled an intent now: then only its outcome columns are written.
        const exists = recorded || o.journaled === true;
        this.delivery.arrive((resolution) => {
          if (this.interrupted !== null) {
            // Not handed over (the code is gone): recorded without a place in the order, so the
            // next execution hands it over live, in the order it then asks for it.
            if (effect && !known && !this.opts.dryRun) this.host.recordWithEffect(entry, effect);
            else if (!known) this.host.record(entry);
            return;
          }
          entry.resolution = resolution;
          if (effect && !known && !this.opts.dryRun) this.host.recordWithEffect(entry, effect);
          else if (effect && !known)
            this.host.record({ ...entry, detail: 'dry run: recorded, the incident was not changed' });
          else if (exists) {
            this.host.update(entry.seq, {
              status: entry.status,
              output: entry.output,
              error: entry.error,
              attempts: entry.attempts,
              finishedAt: entry.finishedAt,
              detail: entry.detail,
              resolution,
            });
          } else this.host.record(entry);
          hand(entry);
        });
        return;
      }
      case 'waiting': {
        const wakeAt = o.wakeAt === null ? null : new Date(o.wakeAt).toISOString();
        // A step holding an intent whose outcome is unknown (a re-send waits) keeps its entry as it is.
        const holdsIntent = o.journaled === true || (recorded && base.status === 'started');
        this.blocked.push({ seq: base.seq, wakeAt: o.wakeAt, on: o.on, held: holdsIntent });
        const unchanged = recorded && base.status === 'waiting' && base.detail === o.detail && base.wakeAt === wakeAt;
        // A parked step is journaled, so the run's timeline shows every step it waits on.
        if (!holdsIntent && !unchanged) {
          this.host.record({
            ...base,
            status: 'waiting',
            wakeAt,
            detail: o.detail,
            asset: o.asset ?? base.asset,
            app: o.app ?? base.app,
          });
        }
        return;
      }
      case 'attention':
        this.park(new NeedsAttention(base.seq, o.reason));
    }
  }

  // ── the effects behind ctx ───────────────────────────────────────────────────────────────

  act(label: string, target: ActionTarget, action: string, given: unknown): Promise<unknown> {
    const name = `${label}.${action}`;
    const input = plain(given);
    const seq = this.nextSeq;
    return this.step('action', name, input, (rec) => {
      const req: StepRequest = { kind: 'action', seq, name, target, action, input };
      if (rec?.status === 'started')
        req.intent = { startedAt: rec.startedAt, attempts: rec.attempts, asset: rec.asset };
      return this.host.perform(req);
    });
  }

  listContains(list: string, value: string): Promise<boolean> {
    const seq = this.nextSeq;
    const input = { list, value };
    return this.step('list', 'lists.contains', input, () =>
      this.host.perform({ kind: 'list', seq, name: 'lists.contains', input }),
    );
  }

  /**
   * A change to a custom list: one step, performed by the host (list-change.ts in src/steps/),
   * which journals its outcome with the change. Bad arguments throw before the step takes a position.
   */
  listChange(op: ListOp, list: unknown, value: unknown): Promise<unknown> {
    const input = checkListCall(op, list, value);
    const seq = this.nextSeq;
    const name = op === 'add' ? 'lists.add' : 'lists.remove';
    return this.step('list-change', name, input, () => this.host.perform({ kind: 'list-change', seq, name, input }));
  }

  related(q: RelatedQuery): Promise<RelatedResult> {
    const seq = this.nextSeq;
    const incident = this.run.input as IncidentView;
    const until = incident.createdAt;
    const input = {
      label: q.label ?? incident.label,
      match: plain(q.match),
      since: new Date(Date.parse(until) - q.withinMs).toISOString(),
      until,
    };
    return this.step('related', 'related', input, () =>
      this.host.perform({ kind: 'related', seq, name: 'related', input }),
    );
  }

  incident(kind: 'note' | 'status' | 'severity', input: Record<string, string>): Promise<void> {
    const name = kind === 'note' ? 'note' : kind === 'status' ? 'setStatus' : 'setSeverity';
    const incidentId = this.run.incidentId;
    const effect: RunEffect =
      kind === 'note'
        ? { type: 'note', incidentId, text: input.text! }
        : {
            type: 'incident',
            incidentId,
            patch: kind === 'status' ? { status: input.status as never } : { severity: input.severity as never },
          };
    return this.step(kind, name, input, () => Promise.resolve({ status: 'completed', output: null }), effect);
  }

  sleep(ms: number): Promise<void> {
    const seq = this.nextSeq;
    const input = { ms };
    return this.step('sleep', 'sleep', input, async (rec) => {
      const wakeAt = rec?.wakeAt ? Date.parse(rec.wakeAt) : this.opts.now() + Math.max(0, ms);
      const left = wakeAt - this.opts.now();
      if (left > this.opts.shortSleepMs)
        return { status: 'waiting', on: { kind: 'timer' }, wakeAt, detail: 'waits for its timer' };
      // Waited in process: the wake time must survive a crash meanwhile.
      if (!rec && left > 0) {
        this.host.record({
          ...this.entry(seq, 'sleep', 'sleep', input),
          status: 'waiting',
          wakeAt: new Date(wakeAt).toISOString(),
          detail: 'waits for its timer',
        });
      }
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      return { status: 'completed', output: null };
    });
  }

  prompt(given: PromptSpec): Promise<PromptResult<unknown>> {
    const seq = this.nextSeq;
    const spec = plain(given);
    return this.step('prompt', 'prompt', spec, () =>
      this.host.perform({ kind: 'prompt', seq, name: 'prompt', input: spec }),
    );
  }

  /**
   * A child playbook: one step, performed by the host (child-playbook.ts in src/steps/), whose
   * outcome is the child run's end. Bad arguments throw before the step takes a position.
   */
  childPlaybook(id: unknown, given: unknown): Promise<unknown> {
    const call = checkChildCall(id, given);
    const seq = this.nextSeq;
    const name = `playbook.${call.id}`;
    const input = { playbook: call.id, args: call.args };
    return this.step('playbook', name, input, () => this.host.perform({ kind: 'playbook', seq, name, input }));
  }

  /** `now`/`random`: synchronous for the playbook; journaled (not awaited) the first time. */
  value(kind: 'now' | 'random'): number {
    const seq = this.nextSeq++;
    const rec = this.journal.get(seq);
    if (rec) {
      if (rec.kind !== kind) {
        this.park(new NonDeterminismError(seq, `${rec.kind} ${rec.name}`, `${kind} ${kind}`, this.hint()));
        this.scheduleCheck();
      }
      return rec.output as number;
    }
    const v = kind === 'now' ? this.opts.now() : Math.random();
    this.host.record({
      ...this.entry(seq, kind, kind, null),
      status: 'completed',
      output: v,
      finishedAt: new Date(this.opts.now()).toISOString(),
    });
    return v;
  }

  patched(id: string): boolean {
    const seq = this.nextSeq;
    const rec = this.journal.get(seq);
    if (rec?.kind === 'patch' && rec.name === id) {
      this.nextSeq++;
      return true;
    }
    // Code an earlier execution already ran (a resumed run's first steps, the reaction to a
    // recorded outcome) went on here without the patch: it replays the old path. Only code that
    // runs for the first time — reacting to a live outcome, or in a new run — takes the new one.
    if (rec || this.delivery.replayedSegment) return false;
    this.nextSeq++;
    this.host.record({
      ...this.entry(seq, 'patch', id, null),
      status: 'completed',
      finishedAt: new Date(this.opts.now()).toISOString(),
    });
    return true;
  }

  deprecatePatch(id: string): void {
    const rec = this.journal.get(this.nextSeq);
    if (rec?.kind === 'patch' && rec.name === id) this.nextSeq++;
  }
}

/**
 * A step's parameters as the journal will hold them, copied when the step is asked for: the
 * playbook may change the object it passed while the step is still in flight.
 */
function plain<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** A recorded final entry as the outcome the host would have reported. */
function outcomeOf(e: JournalEntry): StepOutcome {
  const where = { ...(e.asset ? { asset: e.asset } : {}), ...(e.app ? { app: e.app } : {}) };
  return e.status === 'failed'
    ? {
        status: 'failed',
        error: e.error ?? toErrorRecord(new Error('failed')),
        attempts: e.attempts,
        detail: e.detail,
        ...where,
      }
    : { status: 'completed', output: e.output, attempts: e.attempts, detail: e.detail, ...where };
}

/** A destructive action or a list change recorded instead of made (a dry-run detail, no attempt). */
export function isDryRunStep(e: JournalEntry): boolean {
  return (
    (e.kind === 'action' || e.kind === 'list-change') && e.status === 'completed' && e.attempts === 0 &&
    (e.detail?.startsWith('dry run') ?? false)
  );
}
