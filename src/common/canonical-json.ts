/**
 * Canonical JSON: object keys sorted (recursively), so equal values always serialise — and hash —
 * the same. Used for parameter hashes (approvals, replay checks), seals and the audit chain.
 *
 * Hand-written rather than a library because the audit chain's stored hashes are defined by this
 * exact text: it is JSON.stringify with sorted keys, which for JSON data equals RFC 8785 (JCS) key
 * order (UTF-16 code units) and number/string forms; a library change must never re-hash history.
 */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted. Follows JSON.stringify for everything else (toJSON, undefined
 * members dropped, undefined in arrays → null, non-finite numbers → null).
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
  // JSON.stringify(undefined) is undefined; treat a missing value as null.
  return text === undefined ? 'null' : text;
}

/** sha256 hex of the canonical JSON of a value (parameter hashes). */
export function hashJson(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
