/**
 * The gate every non-read-only action step — and every change a playbook makes to a custom list —
 * passes before its intent is journaled (and so before anything is sent or changed): kill switch
 * → dry run → does it need approval (automation level, asset policy, blast radius)? → is there a
 * valid approval for exactly this step and these parameters?
 */
import type { ActionKind } from '../sdk/app.js';
import type { AutomationLevel } from '../common/domain.js';
import type { WaitOn } from '../common/wait-on.js';
import type { RunRecord } from '../store/records.js';
import type { PolicyStore } from '../store/policy-store.js';
import { describeApprovers, type ApprovalService } from './approvals.js';
import { exclusionsFor } from './separation.js';
import type { Approvers, BlastRadiusRule, KillSwitchState } from '../store/policy-records.js';

export const KILL_SWITCH = 'kill_switch';
export const BLAST_RADIUS = 'blast_radius';

export interface StepUnderGate {
  run: RunRecord;
  seq: number;
  asset: string;
  app: string;
  action: string;
  /** The action's kind (a list change is `generic`): which automation levels ask for approval. */
  kind: ActionKind;
  params: unknown;
  automation: AutomationLevel;
  /** The playbook is configured to dry-run (the run's own flag is on `run.dryRun`). */
  playbookDryRun: boolean;
}

export type GateDecision =
  | { kind: 'allow'; detail: string | null }
  | { kind: 'dry-run'; detail: string }
  | { kind: 'wait'; on: WaitOn; wakeAt: number | null }
  | { kind: 'deny'; message: string }
  | { kind: 'attention'; reason: string };

export interface GateOptions {
  now: () => number;
  /** Approvers when the asset names none: these roles may approve automation-level requests. */
  defaultApprovers: Approvers;
  approvalTtlMs: number;
}

export class PolicyGate {
  constructor(
    private readonly policy: PolicyStore,
    private readonly approvals: ApprovalService,
    private readonly opts: GateOptions,
  ) {}

  async check(step: StepUnderGate): Promise<GateDecision> {
    const kill = await this.policy.getSetting<KillSwitchState>(KILL_SWITCH);
    if (kill?.engaged) return { kind: 'wait', on: { kind: 'kill-switch' }, wakeAt: null };
    if (step.run.dryRun || step.playbookDryRun) {
      return { kind: 'dry-run', detail: `dry run: ${step.kind} action ${step.app}.${step.action} on asset "${step.asset}" would have run with these parameters; nothing was sent` };
    }

    const reasons: string[] = [];
    if (step.automation === 'manual') reasons.push('automation level manual: every non-read-only action needs approval');
    if (step.automation === 'supervised' && (step.kind === 'contain' || step.kind === 'correct')) {
      reasons.push(`automation level supervised: ${step.kind} actions need approval`);
    }
    const assetPolicy = await this.policy.getAssetPolicy(step.asset);
    if (assetPolicy?.requireApproval) reasons.push(`asset "${step.asset}" requires approval by ${describeApprovers(assetPolicy.approvers)} (quorum ${assetPolicy.quorum})`);
    const rules = (await this.policy.getSetting<BlastRadiusRule[]>(BLAST_RADIUS)) ?? [];
    for (const r of rules) {
      if (r.action !== step.action || (r.app && r.app !== step.app) || (r.asset && r.asset !== step.asset)) continue;
      const since = new Date(this.opts.now() - r.windowMs).toISOString();
      const n = await this.policy.countActionExecutions({
        action: r.action, since, exclude: { runId: step.run.id, seq: step.seq }, ...(r.app ? { app: r.app } : {}), ...(r.asset ? { asset: r.asset } : {}),
      });
      if (n >= r.max) reasons.push(`blast radius: ${n} ${r.action} already in the last ${Math.round(r.windowMs / 60_000)} min (limit ${r.max} without approval)`);
    }
    if (reasons.length === 0) return { kind: 'allow', detail: null };

    const approvers = assetPolicy?.requireApproval ? assetPolicy.approvers : this.opts.defaultApprovers;
    const existing = await this.policy.getApprovalForStep(step.run.id, step.seq);
    // Who else may not approve is fixed when the approval is first requested.
    const excluded = existing ? existing.excluded : await exclusionsFor(this.policy, step.run, { includeCause: false });
    const approval = await this.approvals.ensure({
      runId: step.run.id, seq: step.seq, asset: step.asset, app: step.app, action: step.action, kind: step.kind, params: step.params,
      // Four-eyes always: whoever caused the run never approves its destructive actions.
      reasons, approvers, quorum: assetPolicy?.requireApproval ? assetPolicy.quorum : 1, fourEyes: true,
      requestedBy: step.run.requestedBy ?? 'system', excluded, ttlMs: assetPolicy?.approvalTtlMs ?? this.opts.approvalTtlMs,
    });
    const stepRef = { runId: step.run.id, seq: step.seq, asset: step.asset, app: step.app, action: step.action, params: step.params };
    switch (approval.status) {
      case 'pending': {
        const problem = this.approvals.integrityProblem(approval) ?? this.approvals.bindingProblem(approval, stepRef);
        if (problem) return { kind: 'attention', reason: `${problem}; the action was NOT sent` };
        if (this.opts.now() > Date.parse(approval.expiresAt)) {
          await this.approvals.expire(approval);
          return { kind: 'deny', message: `approval ${approval.id} expired at ${approval.expiresAt} without a decision` };
        }
        return { kind: 'wait', on: { kind: 'approval', id: approval.id }, wakeAt: Date.parse(approval.expiresAt) };
      }
      case 'approved': {
        const problem = this.approvals.verify(approval, stepRef);
        if (problem) return { kind: 'attention', reason: `${problem}; the action was NOT sent` };
        const who = approval.decisions.filter((d) => d.decision === 'approve').map((d) => `${d.user} (${d.via})`).join(', ');
        return { kind: 'allow', detail: `approved by ${who} — approval ${approval.id}` };
      }
      case 'denied': {
        const d = approval.decisions.find((x) => x.decision === 'deny');
        return { kind: 'deny', message: `approval ${approval.id} denied by ${d?.user ?? 'unknown'}${d?.comment ? `: ${d.comment}` : ''}` };
      }
      default:
        return { kind: 'deny', message: `approval ${approval.id} ${approval.status}; the action was not run` };
    }
  }
}
