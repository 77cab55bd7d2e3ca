/**
 * Which master keys may open this database, and the re-encryption of every stored secret under a
 * new key (`riposte secrets rotate-key`).
 *
 * Failure semantics: a rotation is recorded before any secret changes (the new key id as `next`,
 * audited) — and its caller has written the new key durably before that. Each secret is then
 * re-encrypted in a transaction of its own, so a crash leaves every row whole, under the old key or
 * the new one (each blob names its key id). A rerun with the same new key skips the rows already
 * done and finishes the rest; meanwhile the store reads rows under either key and writes under the
 * new one. The last transaction retires the old key id and makes the new one current: from then on
 * a store opened with the old key is refused, and nothing in the database can be decrypted with it.
 */
import type Database from 'better-sqlite3';
import { KeyRing, SecretKeyError, blobKeyId, keyIdOf } from '../secrets.js';
import type { AuditLog } from './audit.js';
import { nowIso } from './common.js';
import { aadFor } from './assets.js';
import { credentialsAad, webhookAad } from './repos.js';
import type { ApprovalRecord } from '../policy-records.js';
import type { ApprovalSeals } from './policy.js';

type KeyStatus = 'current' | 'next' | 'retired';
interface KeyRow { key_id: string; status: KeyStatus; created_at: string; changed_at: string }

/** One column that holds encrypted secrets, and the associated data each of its blobs is bound to. */
interface SecretColumn { label: string; table: string; column: string; key: string; aad: (k: string) => string }
const COLUMNS: readonly SecretColumn[] = [
  { label: 'assets', table: 'assets', column: 'secrets', key: 'name', aad: aadFor },
  { label: 'repoCredentials', table: 'playbook_repos', column: 'url_credentials', key: 'name', aad: credentialsAad },
  { label: 'repoWebhookSecrets', table: 'playbook_repos', column: 'webhook_secret', key: 'name', aad: webhookAad },
];

export interface KeyStatusView {
  currentKeyId: string | null;
  /** The key an unfinished rotation moves to, or null. */
  nextKeyId: string | null;
  retiredKeyIds: string[];
  /** Secrets per key id, e.g. `{ "3f…": 4 }`: during a rotation, what is left to re-encrypt. */
  secretsByKey: Record<string, number>;
}

export interface RotationHooks {
  /** Called after each committed row (tests stop a rotation here to prove it resumes). */
  afterRow?: (done: number) => void;
  /**
   * New seals for an approval under the new key (policy/seal.ts resealApproval), or null to leave
   * it (a record that fails its integrity check stays failing: a rotation never launders tampering).
   */
  reseal?: (a: ApprovalRecord) => ApprovalSeals | null;
}

export interface RotationResult {
  fromKeyId: string;
  toKeyId: string;
  resumed: boolean;
  reencrypted: Record<string, number>;
}

const rows = (db: Database.Database): KeyRow[] => db.prepare('SELECT * FROM secret_keys').all() as KeyRow[];

/**
 * The key ring this database accepts from the loaded keys (`next` = an unfinished rotation's new key
 * file, if any). The first open records the key as current. Refuses, naming key ids only: a retired
 * key, a key this database does not know, and an unfinished rotation whose new key is not loaded.
 */
export function resolveKeyRing(db: Database.Database, current: Buffer, next: Buffer | null): KeyRing {
  const known = rows(db);
  const loaded = new Map<string, Buffer>([[keyIdOf(current), current]]);
  if (next) loaded.set(keyIdOf(next), next);
  const cur = known.find((r) => r.status === 'current');
  const nxt = known.find((r) => r.status === 'next');
  if (!cur) {
    const now = nowIso();
    db.prepare("INSERT INTO secret_keys (key_id, status, created_at, changed_at) VALUES (?, 'current', ?, ?)")
      .run(keyIdOf(current), now, now);
    return new KeyRing(current);
  }
  const retired = known.find((r) => r.status === 'retired' && r.key_id === keyIdOf(current));
  if (nxt) {
    const to = loaded.get(nxt.key_id);
    const from = loaded.get(cur.key_id);
    if (!to || !from) {
      throw new SecretKeyError(
        `a master key rotation from key ${cur.key_id} to key ${nxt.key_id} is unfinished and key ` +
          `${!to ? nxt.key_id : cur.key_id} is not loaded: finish it with \`riposte secrets rotate-key\``);
    }
    return new KeyRing(to, [from]);
  }
  const key = loaded.get(cur.key_id);
  if (!key) {
    if (retired) {
      throw new SecretKeyError(
        `master key ${retired.key_id} was retired by a key rotation (${retired.changed_at}); use the current key ${cur.key_id}`);
    }
    throw new SecretKeyError(
      `the master key (id ${keyIdOf(current)}) is not this database's key (id ${cur.key_id}): check the key source`);
  }
  return new KeyRing(key);
}

