/**
 * What someone with write access to the database file can do to the audit log, done the way they
 * would: better-sqlite3 on the file directly (not through the store), append-only triggers dropped.
 */
import Database from 'better-sqlite3';
import { GENESIS_HASH, canonicalJson, linkHash } from '../../src/store/audit-chain.js';
import type { KeyObject } from 'node:crypto';

interface Row { id: number; at: string; actor: string; action: string; target: string | null; detail: string }

/** Opens the file, drops the triggers, runs `fn`, closes (the WAL is folded back into the file). */
export function tamper(dbPath: string, fn: (db: Database.Database) => void): void {
  const db = new Database(dbPath);
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete');
    fn(db);
  } finally {
    db.close();
  }
}

/**
 * Recomputes every link from entry `from` to `to`, as the store would: plain SHA-256 with key_id NULL
 * (an attacker without the key), or HMAC under `key` recorded as `keyId` (one with a wrong key).
 */
export function rehash(db: Database.Database, opts: { from?: number; to?: number; key?: { id: string; key: KeyObject } } = {}): void {
  const from = opts.from ?? 1;
  const to = opts.to ?? Number.MAX_SAFE_INTEGER;
  const rows = db.prepare('SELECT id, at, actor, action, target, detail, hash FROM audit_log ORDER BY id').all() as (Row & { hash: string })[];
  const update = db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ?, key_id = ? WHERE id = ?');
  let prev = GENESIS_HASH;
  for (const r of rows) {
    if (r.id < from || r.id > to) {
      // Past `to` only the link to the rewritten part is updated: the hash needs the key.
      if (r.id === to + 1) db.prepare('UPDATE audit_log SET prev_hash = ? WHERE id = ?').run(prev, r.id);
      prev = r.hash;
      continue;
    }
    const json = canonicalJson(JSON.parse(r.detail) as unknown);
    const hash = linkHash(prev, { id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target }, json, opts.key?.key);
    update.run(prev, hash, opts.key?.id ?? null, r.id);
    prev = hash;
  }
}
