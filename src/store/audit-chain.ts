/**
 * Pure helpers of the hash-chained audit log. Each entry's hash covers the previous entry's hash
 * and the entry's canonical JSON, so editing, removing or reordering any entry breaks the chain.
 * Entries written since migration 17 are linked with HMAC-SHA-256 under an audit key kept outside
 * the database (audit-keyring.ts), so a rewritten chain cannot be re-hashed without that key;
 * older entries keep their plain SHA-256 links.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';

export { canonicalJson };

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

/** sha256 hex over prevHash followed by the canonical JSON of the entry's fields. */
export function hashEntry(prevHash: string, entry: HashedFields): string {
  return hashEntryWithDetailJson(prevHash, entry, canonicalJson(entry.detail === undefined ? null : entry.detail));
}

/**
 * hashEntry for a detail whose canonical JSON is already at hand (the text the log stores), so
 * appending an entry serialises its detail once instead of three times. Same hash as hashEntry.
 */
export function hashEntryWithDetailJson(prevHash: string, entry: Omit<HashedFields, 'detail'>, detailJson: string): string {
  return linkHash(prevHash, entry, detailJson);
}

/**
 * The link of an entry: HMAC-SHA-256 under `key` when given, else plain SHA-256 (entries from
 * before keying), over prevHash followed by the entry's canonical JSON.
 */
export function linkHash(prevHash: string, entry: Omit<HashedFields, 'detail'>, detailJson: string, key?: KeyObject): string {
  const body = entryBody(entry, detailJson);
  if (key !== undefined) return crypto.createHmac('sha256', key).update(prevHash).update(body).digest('hex');
  // crypto.hash (Node >= 20.12) is the one-shot form of createHash, about twice as fast.
  return typeof crypto.hash === 'function'
    ? crypto.hash('sha256', prevHash + body, 'hex')
    : crypto.createHash('sha256').update(prevHash).update(body).digest('hex');
}

function entryBody(entry: Omit<HashedFields, 'detail'>, detailJson: string): string {
  const { id, at, actor, action, target } = entry;
  // The canonical JSON of the whole entry is its keys in sorted order: written out directly.
  return typeof action === 'string' && typeof actor === 'string' && typeof at === 'string'
    && (target === null || typeof target === 'string') && Number.isSafeInteger(id)
    ? `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},"at":${JSON.stringify(at)},"detail":${detailJson},"id":${id},"target":${JSON.stringify(target)}}`
    : canonicalJson({ id, at, actor, action, target, detail: JSON.parse(detailJson) as unknown });
}