export function keyStatus(db: Database.Database): KeyStatusView {
  const known = rows(db);
  const secretsByKey: Record<string, number> = {};
  for (const c of COLUMNS) {
    for (const r of db.prepare(`SELECT ${c.column} AS blob FROM ${c.table} WHERE ${c.column} IS NOT NULL`).all() as Array<{ blob: string }>) {
      const id = blobKeyId(r.blob) ?? 'v1 (no key id)';
      secretsByKey[id] = (secretsByKey[id] ?? 0) + 1;
    }
  }
  return {
    currentKeyId: known.find((r) => r.status === 'current')?.key_id ?? null,
    nextKeyId: known.find((r) => r.status === 'next')?.key_id ?? null,
    retiredKeyIds: known.filter((r) => r.status === 'retired').map((r) => r.key_id),
    secretsByKey,
  };
}

/**
 * Re-encrypts every secret from `oldKey` to `newKey` (see the failure semantics above). `oldKey` must
 * be the database's current key; `newKey` the `next` one of an unfinished rotation, or a fresh one.
 */
export function rotateSecrets(
  db: Database.Database, audit: AuditLog, oldKey: Buffer, newKey: Buffer, actor: string, hooks: RotationHooks = {},
  resealApprovals?: (reseal: NonNullable<RotationHooks['reseal']>, afterRow: () => void) => number,
): RotationResult {
  const fromKeyId = keyIdOf(oldKey);
  const toKeyId = keyIdOf(newKey);
  if (fromKeyId === toKeyId) throw new SecretKeyError('the new master key is the current one: a rotation needs a different key');
  const begin = db.transaction((): boolean => {
    const known = rows(db);
    const cur = known.find((r) => r.status === 'current');
    const nxt = known.find((r) => r.status === 'next');
    if (cur?.key_id !== fromKeyId) {
      throw new SecretKeyError(`the loaded master key (id ${fromKeyId}) is not this database's current key (id ${cur?.key_id ?? 'none'})`);
    }
    if (nxt && nxt.key_id !== toKeyId) {
      throw new SecretKeyError(
        `an unfinished rotation moves to key ${nxt.key_id}, not to the given new key ${toKeyId}: finish it with that key`);
    }
    if (known.some((r) => r.key_id === toKeyId && r.status === 'retired')) {
      throw new SecretKeyError(`key ${toKeyId} was retired by an earlier rotation: a retired key is never used again`);
    }
    if (nxt) {
      audit.appendInTx({ actor, action: 'secrets.rotation.resume', target: 'secrets:master-key', detail: { fromKeyId, toKeyId } });
      return true;
    }
    const now = nowIso();
    db.prepare("INSERT INTO secret_keys (key_id, status, created_at, changed_at) VALUES (?, 'next', ?, ?)").run(toKeyId, now, now);
    audit.appendInTx({ actor, action: 'secrets.rotation.start', target: 'secrets:master-key', detail: { fromKeyId, toKeyId } });
    return false;
  });
  const resumed = begin.immediate();

  const ring = new KeyRing(newKey, [oldKey]);
  const reencrypted: Record<string, number> = {};
  let done = 0;
  for (const c of COLUMNS) {
    reencrypted[c.label] = 0;
    const keys = db.prepare(`SELECT ${c.key} AS k FROM ${c.table} WHERE ${c.column} IS NOT NULL ORDER BY ${c.key}`).pluck().all() as string[];
    const read = db.prepare(`SELECT ${c.column} FROM ${c.table} WHERE ${c.key} = ?`).pluck();
    const write = db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE ${c.key} = ?`);
    const one = db.transaction((k: string): boolean => {
      const blob = read.get(k) as string | null | undefined;
      if (blob === null || blob === undefined || blobKeyId(blob) === toKeyId) return false;
      write.run(ring.encrypt(ring.decrypt(blob, c.aad(k)), c.aad(k)), k);
      return true;
    });
    for (const k of keys) {
      if (!one.immediate(k)) continue;
      reencrypted[c.label]! += 1;
      hooks.afterRow?.(++done);
    }
  }

  if (hooks.reseal && resealApprovals) {
    reencrypted['approvalSeals'] = resealApprovals(hooks.reseal, () => hooks.afterRow?.(++done));
  }

  const finish = db.transaction(() => {
    const now = nowIso();
    db.prepare("UPDATE secret_keys SET status = 'retired', changed_at = ? WHERE key_id = ?").run(now, fromKeyId);
    db.prepare("UPDATE secret_keys SET status = 'current', changed_at = ? WHERE key_id = ?").run(now, toKeyId);
    // Counts of this run only (a resumed rotation's earlier rows were counted by the start that did them).
    audit.appendInTx({
      actor, action: 'secrets.rotation.finish', target: 'secrets:master-key', detail: { fromKeyId, toKeyId, resumed, reencrypted },
    });
  });
  finish.immediate();
  return { fromKeyId, toKeyId, resumed, reencrypted };
}
