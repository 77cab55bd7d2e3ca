/**
 * Wires the human-in-the-loop layer: approvals, prompts, the policy gate, e-mail links and
 * notifications. Decisions and answers wake the runs waiting on them.
 */
import type { PolicyStore } from '../store/policy-store.js';
import { Sealer } from './seal.js';
import { ApprovalService } from './approvals.js';
import { PromptService } from './prompts.js';
import { KILL_SWITCH, KILL_SWITCH_WAIT, PolicyGate, type GateOptions } from './gate.js';
import { EmailLinks } from './email-links.js';
import { MailNotifier, type MailSettings } from './mail-notifier.js';
import type { KillSwitchState } from '../store/policy-records.js';

export interface HitlOptions {
  policy: PolicyStore;
  secretKey: Buffer;
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
  /** Whether a run parked on `waitingOn` must keep waiting (see EngineOptions.stillWaiting). */
  stillWaiting(waitingOn: string): Promise<boolean>;
}

export function createHitl(o: HitlOptions): Hitl {
  const now = o.now ?? Date.now;
  const sealer = new Sealer(o.secretKey);
  const wakeOn = async (waitingOn: string) => {
    await o.policy.wakeRunsWaitingOn(waitingOn);
    o.wake();
  };
  let notifier: MailNotifier | null = null;
  const approvals = new ApprovalService(o.policy, sealer, now, {
    requested: (a) => notifier?.approvalRequested(a),
    decided: (a) => wakeOn(`approval:${a.id}`),
  });
  const prompts = new PromptService(o.policy, now, {
    requested: (p) => notifier?.promptRequested(p),
    escalated: (p) => notifier?.promptRequested(p),
    answered: (p) => wakeOn(`prompt:${p.id}`),
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
    async stillWaiting(waitingOn) {
      const [kind, id] = waitingOn.split(/:(.*)/s) as [string, string | undefined];
      if (kind === 'approval' && id) return (await o.policy.getApproval(id))?.status === 'pending';
      if (kind === 'prompt' && id) return (await o.policy.getPrompt(id))?.status === 'pending';
      if (waitingOn === KILL_SWITCH_WAIT) return (await o.policy.getSetting<KillSwitchState>(KILL_SWITCH))?.engaged === true;
      return true;
    },
    async setKillSwitch(engaged, actor, reason) {
      const state: KillSwitchState = { engaged, by: actor, at: new Date(now()).toISOString(), reason };
      await o.policy.putSetting(KILL_SWITCH, state, actor, engaged ? 'kill_switch.engage' : 'kill_switch.release');
      if (!engaged) await wakeOn(KILL_SWITCH_WAIT);
      return state;
    },
  };
}
