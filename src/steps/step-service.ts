/**
 * The step service: the one place that decides whether an effect of a run happens, and makes it
 * happen. For an action step it resolves the target asset, passes the policy gate (kill switch →
 * dry run → approval), journals the intent, sends through the broker (retries, timeouts), and
 * reconciles or parks when the outcome is unknown. Prompts, list lookups, list changes
 * (list-change.ts), related-incident queries and child playbooks (child-playbook.ts) are steps
 * too. Input and output are plain data
 * (src/steps/protocol.ts).
 *
 * Failure semantics of an action step:
 *   - before the intent is committed, nothing has been sent: a crash leaves no trace and the
 *     replay asks again (a read-only lookup is never journaled before its outcome);
 *   - a changing action is sent only after its intent, its audit entry and every earlier write of
 *     the run committed; a crash after that point leaves a `started` entry whose outcome is unknown;
 *   - an unknown outcome (crash, timeout, lost reply) of an idempotent action is sent again; of a
 *     non-idempotent one it is reconciled with the vendor (applied → recorded, not applied → sent
 *     once more, cannot tell → parked), never re-sent blindly; without `reconcile` it is parked for
 *     an operator (`riposte runs resolve`).
 * The outcome itself is journaled by the replayer when it hands it to the playbook.
 */
import type { Store } from '../store/store.js';
import type { JournalEntry } from '../store/records.js';
import type { AutomationLevel } from '../common/domain.js';
import type { RunRecord } from '../store/records.js';
import { actionForAsset, type AnyActionDefinition } from '../sdk/app.js';
import { TerminalError, toErrorRecord, type ErrorRecord } from '../sdk/errors.js';
import type { Broker, ResolvedAsset } from '../broker/broker.js';
import type { PolicyGate } from '../policy/gate.js';
import type { PromptService } from '../policy/prompts.js';
import { dryRunOutput } from '../policy/dry-run.js';
import { ipInList } from '../store/ip-match.js';
import type { RunWrites } from './run-writes.js';
import type { StepOutcome, StepRequest } from './protocol.js';
import { performChildPlaybook, type PlaybookLookup } from './child-playbook.js';
import { performListChange } from './list-change.js';
import { waitDetail } from './wait-detail.js';
import { redactInput } from '../common/sensitive.js';

export { waitDetail };

/** What the host knows about the run a step belongs to. */
export interface RunScope {
  run: RunRecord;
  /** Role → asset name, from the playbook's settings. */
  bindings: Record<string, string>;
  /** Effective automation level of the playbook now (settings override the playbook's default). */
  automation: AutomationLevel;
  /** The playbook is configured to dry-run (the run's own flag is `run.dryRun`). */
  playbookDryRun: boolean;
  writes: RunWrites;
  /** The installed playbooks, for child playbook steps (`ctx.playbook`); absent = none can start. */
  playbooks?: PlaybookLookup;
  /** Look for due runs soon: a child run was created. */
  wake?: () => void;
}

export interface StepServiceOptions {
  /** Policy for non-read-only actions (approvals, kill switch, dry run); absent = allow all. */
  gate?: PolicyGate;
  prompts?: PromptService;
  /** Withdraws what a parked step waits on (its pending approval or prompt): its run ended without it. */
  release?: (runId: string, seq: number, reason: string) => Promise<void>;
  now?: () => number;
}

type ActionRequest = Extract<StepRequest, { kind: 'action' }>;

/** How often an action whose outcome stayed unknown may be reconciled and re-sent. */
const MAX_RECONCILE_ROUNDS = 2;

/** The step service's own writes: nothing waits for them until the run's next durability point. */
const LAZY = { lazy: true } as const;

/** The outcome field naming an action's sensitive inputs, when it has any. */
const sensitiveOf = (def: AnyActionDefinition): { sensitive?: readonly string[] } =>
  def.sensitiveInput && def.sensitiveInput.length > 0 ? { sensitive: def.sensitiveInput } : {};

