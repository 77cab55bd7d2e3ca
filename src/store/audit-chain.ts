/**
 * Pure helpers of the hash-chained audit log. Each entry's hash covers the previous entry's hash
 * and the entry's canonical JSON, so editing, removing or reordering any entry breaks the chain.
 */
import crypto from 'node:crypto';

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
  return hashEntryWithDetailJson(prevHash, entry, canonicalJson(entry.detail === undefined ? null : entry.detail));
}

/**
 * hashEntry for a detail whose canonical JSON is already at hand (the text the log stores), so
 * appending an entry serialises its detail once instead of three times. Same hash as hashEntry.
 */
export function hashEntryWithDetailJson(prevHash: string, entry: Omit<HashedFields, 'detail'>, detailJson: string): string {
  const { id, at, actor, action, target } = entry;
  // The canonical JSON of the whole entry is its keys in sorted order: written out directly.
  const body = typeof action === 'string' && typeof actor === 'string' && typeof at === 'string'
    && (target === null || typeof target === 'string') && Number.isSafeInteger(id)
    ? `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},"at":${JSON.stringify(at)},"detail":${detailJson},"id":${id},"target":${JSON.stringify(target)}}`
    : canonicalJson({ id, at, actor, action, target, detail: JSON.parse(detailJson) as unknown });
  // crypto.hash (Node >= 20.12) is the one-shot form of createHash, about twice as fast.
  return typeof crypto.hash === 'function'
    ? crypto.hash('sha256', prevHash + body, 'hex')
    : crypto.createHash('sha256').update(prevHash).update(body).digest('hex');
}
