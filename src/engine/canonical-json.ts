/** Canonical JSON (object keys sorted) and hashes over it: equal values always hash the same. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../store/audit-chain.js';

export { canonicalJson };

/** sha256 hex of the canonical JSON of a value (used for parameter hashes). */
export function hashJson(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
