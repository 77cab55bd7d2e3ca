/**
 * Seals make approvals tamper-evident: an HMAC (key derived from the server's secret key) over
 * everything that binds an approval — run, step, asset, action, parameter hash, quorum, requester,
 * expiry, status — and over each decision. A row edited directly in the database (say, status set
 * to "approved") no longer matches its seal, and the engine refuses to act on it.
 * The same key signs e-mail decision links. During an unfinished master key rotation the sealer
 * holds both keys: it seals with the new one and accepts seals made with either.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import type { ApprovalDecision, ApprovalRecord } from '../store/policy-records.js';

export class Sealer {
  private readonly keys: Buffer[];

  /** `secretKey`: the master key, or the key ring's keys with the current one first. */
  constructor(secretKey: Buffer | readonly Buffer[], purpose = 'riposte approvals v1') {
    const masters = Buffer.isBuffer(secretKey) ? [secretKey] : [...secretKey];
    if (masters.length === 0) throw new Error('Sealer: no key');
    this.keys = masters.map((k) => Buffer.from(hkdfSync('sha256', k, Buffer.alloc(0), purpose, 32)));
  }

  mac(value: unknown, key: Buffer = this.keys[0]!): string {
    return createHmac('sha256', key).update(canonicalJson(value)).digest('base64url');
  }

  verify(value: unknown, mac: string): boolean {
    const given = Buffer.from(mac);
    return this.keys.some((k) => {
      const expected = Buffer.from(this.mac(value, k));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  }

  decisionSeal(approval: Pick<ApprovalRecord, 'id' | 'paramsHash'>, d: Omit<ApprovalDecision, 'seal'>): string {
    return this.mac(this.decisionValue(approval, d));
  }

  /** Whether `seal` seals this decision (under any key of the ring). */
  decisionSealOk(approval: Pick<ApprovalRecord, 'id' | 'paramsHash'>, d: Omit<ApprovalDecision, 'seal'>, seal: string): boolean {
    return this.verify(this.decisionValue(approval, d), seal);
  }

  approvalSeal(a: Omit<ApprovalRecord, 'seal'>): string {
    return this.mac(this.approvalValue(a));
  }

  /** Whether `seal` seals this approval (under any key of the ring). */
  approvalSealOk(a: Omit<ApprovalRecord, 'seal'>, seal: string): boolean {
    return this.verify(this.approvalValue(a), seal);
  }

  private decisionValue(approval: Pick<ApprovalRecord, 'id' | 'paramsHash'>, d: Omit<ApprovalDecision, 'seal'>): unknown {
    return ['decision', approval.id, approval.paramsHash, d.user, d.decision, d.via, d.comment, d.at];
  }

  private approvalValue(a: Omit<ApprovalRecord, 'seal'>): unknown {
    const fields: unknown[] = [
      'approval', a.id, a.runId, a.seq, a.asset, a.app, a.action, a.paramsHash, a.approvers, a.quorum, a.fourEyes,
      a.requestedBy, a.expiresAt, a.status, a.decidedAt, a.decisions.map((d) => d.seal),
    ];
    // Appended only when there are any, so approvals sealed before exclusions existed still verify.
    if (a.excluded.length > 0) fields.push(a.excluded);
    return fields;
  }
}

/**
 * Master key rotation: the seals of `a` and of its decisions under the sealer's current key, or
 * null when a seal does not verify under any of its keys (a tampered record stays detectable).
 */
export function resealApproval(sealer: Sealer, a: ApprovalRecord): { seal: string; decisions: string[] } | null {
  const { seal, ...rest } = a;
  const decisions: ApprovalDecision[] = [];
  for (const d of a.decisions) {
    const { seal: ds, ...drest } = d;
    if (!sealer.decisionSealOk(a, drest, ds)) return null;
    decisions.push({ ...d, seal: sealer.decisionSeal(a, drest) });
  }
  if (!sealer.approvalSealOk(rest, seal)) return null;
  const next = sealer.approvalSeal({ ...rest, decisions });
  return { seal: next, decisions: decisions.map((d) => d.seal) };
}