export class StepService {
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly broker: Broker,
    private readonly opts: StepServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Performs one step. Never rejects: a failure is an outcome. */
  async perform(scope: RunScope, req: StepRequest): Promise<StepOutcome> {
    try {
      switch (req.kind) {
        case 'action':
          return await this.action(scope, req);
        case 'prompt':
          return await this.prompt(scope, req);
        case 'playbook':
          return await performChildPlaybook(this.store, scope, req, this.now);
        case 'list': {
          const items = await this.store.getListItems(req.input.list);
          if (items === null) return failed(`custom list "${req.input.list}" does not exist`);
          return { status: 'completed', output: ipInList(req.input.value, items) };
        }
        case 'list-change':
          return await performListChange(this.store, this.opts.gate, scope, req, this.now);
        case 'related':
          return {
            status: 'completed',
            output: await this.store.countRelated({ ...req.input, excludeIncidentId: scope.run.incidentId }),
          };
      }
    } catch (err) {
      // A bug or a store failure, not a vendor's answer. Before an intent nothing was sent.
      return { status: 'failed', error: toErrorRecord(err) };
    }
  }

  // ── actions ──────────────────────────────────────────────────────────────────────────────

  private async action(scope: RunScope, req: ActionRequest): Promise<StepOutcome> {
    if (req.intent) {
      const why = 'the process stopped before the outcome was recorded';
      return this.resolveUnknown(
        scope,
        req,
        req.intent.asset,
        req.intent.attempts,
        why,
        0,
        new Date(req.intent.startedAt),
      );
    }
    const t = await this.target(scope, req);
    if ('problem' in t) return failed(t.problem);
    const { asset, def } = t;
    const where = { asset: asset.name, app: asset.app.id, ...sensitiveOf(def) };
    // What is kept and shown of the input: its sensitive fields as a marker (common/sensitive.ts).
    const shown = redactInput(req.input, def.sensitiveInput);
    let detail: string | null = null;
    if (!def.readOnly && this.opts.gate) {
      const g = await this.opts.gate.check({
        run: scope.run,
        seq: req.seq,
        asset: asset.name,
        app: asset.app.id,
        action: req.action,
        kind: def.kind,
        params: shown,
        automation: scope.automation,
        playbookDryRun: scope.playbookDryRun,
      });
      switch (g.kind) {
        case 'wait':
          return { status: 'waiting', on: g.on, wakeAt: g.wakeAt, detail: waitDetail(g.on), ...where };
        case 'attention':
          return { status: 'attention', reason: `step ${req.seq} ${req.name}: ${g.reason}` };
        case 'deny':
          return { ...failed(g.message, 'ApprovalDenied'), ...where };
        case 'dry-run': {
          const output = dryRunOutput(asset.app.implements ?? [], req.action, shown);
          return { status: 'completed', output, detail: g.detail, attempts: 0, dryRun: true, ...where };
        }
        case 'allow':
          detail = g.detail;
      }
    }
    if (def.readOnly) return this.send(scope, req, asset, def, { attempts: 0, detail, round: 0, changing: false });
    // The intent: committed (with the audit entry and every earlier write of the run) before the send.
    scope.writes.add(this.store.putJournal(this.intent(scope, { ...req, input: shown }, asset, detail), LAZY));
    return this.send(scope, req, asset, def, { attempts: 0, detail, round: 0, changing: true });
  }

  /** The asset the step goes to and its action, or why the step cannot target it. */
  private async target(
    scope: RunScope,
    req: ActionRequest,
  ): Promise<{ asset: ResolvedAsset; def: AnyActionDefinition } | { problem: string }> {
    const t = req.target;
    const label = 'role' in t ? t.role : t.asset;
    const assetName =
      'role' in t ? (Object.hasOwn(scope.bindings, t.role) ? scope.bindings[t.role] : undefined) : t.asset;
    const playbook = scope.run.playbookId;
    if (assetName === undefined) {
      return {
        problem: `role "${label}" of playbook ${playbook} is not bound to an asset (riposte playbooks bind ${playbook} ${label}=<asset>)`,
      };
    }
    let asset: ResolvedAsset;
    try {
      asset = await this.broker.resolveAsset(assetName);
    } catch (err) {
      return { problem: toErrorRecord(err).message };
    }
    const app = asset.app;
    if ('appId' in t && app.id !== t.appId)
      return { problem: `asset "${assetName}" belongs to app ${app.id}, not ${t.appId}` };
    if ('capability' in t && !(app.implements ?? []).includes(t.capability as never)) {
      return {
        problem: `role "${label}" is bound to asset "${assetName}" of app ${app.id}, which does not implement the ${t.capability} capability`,
      };
    }
    // Per asset: an asset may declare an action read-only (see `readOnlyFor`).
    const def = actionForAsset(app, req.action, asset.config);
    if (!def) return { problem: `app of asset "${assetName}" has no action "${req.action}"` };
    return { asset, def };
  }

