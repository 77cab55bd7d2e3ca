/**
 * Pure helpers of the hash-chained audit log. Each entry's hash covers the previous entry's hash
 * and the entry's canonical JSON, so editing, removing or reordering any entry breaks the chain.
 */
import { createHash } from 'node:crypto';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export interface HashedFields {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
}

/**
 * JSON with object keys sorted (recursively), so the same value always serialises to the same
 * text regardless of key insertion order. Follows JSON.stringify for everything else (toJSON,
 * undefined members dropped, undefined in arrays → null, non-finite numbers → null).
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

/** sha256 hex over prevHash followed by the canonical JSON of the entry's fields. */
export function hashEntry(prevHash: string, entry: HashedFields): string {
  const body = canonicalJson({
    id: entry.id,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    detail: entry.detail === undefined ? null : entry.detail,
  });
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}
