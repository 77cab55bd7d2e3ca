/**
 * Find-before-create for RT tickets. RT has no idempotency keys, so the dedupe key is written
 * where TicketSQL can find it: a `[riposte:<key>]` tag in the Subject (default) or a custom field.
 * TicketSQL LIKE is a case-insensitive substring match in which `%` and `_` are wildcards, so
 * every hit is re-checked exactly before it counts. RT's search reads the database directly
 * (no index lag); creates for the same key are still serialized within this process so two
 * concurrent calls cannot both miss and both create.
 */
import { createHash } from 'node:crypto';
import { sqlString, type RtClient, type RtRef } from './client.js';
import { keyedSerializer } from '../keyed-serializer.js';

export const SUBJECT_TAG = 'subject-tag';
/** Tickets.Subject is varchar(200), and RT cuts values to 200 BYTES of UTF-8. */
const SUBJECT_MAX_BYTES = 200;
/** Longest key (in UTF-8 bytes) written verbatim; longer (or unsafe) keys are replaced by a hash. */
const TAG_MAX_BYTES = 100;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The key as written to RT: itself when short and free of brackets/newlines, else a hash of it. */
export function dedupeTag(dedupeKey: string): string {
  if (bytes(dedupeKey) <= TAG_MAX_BYTES && /^[^\s[\]](?:[^[\]\r\n]*[^\s[\]])?$/.test(dedupeKey)) return dedupeKey;
  return `sha256:${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 32)}`;
}

export function marker(tag: string): string {
  return `[riposte:${tag}]`;
}

/** `s` cut (by whole code points, with an ellipsis) to at most `max` UTF-8 bytes. */
function fitBytes(s: string, max: number): string {
  if (bytes(s) <= max) return s;
  const chars = Array.from(s).slice(0, max);
  while (chars.length > 0 && bytes(`${chars.join('').trimEnd()}…`) > max) chars.pop();
  return chars.length === 0 ? '' : `${chars.join('').trimEnd()}…`;
}

/**
 * One-line subject within RT's limit: `<summary> [riposte:<tag>]` when a tag is given, the
 * summary (never the tag) cut when too long.
 */
export function ticketSubject(summary: string, tag?: string): string {
  const oneLine = summary.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  if (tag === undefined) return fitBytes(oneLine, SUBJECT_MAX_BYTES);
  const m = marker(tag);
  const s = fitBytes(oneLine, SUBJECT_MAX_BYTES - bytes(m) - 1);
  return s === '' ? m : `${s} ${m}`;
}

interface Hit extends RtRef {
  Subject?: string;
  CustomFields?: Array<{ name?: string; values?: unknown[] }>;
}

/**
 * Tickets already carrying the tag, lowest id first (the oldest wins if another process raced
 * us). Searches all queues and statuses: a ticket moved or resolved by an analyst still counts.
 */
export async function findTagged(c: RtClient, field: string, tag: string): Promise<string[]> {
  const subjectMode = field === SUBJECT_TAG;
  const query = subjectMode ? `Subject LIKE ${sqlString(marker(tag))}` : `CF.{${field}} = ${sqlString(tag)}`;
  const fields = subjectMode ? 'Subject' : 'CustomFields';
  const { items } = await c.collect<Hit>(`/tickets?query=${encodeURIComponent(query)}`, {
    perPage: 100, limit: 500, params: { fields, orderby: 'id', order: 'ASC' },
  });
  const exact = items.filter((t) => subjectMode
    ? (t.Subject ?? '').includes(marker(tag))
    : (t.CustomFields ?? []).some((cf) => cf.name === field && (cf.values ?? []).includes(tag)));
  return exact.map((t) => String(t.id)).sort((a, b) => Number(a) - Number(b));
}


export const serialized = keyedSerializer();