  private intent(scope: RunScope, req: ActionRequest, asset: ResolvedAsset, detail: string | null): JournalEntry {
    return {
      runId: scope.run.id,
      seq: req.seq,
      kind: 'action',
      name: req.name,
      asset: asset.name,
      app: asset.app.id,
      action: req.action,
      status: 'started',
      input: req.input,
      output: null,
      error: null,
      attempts: 0,
      startedAt: new Date(this.now()).toISOString(),
      finishedAt: null,
      wakeAt: null,
      detail,
      resolution: null,
    };
  }

  /** Sends the step; `changing` = an intent is journaled, and the send waits until it committed. */
  private async send(
    scope: RunScope,
    req: ActionRequest,
    asset: ResolvedAsset,
    def: AnyActionDefinition,
    s: { attempts: number; detail: string | null; round: number; changing: boolean },
  ): Promise<StepOutcome> {
    const where = { asset: asset.name, app: asset.app.id, ...sensitiveOf(def) };
    const call = { runId: scope.run.id, seq: req.seq, asset: asset.name, action: req.action, input: req.input };
    let out;
    try {
      out = await this.broker.invoke({ asset, def }, call, s.changing ? { before: scope.writes.durable() } : {});
    } catch (err) {
      return {
        status: 'attention',
        reason: `step ${req.seq}: a journal write of this run failed, so nothing more was sent: ${toErrorRecord(err).message}`,
      };
    }
    scope.writes.add(out.recorded);
    const attempts = s.attempts + out.attempts;
    const journaled = s.changing;
    if (out.kind === 'succeeded')
      return { status: 'completed', output: out.output, attempts, detail: s.detail, journaled, ...where };
    if (out.kind === 'failed' || !s.changing)
      return { status: 'failed', error: out.error, attempts, detail: s.detail, journaled, ...where };
    scope.writes.add(
      this.store.updateJournal(scope.run.id, req.seq, { status: 'started', error: out.error, attempts }, LAZY),
    );
    return this.resolveUnknown(scope, req, asset.name, attempts, out.error.message, s.round, null);
  }

  /** An attempt may or may not have reached the vendor: never re-send a non-idempotent action blindly. */
  private async resolveUnknown(
    scope: RunScope,
    req: ActionRequest,
    assetName: string | null,
    attempts: number,
    why: string,
    round: number,
    intentAt: Date | null,
  ): Promise<StepOutcome> {
    const seq = req.seq;
    let asset: ResolvedAsset;
    let def: AnyActionDefinition;
    try {
      if (assetName === null) throw new Error('the intent names no asset');
      ({ asset, def } = await this.broker.describe(assetName, req.action));
    } catch (err) {
      return this.attention(
        scope,
        req,
        assetName,
        `${why}; and its asset cannot be loaded: ${toErrorRecord(err).message}`,
      );
    }
    const where = { asset: asset.name, app: asset.app.id, ...sensitiveOf(def) };
    const note = (detail: string) =>
      scope.writes.add(this.store.updateJournal(scope.run.id, seq, { status: 'started', detail }, LAZY));
    const changing = !def.readOnly;
    // Sending again is sending: the kill switch, a dry run switched on meanwhile and the approval
    // are checked again first.
    const resend = async (detail: string, nextRound: number): Promise<StepOutcome> => {
      const refused = await this.recheck(scope, req, asset, def, why);
      // A held re-send says on its (intent) entry what it waits for: the run's timeline shows it.
      if (refused?.status === 'waiting') note(`outcome unknown (${why}); it is sent again once released: ${refused.detail}`);
      if (refused) return refused;
      note(detail);
      return this.send(scope, req, asset, def, { attempts, detail, round: nextRound, changing });
    };
    if (def.idempotent)
      return resend(`outcome unknown (${why}); the action is idempotent, so it was sent again`, round);
    if (def.reconcile && round < MAX_RECONCILE_ROUNDS) {
      const call = { runId: scope.run.id, seq, asset: asset.name, action: req.action, input: req.input };
      const r = await this.broker.reconcile({ asset, def }, call, intentAt ?? new Date(this.now()));
      if (r.applied === true) {
        const detail = `outcome was unknown (${why}); reconciled with the vendor: the action had been applied, so it was not sent again`;
        return { status: 'completed', output: r.output, attempts, detail, journaled: true, ...where };
      }
      if (r.applied === false)
        return resend(
          `outcome was unknown (${why}); reconciled with the vendor: not applied, so it was sent once more`,
          round + 1,
        );
      return this.attention(scope, req, asset.name, `${why}; reconcile could not tell: ${r.reason}`);
    }
    return this.attention(
      scope,
      req,
      asset.name,
      round >= MAX_RECONCILE_ROUNDS
        ? `${why}; still unknown after ${round} reconcile rounds`
        : `${why}; the action is not idempotent and has no reconcile`,
    );
  }

