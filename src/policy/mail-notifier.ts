/**
 * E-mails approvers when an approval is requested (with signed approve/deny links) and assignees
 * when a prompt is asked or escalated. SMTP comes from RIPOSTE_SMTP_URL (e.g. smtp://127.0.0.1:25);
 * without it nothing is sent and the requests wait in the API/CLI inbox.
 */
import nodemailer from 'nodemailer';
import type { PolicyStore } from '../store/policy-store.js';
import type { EmailLinks } from './email-links.js';
import { describeApprovers } from './approvals.js';
import { userOf } from './principal.js';
import { personOf } from './separation.js';
import type { ApprovalRecord, PromptRecord, UserAccount } from '../store/policy-records.js';

export interface MailSettings {
  smtpUrl: string;
  from: string;
  /** Base URL people reach Riposte at (links in e-mails). */
  publicUrl: string;
}

export class MailNotifier {
  private readonly transport;

  constructor(private readonly settings: MailSettings, private readonly policy: PolicyStore, private readonly links: EmailLinks, private readonly onError: (err: unknown) => void) {
    this.transport = nodemailer.createTransport(settings.smtpUrl);
  }

  private async recipients(users: string[], roles: string[], exclude: ReadonlyArray<string | null>): Promise<UserAccount[]> {
    const all = await this.policy.listUsers();
    return all.filter((u) => !u.disabled && u.email && !exclude.includes(u.name) && (users.includes(u.name) || u.roles.some((r) => roles.includes(r))));
  }

  async approvalRequested(a: ApprovalRecord): Promise<void> {
    try {
      // Whoever caused the run, or is excluded otherwise, is never asked (four-eyes).
      const exclude = [userOf(a.requestedBy), ...a.excluded.map((e) => personOf(e.principal))];
      for (const u of await this.recipients(a.approvers.users, a.approvers.roles, exclude)) {
        const approve = `${this.settings.publicUrl}/approvals/email/${await this.links.issue(a, u.name, 'approve')}`;
        const deny = `${this.settings.publicUrl}/approvals/email/${await this.links.issue(a, u.name, 'deny')}`;
        await this.transport.sendMail({
          from: this.settings.from, to: u.email!, subject: `[Riposte] Approval needed: ${a.action} on ${a.asset}`,
          text: [
            `Run ${a.runId}, step ${a.seq} asks to run the ${a.kind} action ${a.app}.${a.action} on asset "${a.asset}".`,
            `Parameters: ${JSON.stringify(a.params)}`,
            `Why approval is needed: ${a.reasons.join('; ')}`,
            `Approvers: ${describeApprovers(a.approvers)}; ${a.quorum} approval(s) needed.`,
            `This request expires at ${a.expiresAt}.`, '',
            `Approve: ${approve}`, `Deny:    ${deny}`, '',
            `Or with the CLI: riposte approvals approve ${a.id}`,
            'Each link works once, only for you, and only for exactly this action and these parameters.',
          ].join('\n'),
        });
      }
    } catch (err) {
      this.onError(err);
    }
  }

  async promptRequested(p: PromptRecord): Promise<void> {
    try {
      const to = await this.recipients(p.assigneeUser ? [p.assigneeUser] : [], p.assigneeRole ? [p.assigneeRole] : [],
        p.excluded.map((e) => personOf(e.principal)));
      for (const u of to) {
        await this.transport.sendMail({
          from: this.settings.from, to: u.email!, subject: `[Riposte] Question${p.escalatedAt ? ' (escalated)' : ''}: ${p.question.slice(0, 80)}`,
          text: `${p.question}\n\nAnswer type: ${p.answerType}${p.options ? ` (${p.options.join(', ')})` : ''}\nAnswer with: riposte prompts answer ${p.id} <answer>\nWithout an answer by ${p.expiresAt} the default applies: ${JSON.stringify(p.defaultAnswer)}`,
        });
      }
    } catch (err) {
      this.onError(err);
    }
  }
}
