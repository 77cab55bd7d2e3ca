/**
 * Signed, expiring, single-use approve/deny links for e-mail. A link names one approval, one
 * recipient, one decision and the approval's parameter hash, and is signed with the server key:
 * edit any part and the signature fails; use it twice and the nonce is spent; use it late and it
 * has expired. Opening the link shows a confirmation page; only the page's POST decides (mail
 * scanners that prefetch links change nothing).
 */
import { randomBytes } from 'node:crypto';
import type { PolicyStore } from '../store/policy-store.js';
import type { Sealer } from './seal.js';
import type { ApprovalService } from './approvals.js';
import { PolicyError } from './errors.js';
import { actorFor } from './principal.js';
import type { ApprovalRecord } from '../store/policy-records.js';

interface LinkPayload {
  a: string; // approval id
  u: string; // recipient user
  d: 'approve' | 'deny';
  h: string; // params hash
  e: number; // expiry, ms since epoch
  n: string; // nonce
}

export class EmailLinks {
  constructor(
    private readonly policy: PolicyStore,
    private readonly approvals: ApprovalService,
    private readonly sealer: Sealer,
    private readonly now: () => number,
  ) {}

  /** Issues a link token for one recipient and decision, expiring with the approval. */
  async issue(approval: ApprovalRecord, user: string, decision: 'approve' | 'deny'): Promise<string> {
    const p: LinkPayload = { a: approval.id, u: user, d: decision, h: approval.paramsHash, e: Date.parse(approval.expiresAt), n: randomBytes(16).toString('base64url') };
    await this.policy.createEmailLink({ nonce: p.n, approvalId: p.a, user, decision, expiresAt: approval.expiresAt });
    return `${Buffer.from(JSON.stringify(p)).toString('base64url')}.${this.sealer.mac(['email-link', p])}`;
  }

  /** Reads a token without using it (for the confirmation page). */
  async inspect(token: string): Promise<{ approval: ApprovalRecord; user: string; decision: 'approve' | 'deny' }> {
    const p = this.parse(token);
    const approval = await this.policy.getApproval(p.a);
    if (!approval || approval.paramsHash !== p.h) throw new PolicyError('invalid_link', 'This link is not valid.');
    return { approval, user: p.u, decision: p.d };
  }

  /** Uses the link: spends its nonce, then decides as its recipient through the normal rules. */
  async redeem(token: string): Promise<ApprovalRecord> {
    const { approval, user, decision } = await this.inspect(token);
    const p = this.parse(token);
    if (!(await this.policy.useEmailLink(p.n))) throw new PolicyError('link_used', 'This link has already been used. Each approval link works once.');
    const u = await this.policy.getUser(user);
    if (!u) throw new PolicyError('invalid_link', 'This link is not valid.');
    const actor = await actorFor(this.policy, user, '');
    return this.approvals.decide(approval.id, { ...actor, roles: actor.roles.filter((r) => r !== '') }, decision, 'email');
  }

  private parse(token: string): LinkPayload {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw new PolicyError('invalid_link', 'This link is not valid.');
    let p: LinkPayload;
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkPayload;
    } catch {
      throw new PolicyError('invalid_link', 'This link is not valid.');
    }
    if (!this.sealer.verify(['email-link', p], mac)) throw new PolicyError('invalid_link', 'This link is not valid (it was changed or forged).');
    if (this.now() > p.e) throw new PolicyError('link_expired', 'This link has expired.');
    return p;
  }
}