  /** Why the policy now stops a re-send (an outcome that holds the intent), or null when it may go. */
  private async recheck(
    scope: RunScope,
    req: ActionRequest,
    asset: ResolvedAsset,
    def: AnyActionDefinition,
    why: string,
  ): Promise<StepOutcome | null> {
    if (def.readOnly || !this.opts.gate) return null;
    const g = await this.opts.gate.check({
      run: scope.run,
      seq: req.seq,
      asset: asset.name,
      app: asset.app.id,
      action: req.action,
      kind: def.kind,
      params: redactInput(req.input, def.sensitiveInput),
      automation: scope.automation,
      playbookDryRun: scope.playbookDryRun,
    });
    switch (g.kind) {
      case 'allow':
        return null;
      case 'wait':
        return {
          status: 'waiting',
          on: g.on,
          wakeAt: g.wakeAt,
          detail: waitDetail(g.on),
          journaled: true,
          asset: asset.name,
          app: asset.app.id,
        };
      case 'attention':
        return this.attention(scope, req, asset.name, `${why}; ${g.reason}`);
      case 'deny':
        return this.attention(scope, req, asset.name, `${why}; sending it again is refused: ${g.message}`);
      case 'dry-run':
        return this.attention(
          scope,
          req,
          asset.name,
          `${why}; the playbook is now in dry run, so it is not sent again`,
        );
    }
  }

  private attention(scope: RunScope, req: ActionRequest, assetName: string | null, why: string): StepOutcome {
    const reason =
      `step ${req.seq} ${req.name} on asset "${assetName ?? '?'}": outcome unknown (${why}). It was NOT sent again. ` +
      `Check at the vendor, then resolve the step with \`riposte runs resolve ${scope.run.id} ${req.seq} --applied|--not-applied\`.`;
    scope.writes.add(this.store.updateJournal(scope.run.id, req.seq, { status: 'started', detail: reason }, LAZY));
    return { status: 'attention', reason };
  }

  /** The run ended while these steps were parked: withdraw what they wait on, journal them as abandoned. */
  async abandon(scope: RunScope, seqs: number[]): Promise<void> {
    const reason = 'the run finished while this step waited; it was not performed';
    for (const seq of seqs) {
      await this.opts.release?.(scope.run.id, seq, reason);
      const error = { name: 'Abandoned', message: reason, retryable: false, applied: 'no' as const };
      scope.writes.add(
        this.store.updateJournal(
          scope.run.id,
          seq,
          {
            status: 'abandoned',
            error,
            detail: reason,
            finishedAt: new Date(this.now()).toISOString(),
          },
          LAZY,
        ),
      );
    }
  }

  // ── prompts ──────────────────────────────────────────────────────────────────────────────

  private async prompt(scope: RunScope, req: Extract<StepRequest, { kind: 'prompt' }>): Promise<StepOutcome> {
    if (!this.opts.prompts) return failed('prompts are not available in this engine');
    const state = await this.opts.prompts.step(scope.run, req.seq, req.input);
    if (state.kind === 'wait')
      return { status: 'waiting', on: state.on, wakeAt: state.wakeAt, detail: waitDetail(state.on) };
    return {
      status: 'completed',
      output: { answer: state.answer, answeredBy: state.answeredBy, timedOut: state.timedOut },
      detail: state.timedOut
        ? 'no answer before the timeout: the default answer was taken'
        : `answered by ${state.answeredBy}`,
    };
  }
}

function failed(message: string, errorName?: string): { status: 'failed'; error: ErrorRecord } {
  const error = toErrorRecord(new TerminalError(message));
  if (errorName !== undefined) error.name = errorName;
  return { status: 'failed', error };
}
