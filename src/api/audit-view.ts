/**
 * The audit log as a caller without `audit.read-full` sees it (viewers, analysts): who did what,
 * when, to which object, without the personal data and free text an entry may carry.
 *
 * - `actor` and `target` are kept: accountability is what the log is for, and the same names are
 *   on runs and approvals a viewer may read anyway. E-mail addresses in them (a user named by
 *   address) become a pseudonym `email:<8 hex>`, stable so entries can still be correlated; it
 *   masks the address from casual reading but does not resist someone guessing a known address.
 * - `detail`: keys, numbers, booleans and nulls are kept; a string is kept only under a key known
 *   to hold an identifier (run, step, app, action, status…) and only when it looks like one (no
 *   spaces, no `@`). Everything else (e-mail addresses, user names, comments, reasons, answers,
 *   titles, list items, configuration) becomes "[redacted]".
 * - `prevHash`/`hash` are left out: with the detail known but for one masked value, the hash
 *   would confirm a guess of that value. `GET /audit/verify` still says whether the chain holds.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry } from '../store/records.js';

export const REDACTED = '[redacted]';

export type RedactedAuditEntry = Omit<AuditEntry, 'prevHash' | 'hash'> & { redacted: true };

// Keys whose string values are identifiers Riposte made or chose from a closed set.
const IDENTIFIER_KEYS = new Set([
  'approvalId', 'promptId', 'runId', 'noteId', 'incidentId', 'step', 'seq', 'asset', 'app', 'appId', 'action', 'kind',
  'paramsHash', 'status', 'priority', 'severity', 'role', 'roles', 'via', 'decision', 'playbook', 'playbookId',
  'playbookVersion', 'automation', 'source', 'commit', 'activeCommit', 'expiresAt', 'fireAt', 'migration', 'applied',
]);
const IDENTIFIER = /^[A-Za-z0-9._:/+=-]{1,200}$/;
const EMAIL = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[^\s@<>"'(),;:]+/g;

const pseudonym = (address: string) =>
  `email:${createHash('sha256').update(address.toLowerCase()).digest('hex').slice(0, 8)}`;

/** `text` with every e-mail address replaced by its pseudonym. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, pseudonym);
}

function redactValue(value: unknown, key: string | null): unknown {
  if (typeof value === 'string') {
    const identifier = key !== null && IDENTIFIER_KEYS.has(key) && IDENTIFIER.test(value) && !value.includes('@');
    return identifier ? value : REDACTED;
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]));
  }
  return value;
}

export function redactAuditEntry(e: AuditEntry): RedactedAuditEntry {
  return {
    id: e.id, at: e.at, actor: maskEmails(e.actor), action: e.action,
    target: e.target === null ? null : maskEmails(e.target), detail: redactValue(e.detail, null), redacted: true,
  };
}
