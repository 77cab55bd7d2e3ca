/**
 * The hash-chained, append-only audit log table. With a keyring, new links are HMAC-SHA-256 under
 * its current key and record that key's id; without one (in-memory test stores) they are plain
 * SHA-256, as every entry was before migration 17.
 */
import type Database from 'better-sqlite3';
import type { AuditEntry, NewAuditEntry } from '../records.js';
import type { AuditHead, AuditVerification } from '../store.js';
import { GENESIS_HASH, canonicalJson, linkHash } from '../audit-chain.js';
import type { AuditKeyring } from '../audit-keyring.js';
import type { AuditCheckpoint } from '../audit-checkpoint.js';
import { clampLimit, nowIso } from './common.js';

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
  key_id: string | null;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target,
  detail: JSON.parse(r.detail) as unknown, prevHash: r.prev_hash, hash: r.hash, keyId: r.key_id,
});

export class AuditLog {
  private readonly last: Database.Statement<[], { id: number; hash: string }>;
  private readonly insert: Database.Statement<[number, string, string, string, string | null, string, string, string, string | null]> | null;
  /** For migrations older than 23, which append before key_id exists. */
  private readonly insertPlain: Database.Statement<[number, string, string, string, string | null, string, string, string]> | null;
  private readonly list: Database.Statement<[number, number], AuditRow>;
  private readonly all: Database.Statement<[], AuditRow>;
  private readonly headRow: Database.Statement<[], { id: number; hash: string; action: string }>;
  private readonly firstKeyed: Database.Statement<[], { id: number | null }>;
  private cursorGetStmt: Database.Statement<[string], { last_id: number }> | undefined;
  private cursorSetStmt: Database.Statement<[string, number, string]> | undefined;
  private readonly appendTx: Database.Transaction<(e: NewAuditEntry) => AuditEntry>;
  /** Once found it never changes (entries are never removed by the store). */
  private keyedFromCache: number | null = null;

