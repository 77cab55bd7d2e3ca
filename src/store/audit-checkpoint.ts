/**
 * Signed checkpoints of the audit chain: {last id, last hash, count, keyed-from, at, key id, sig},
 * exported outside the database (a JSON-lines file, and the SIEM through the audit stream). A
 * later `audit verify` against them detects truncation (the chain ends before a checkpoint) and a
 * rewrite of anything up to a checkpoint (its hash no longer matches).
 *
 * Signed with HMAC-SHA-256 under the audit key, not Ed25519: the verifier is `riposte audit verify`,
 * which needs the audit key anyway to check the keyed links, so one secret is kept and rotated
 * instead of two. The cost: whoever can verify a checkpoint could also forge one; the SIEM's copy
 * is what an attacker on this host cannot rewrite. Pure functions; no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import type { AuditKey, AuditKeyring } from './audit-keyring.js';

export interface AuditCheckpoint {
  v: 1;
  /** The newest entry covered. */
  lastId: number;
  lastHash: string;
  /** Entries in the chain at the time (ids are 1..count, so equal to lastId). */
  count: number;
  /** First entry with a keyed link (null: none yet); an unkeyed entry after it is a downgrade. */
  keyedFrom: number | null;
  at: string;
  keyId: string;
  /** HMAC-SHA-256 (hex) of the canonical JSON of every other field, under key `keyId`. */
  sig: string;
}

export type CheckpointBody = Omit<AuditCheckpoint, 'v' | 'keyId' | 'sig'>;

// Domain separation: a chain link's input starts with a 64-hex prevHash, never with this prefix.
const PREFIX = 'riposte-audit-checkpoint-v1\n';

function mac(body: Omit<AuditCheckpoint, 'sig'>, key: AuditKey): string {
  return createHmac('sha256', key.key).update(PREFIX).update(canonicalJson(body)).digest('hex');
}

export function signCheckpoint(body: CheckpointBody, key: AuditKey): AuditCheckpoint {
  const unsigned = { v: 1 as const, ...body, keyId: key.id };
  return { ...unsigned, sig: mac(unsigned, key) };
}

/** Checks one parsed line; returns what is wrong, or null when it is a valid signed checkpoint. */
export function checkCheckpoint(raw: unknown, keys: AuditKeyring): string | null {
  const c = raw as Partial<AuditCheckpoint> | null;
  if (c === null || typeof c !== 'object' || c.v !== 1) return 'not a checkpoint (expected {"v":1,…})';
  if (!Number.isSafeInteger(c.lastId) || !Number.isSafeInteger(c.count) || typeof c.lastHash !== 'string'
    || typeof c.at !== 'string' || typeof c.keyId !== 'string' || typeof c.sig !== 'string'
    || !(c.keyedFrom === null || Number.isSafeInteger(c.keyedFrom))) return 'a field is missing or has the wrong type';
  const key = keys.get(c.keyId);
  if (!key) return `signed with audit key "${c.keyId}", which is not in the keyring (${keys.source})`;
  const { sig, ...unsigned } = c as AuditCheckpoint;
  const want = Buffer.from(mac(unsigned, key), 'hex');
  const got = Buffer.from(sig, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'bad signature (the checkpoint was altered or forged)';
  return null;
}

/**
 * Parses a checkpoint file (one JSON object a line). Any line that does not check out is an error:
 * a checkpoint file is evidence, and a forged line must not be skipped silently.
 */
export function parseCheckpoints(text: string, keys: AuditKeyring, origin: string): { checkpoints: AuditCheckpoint[]; errors: string[] } {
  const checkpoints: AuditCheckpoint[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      errors.push(`${origin} line ${i + 1}: not valid JSON`);
      return;
    }
    const problem = checkCheckpoint(raw, keys);
    if (problem) errors.push(`${origin} line ${i + 1}: ${problem}`);
    else checkpoints.push(raw as AuditCheckpoint);
  });
  return { checkpoints, errors };
}
