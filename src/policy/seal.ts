/**
 * Seals make approvals tamper-evident: an HMAC (key derived from the server's secret key) over
 * everything that binds an approval — run, step, asset, action, parameter hash, quorum, requester,
 * expiry, status — and over each decision. A row edited directly in the database (say, status set
 * to "approved") no longer matches its seal, and the engine refuses to act on it.
 * The same key signs e-mail decision links.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import type { ApprovalDecision, ApprovalRecord } from '../store/policy-records.js';

export class Sealer {
  private readonly key: Buffer;

  constructor(secretKey: Buffer, purpose = 'riposte approvals v1') {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), purpose, 32));
  }

  mac(value: unknown): string {
    return createHmac('sha256', this.key).update(canonicalJson(value)).digest('base64url');
  }

  verify(value: unknown, mac: string): boolean {
    const expected = Buffer.from(this.mac(value));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  decisionSeal(approval: Pick<ApprovalRecord, 'id' | 'paramsHash'>, d: Omit<ApprovalDecision, 'seal'>): string {
    return this.mac(['decision', approval.id, approval.paramsHash, d.user, d.decision, d.via, d.comment, d.at]);
  }

  approvalSeal(a: Omit<ApprovalRecord, 'seal'>): string {
    const fields: unknown[] = [
      'approval', a.id, a.runId, a.seq, a.asset, a.app, a.action, a.paramsHash, a.approvers, a.quorum, a.fourEyes,
      a.requestedBy, a.expiresAt, a.status, a.decidedAt, a.decisions.map((d) => d.seal),
    ];
    // Appended only when there are any, so approvals sealed before exclusions existed still verify.
    if (a.excluded.length > 0) fields.push(a.excluded);
    return this.mac(fields);
  }
}
