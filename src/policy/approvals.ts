/**
 * Approvals: requested for one action step of one run — bound to the run, the step, the asset,
 * the action and a hash of the parameters — decided by eligible users (quorum, four-eyes), sealed
 * with an HMAC, verified again by the engine right before the action is sent.
 */
import { randomUUID } from 'node:crypto';
import { hashJson } from '../common/canonical-json.js';
import type { PolicyStore } from '../store/policy-store.js';
import type { Sealer } from './seal.js';
import { PolicyError } from './errors.js';
import { eligible, userOf, type Actor } from './principal.js';
import type { ApprovalDecision, ApprovalRecord, Approvers, DecisionChannel, Exclusion } from '../store/policy-records.js';
import { exclusionOf } from './separation.js';

/** What the gate asks approval for: the binding and policy of an approval, plus how long it may wait. */
export type ApprovalRequest = Pick<ApprovalRecord, 'runId' | 'seq' | 'asset' | 'app' | 'action' | 'kind' | 'params' | 'reasons' | 'approvers' | 'quorum' | 'fourEyes' | 'requestedBy'> & {
  ttlMs: number;
  /** Who else may not approve (separation.ts); default nobody beyond `requestedBy`. */
  excluded?: Exclusion[];
};

/** Everything an approval binds: change any of it and the approval no longer matches. */
export function paramsHashOf(step: { asset: string; app: string; action: string; params: unknown }): string {
  return hashJson({ asset: step.asset, app: step.app, action: step.action, params: step.params ?? null });
}

export interface ApprovalEvents {
  /** A new request exists (send e-mails, chat messages…). */
  requested?(approval: ApprovalRecord): Promise<void> | void;
  /** A decision closed the request: the run waiting on it should resume. */
  decided?(approval: ApprovalRecord): Promise<void> | void;
}

export class ApprovalService {
  constructor(
    private readonly store: PolicyStore,
    private readonly sealer: Sealer,
    private readonly now: () => number,
    private readonly events: ApprovalEvents = {},
  ) {}

  /** Returns the step's approval, creating (and announcing) it on first ask — never a second one. */
  async ensure(req: ApprovalRequest): Promise<ApprovalRecord> {
    const existing = await this.store.getApprovalForStep(req.runId, req.seq);
    if (existing) return existing;
    const at = this.now();
    const base: Omit<ApprovalRecord, 'seal'> = {
      id: randomUUID(), runId: req.runId, seq: req.seq, asset: req.asset, app: req.app, action: req.action, kind: req.kind,
      params: req.params ?? null, paramsHash: paramsHashOf(req), reasons: req.reasons, approvers: req.approvers,
      quorum: Math.max(1, req.quorum), fourEyes: req.fourEyes, requestedBy: req.requestedBy,
      excluded: req.excluded ?? [],
      requestedAt: new Date(at).toISOString(), expiresAt: new Date(at + req.ttlMs).toISOString(),
      status: 'pending', decidedAt: null, decisions: [],
    };
    const { approval, created } = await this.store.createApproval({ ...base, seal: this.sealer.approvalSeal(base) });
    if (created) await this.events.requested?.(approval);
    return approval;
  }

  /** Why the record cannot be trusted (edited outside Riposte), or null. */
  integrityProblem(a: ApprovalRecord): string | null {
    const { seal, ...rest } = a;
    if (!this.sealer.approvalSealOk(rest, seal)) return `approval ${a.id} failed its integrity check (the record was changed outside Riposte)`;
    for (const d of a.decisions) {
      const { seal: ds, ...drest } = d;
      if (!this.sealer.decisionSealOk(a, drest, ds)) return `a decision on approval ${a.id} failed its integrity check`;
    }
    return null;
  }

  /** Why the approval is not for exactly this step, asset, action and parameters, or null. */
  bindingProblem(a: ApprovalRecord, step: { runId: string; seq: number; asset: string; app: string; action: string; params: unknown }): string | null {
    if (a.runId !== step.runId || a.seq !== step.seq) return `approval ${a.id} is for another step`;
    if (a.paramsHash !== paramsHashOf(step)) return `approval ${a.id} was given for other parameters or another asset/action: a changed parameter needs a new approval`;
    return null;
  }

