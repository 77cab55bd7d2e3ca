/** Where the audit stream goes: a SIEM receiver that acknowledges a batch as a whole. */
import type { AuditEntry } from '../../store/records.js';

export interface AuditSink {
  /** Names the cursor in the store: change it and the whole log is exported again. */
  readonly name: string;
  /** Resolves once the receiver has the batch; rejects (with no secret in the message) otherwise. */
  send(entries: readonly AuditEntry[]): Promise<void>;
}