  constructor(private readonly db: Database.Database, private readonly keys?: AuditKeyring) {
    this.last = db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
    // Migrations older than 23 (e.g. 7) append entries before key_id exists: plain links, as then.
    const keyed = (db.prepare('PRAGMA table_info(audit_log)').all() as { name: string }[]).some((c) => c.name === 'key_id');
    if (!keyed && keys) throw new Error('audit_log has no key_id column: migrate before appending keyed entries');
    this.insert = keyed
      ? db.prepare(`INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, hash, key_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      : null;
    this.insertPlain = keyed ? null : db.prepare(`INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.list = db.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?');
    this.all = db.prepare('SELECT * FROM audit_log ORDER BY id');
    this.headRow = db.prepare('SELECT id, hash, action FROM audit_log ORDER BY id DESC LIMIT 1');
    this.firstKeyed = db.prepare(keyed ? 'SELECT min(id) AS id FROM audit_log WHERE key_id IS NOT NULL' : 'SELECT NULL AS id');
    this.appendTx = db.transaction((e: NewAuditEntry) => this.appendInTx(e));
  }

  /**
   * Appends an entry. Must run inside a write transaction that is already holding the write lock
   * (the callers use `.immediate`), so the chain head read here cannot change before the insert.
   * Hot path (every ingested alert): the HMAC reuses the keyring's KeyObject (~1 µs more than SHA-256).
   */
  appendInTx(e: NewAuditEntry): AuditEntry {
    const head = this.last.get();
    const prevHash = head?.hash ?? GENESIS_HASH;
    // Store exactly what is hashed: the detail after a JSON round trip (drops undefined, Dates → strings).
    const detailText = canonicalJson(e.detail === undefined ? null : e.detail);
    const fields = { id: (head?.id ?? 0) + 1, at: nowIso(), actor: e.actor, action: e.action, target: e.target ?? null };
    const key = this.keys?.current();
    const hash = linkHash(prevHash, fields, detailText, key?.key);
    const keyId = key?.id ?? null;
    if (this.insert) this.insert.run(fields.id, fields.at, fields.actor, fields.action, fields.target, detailText, prevHash, hash, keyId);
    else this.insertPlain!.run(fields.id, fields.at, fields.actor, fields.action, fields.target, detailText, prevHash, hash);
    return { ...fields, detail: JSON.parse(detailText) as unknown, prevHash, hash, keyId };
  }

  append(e: NewAuditEntry): AuditEntry {
    return this.appendTx.immediate(e);
  }

  listEntries(query: { after?: number; limit?: number }): AuditEntry[] {
    return this.list.all(query.after ?? 0, clampLimit(query.limit, 100, 1000)).map(toEntry);
  }

  /** The newest entry (for checkpoints), or null when the log is empty. */
  head(): AuditHead | null {
    const row = this.headRow.get();
    if (!row) return null;
    this.keyedFromCache ??= this.firstKeyed.get()?.id ?? null;
    return { ...row, keyedFrom: this.keyedFromCache };
  }

  exportCursor(sink: string): number {
    this.cursorGetStmt ??= this.db.prepare('SELECT last_id FROM audit_export_cursors WHERE sink = ?');
    return this.cursorGetStmt.get(sink)?.last_id ?? 0;
  }

  setExportCursor(sink: string, lastId: number): void {
    this.cursorSetStmt ??= this.db.prepare(`INSERT INTO audit_export_cursors (sink, last_id, updated_at) VALUES (?, ?, ?)
      ON CONFLICT(sink) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at`);
    this.cursorSetStmt.run(sink, lastId, nowIso());
  }

  /**
   * Walks the whole log in id order, recomputing every link (keyed ones with the key they name),
   * and checks it against the given signed checkpoints (already checked by parseCheckpoints).
   */
  verify(checkpoints: readonly AuditCheckpoint[] = []): AuditVerification {
    const byId = new Map<number, AuditCheckpoint>();
    for (const c of checkpoints) byId.set(c.lastId, c);
    const newest = checkpoints.reduce<AuditCheckpoint | null>((a, c) => (a === null || c.lastId > a.lastId ? c : a), null);
    // The earliest point from which any checkpoint vouches that every link is keyed.
    const keyedSince = checkpoints.reduce<number | null>(
      (a, c) => (c.keyedFrom === null ? a : a === null ? c.keyedFrom : Math.min(a, c.keyedFrom)), null);
    let prevHash = GENESIS_HASH;
    let expectedId = 1;
    let entries = 0;
    let keyedFrom: number | null = null;
    const keyIds = new Set<string>();
    const summary = () => ({
      keyedFrom, keyIds: [...keyIds],
      checkpoints: { checked: checkpoints.length, lastId: newest?.lastId ?? null, at: newest?.at ?? null },
    });
    for (const row of this.all.iterate()) {
      entries++;
      const bad = (reason: string): AuditVerification => ({ ok: false, entries, firstBadId: row.id, reason, ...summary() });
      if (row.id !== expectedId) {
        return bad(row.id > expectedId ? `gap in ids (removed entries): expected #${expectedId}, found #${row.id}`
          : `entries out of order: expected #${expectedId}, found #${row.id}`);
      }
      if (row.prev_hash !== prevHash) return bad('broken link: prevHash does not match the previous entry (removed or reordered entries)');
      let detail: unknown;
      try {
        detail = JSON.parse(row.detail);
      } catch {
        return bad('hash mismatch: detail is not valid JSON');
      }
      const fields = { id: row.id, at: row.at, actor: row.actor, action: row.action, target: row.target };
      const detailJson = canonicalJson(detail === undefined ? null : detail);
      if (row.key_id === null) {
        if (keyedFrom !== null || (keyedSince !== null && row.id >= keyedSince)) {
          return bad(`downgraded link: entry #${row.id} has a plain SHA-256 link but the chain is keyed from ` +
            `#${keyedFrom ?? keyedSince} (re-hashed without the audit key?)`);
        }
        if (linkHash(prevHash, fields, detailJson) !== row.hash) return bad('hash mismatch: entry content was modified');
      } else {
        if (!this.keys) return bad(`entry #${row.id} is keyed ("${row.key_id}") but no audit keyring is loaded`);
        const key = this.keys.get(row.key_id);
        if (!key) return bad(`entry #${row.id} names audit key "${row.key_id}", which is not in the keyring (${this.keys.source})`);
        if (linkHash(prevHash, fields, detailJson, key.key) !== row.hash) {
          return bad(`hash mismatch (keyed, ${row.key_id}): entry content was modified, or the chain was re-hashed without the audit key`);
        }
        keyedFrom ??= row.id;
        keyIds.add(row.key_id);
      }
      const cp = byId.get(row.id);
      if (cp && cp.lastHash !== row.hash) {
        return bad(`does not match the checkpoint of ${cp.at}: the chain up to #${row.id} was rewritten since`);
      }
      prevHash = row.hash;
      expectedId++;
    }
    if (newest && entries < newest.lastId) {
      return {
        ok: false, entries, firstBadId: entries + 1, ...summary(),
        reason: `truncated: the chain ends at #${entries} but the checkpoint of ${newest.at} covers up to #${newest.lastId}`,
      };
    }
    return { ok: true, entries, ...summary() };
  }
}