  /**
   * Why this approval may not release this step, or null when it may: integrity of the row and of
   * every decision, the binding, status, four-eyes, quorum, and a decision made before expiry.
   */
  verify(a: ApprovalRecord, step: { runId: string; seq: number; asset: string; app: string; action: string; params: unknown }): string | null {
    const p = this.integrityProblem(a) ?? this.bindingProblem(a, step);
    if (p) return p;
    if (a.status !== 'approved') return `approval ${a.id} is ${a.status}`;
    const approvers = new Set(a.decisions.filter((d) => d.decision === 'approve').map((d) => d.user));
    const requester = userOf(a.requestedBy);
    // Unconditional, whatever the record's fourEyes flag says (records from before it was).
    if (requester !== null && approvers.has(requester)) return `approval ${a.id} was approved by whoever caused the run (four-eyes)`;
    for (const user of approvers) {
      const e = exclusionOf(a.excluded, user);
      if (e) return `approval ${a.id} was approved by ${user}, who ${e.why} (four-eyes)`;
    }
    if (approvers.size < a.quorum) return `approval ${a.id} has ${approvers.size} of ${a.quorum} required approvals`;
    if (a.decidedAt === null || Date.parse(a.decidedAt) > Date.parse(a.expiresAt)) return `approval ${a.id} was decided after it expired`;
    return null;
  }

  /** An eligible user approves or denies. Quorum reached → approved; any denial → denied. */
  async decide(id: string, actor: Actor & { disabled?: boolean }, decision: 'approve' | 'deny', via: DecisionChannel, comment: string | null = null): Promise<ApprovalRecord> {
    const a = await this.store.getApproval(id);
    if (!a) throw new PolicyError('not_found', `approval ${id} does not exist`);
    if (a.status !== 'pending') throw new PolicyError('not_pending', `approval ${id} is already ${a.status}`);
    const now = this.now();
    if (now > Date.parse(a.expiresAt)) {
      await this.expire(a);
      throw new PolicyError('expired', `approval ${id} expired at ${a.expiresAt}`);
    }
    if (actor.disabled) throw new PolicyError('not_eligible', `user ${actor.name} is disabled`);
    if (!eligible(a.approvers, actor)) {
      throw new PolicyError('not_eligible', `${actor.name} may not decide approval ${id}: approvers are ${describeApprovers(a.approvers)}`);
    }
    // Denying one's own request is always allowed: it only stops an action.
    if (decision === 'approve' && userOf(a.requestedBy) === actor.name) {
      throw new PolicyError('four_eyes', `${actor.name} caused this run (${a.requestedBy}) and cannot approve its actions (four-eyes)`);
    }
    const excluded = decision === 'approve' ? exclusionOf(a.excluded, actor.name) : undefined;
    if (excluded) {
      throw new PolicyError('four_eyes', `${actor.name} ${excluded.why} and cannot approve its actions (four-eyes)`);
    }
    if (a.decisions.some((d) => d.user === actor.name)) throw new PolicyError('already_decided', `${actor.name} already decided approval ${id}`);
    const at = new Date(now).toISOString();
    const d0 = { user: actor.name, decision, via, comment, at };
    const d: ApprovalDecision = { ...d0, seal: this.sealer.decisionSeal(a, d0) };
    const decisions = [...a.decisions, d];
    const approvals = new Set(decisions.filter((x) => x.decision === 'approve').map((x) => x.user)).size;
    const status = decision === 'deny' ? 'denied' : approvals >= a.quorum ? 'approved' : 'pending';
    const decidedAt = status === 'pending' ? null : at;
    const { seal: _old, ...rest } = a;
    const seal = this.sealer.approvalSeal({ ...rest, status, decidedAt, decisions });
    if (!(await this.store.recordDecision(id, d, { status, decidedAt, seal }, `user:${actor.name}`))) {
      throw new PolicyError('not_pending', `approval ${id} was decided concurrently; look again`);
    }
    const next = (await this.store.getApproval(id))!;
    if (next.status !== 'pending') await this.events.decided?.(next);
    return next;
  }

  /** Withdraws a pending approval whose step will never run (its run ended without it). */
  async cancel(a: ApprovalRecord, reason: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    const { seal: _old, ...rest } = a;
    const seal = this.sealer.approvalSeal({ ...rest, status: 'cancelled', decidedAt: at });
    await this.store.closeApproval(a.id, 'cancelled', at, seal, 'system', { reason });
  }

  /** Closes a pending approval that outlived its expiry. */
  async expire(a: ApprovalRecord): Promise<ApprovalRecord> {
    const at = new Date(this.now()).toISOString();
    const { seal: _old, ...rest } = a;
    const seal = this.sealer.approvalSeal({ ...rest, status: 'expired', decidedAt: at });
    await this.store.closeApproval(a.id, 'expired', at, seal, 'system', { expiresAt: a.expiresAt });
    const next = (await this.store.getApproval(a.id))!;
    await this.events.decided?.(next);
    return next;
  }
}

export function describeApprovers(a: Approvers): string {
  const parts = [...a.users.map((u) => `user ${u}`), ...a.roles.map((r) => `role ${r}`)];
  return parts.length > 0 ? parts.join(', ') : 'nobody (no approvers configured)';
}
