/**
 * Wires the human-in-the-loop layer: approvals, prompts, the policy gate, e-mail links and
 * notifications. Decisions and answers wake the runs waiting on them.
 */
import type { PolicyStore } from '../store/policy-store.js';
import { Sealer } from './seal.js';
import { ApprovalService } from './approvals.js';
import { PromptService } from './prompts.js';
import { KILL_SWITCH, PolicyGate, type GateOptions } from './gate.js';
import { formatWaitOn, type WaitOn } from '../common/wait-on.js';
import { EmailLinks } from './email-links.js';
import { MailNotifier, type MailSettings } from './mail-notifier.js';
import type { KillSwitchState } from '../store/policy-records.js';

export interface HitlOptions {
  policy: PolicyStore;
  /** The master key, or the store's key ring (`store.keyRing().keys()`, current key first). */
  secretKey: Buffer | readonly Buffer[];
  now?: () => number;
  /** Called when runs became due (the engine's wake). Late-bound: the engine is built after this. */
  wake: () => void;
  mail?: MailSettings;
  approvalTtlMs?: number;
  defaultApprovers?: GateOptions['defaultApprovers'];
  onError?: (err: unknown) => void;
}

export interface Hitl {
  policy: PolicyStore;
  sealer: Sealer;
  approvals: ApprovalService;
  prompts: PromptService;
  gate: PolicyGate;
  links: EmailLinks;
  setKillSwitch(engaged: boolean, actor: string, reason: string): Promise<KillSwitchState>;
  /** Withdraws what a step of a run waits on (a pending approval or prompt): the run ended without it. */
  cancelStep(runId: string, seq: number, reason: string): Promise<void>;
  /** Whether a run parked on `waitingOn` must keep waiting (see EngineOptions.stillWaiting). */
  stillWaiting(on: WaitOn): Promise<boolean>;
}

export function createHitl(o: HitlOptions): Hitl {
  const now = o.now ?? Date.now;
  const sealer = new Sealer(o.secretKey);
  const wakeOn = async (on: WaitOn) => {
    await o.policy.wakeRunsWaitingOn(formatWaitOn(on));
    o.wake();
  };
  let notifier: MailNotifier | null = null;
  const approvals = new ApprovalService(o.policy, sealer, now, {
    requested: (a) => notifier?.approvalRequested(a),
    decided: (a) => wakeOn({ kind: 'approval', id: a.id }),
  });
  const prompts = new PromptService(o.policy, now, {
    requested: (p) => notifier?.promptRequested(p),
    escalated: (p) => notifier?.promptRequested(p),
    answered: (p) => wakeOn({ kind: 'prompt', id: p.id }),
  });
  const links = new EmailLinks(o.policy, approvals, sealer, now);
  if (o.mail) notifier = new MailNotifier(o.mail, o.policy, links, o.onError ?? (() => {}));
  const gate = new PolicyGate(o.policy, approvals, {
    now,
    approvalTtlMs: o.approvalTtlMs ?? 4 * 60 * 60 * 1000,
    defaultApprovers: o.defaultApprovers ?? { users: [], roles: ['admin', 'analyst', 'soc-lead'] },
  });
  return {
    policy: o.policy, sealer, approvals, prompts, gate, links,
    async cancelStep(runId, seq, reason) {
      const a = await o.policy.getApprovalForStep(runId, seq);
      if (a?.status === 'pending') await approvals.cancel(a, reason);
      const p = await o.policy.getPromptForStep(runId, seq);
      if (p?.status === 'pending') await o.policy.closePrompt(p.id, 'cancelled', null, new Date(now()).toISOString());
    },
    async stillWaiting(on) {
      if (on.kind === 'approval') return (await o.policy.getApproval(on.id))?.status === 'pending';
      if (on.kind === 'prompt') return (await o.policy.getPrompt(on.id))?.status === 'pending';
      if (on.kind === 'kill-switch') return (await o.policy.getSetting<KillSwitchState>(KILL_SWITCH))?.engaged === true;
      return true;
    },
    async setKillSwitch(engaged, actor, reason) {
      const state: KillSwitchState = { engaged, by: actor, at: new Date(now()).toISOString(), reason };
      await o.policy.putSetting(KILL_SWITCH, state, actor, engaged ? 'kill_switch.engage' : 'kill_switch.release');
      if (!engaged) await wakeOn({ kind: 'kill-switch' });
      return state;
    },
  };
}
