/** The hash-chained, append-only audit log table. */
import type Database from 'better-sqlite3';
import type { AuditEntry, NewAuditEntry } from '../records.js';
import type { AuditVerification } from '../store.js';
import { GENESIS_HASH, canonicalJson, hashEntry, hashEntryWithDetailJson } from '../audit-chain.js';
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
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target,
  detail: JSON.parse(r.detail) as unknown, prevHash: r.prev_hash, hash: r.hash,
});

export class AuditLog {
  private readonly last: Database.Statement<[], { id: number; hash: string }>;
  private readonly insert: Database.Statement<[number, string, string, string, string | null, string, string, string]>;
  private readonly list: Database.Statement<[number, number], AuditRow>;
  private readonly all: Database.Statement<[], AuditRow>;
  private readonly appendTx: Database.Transaction<(e: NewAuditEntry) => AuditEntry>;

  constructor(db: Database.Database) {
    this.last = db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
    this.insert = db.prepare(`INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.list = db.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?');
    this.all = db.prepare('SELECT * FROM audit_log ORDER BY id');
    this.appendTx = db.transaction((e: NewAuditEntry) => this.appendInTx(e));
  }

  /**
   * Appends an entry. Must run inside a write transaction that is already holding the write lock
   * (the callers use `.immediate`), so the chain head read here cannot change before the insert.
   */
  appendInTx(e: NewAuditEntry): AuditEntry {
    const head = this.last.get();
    const prevHash = head?.hash ?? GENESIS_HASH;
    // Store exactly what is hashed: the detail after a JSON round trip (drops undefined, Dates → strings).
    const detailText = canonicalJson(e.detail === undefined ? null : e.detail);
    const fields = { id: (head?.id ?? 0) + 1, at: nowIso(), actor: e.actor, action: e.action, target: e.target ?? null };
    const hash = hashEntryWithDetailJson(prevHash, fields, detailText);
    this.insert.run(fields.id, fields.at, fields.actor, fields.action, fields.target, detailText, prevHash, hash);
    return { ...fields, detail: JSON.parse(detailText) as unknown, prevHash, hash };
  }

  append(e: NewAuditEntry): AuditEntry {
    return this.appendTx.immediate(e);
  }

  listEntries(query: { after?: number; limit?: number }): AuditEntry[] {
    return this.list.all(query.after ?? 0, clampLimit(query.limit, 100, 1000)).map(toEntry);
  }

  /** Walks the whole log in id order, recomputing every hash and link. */
  verify(): AuditVerification {
    let prevHash = GENESIS_HASH;
    let expectedId = 1;
    let entries = 0;
    for (const row of this.all.iterate()) {
      entries++;
      const bad = (reason: string): AuditVerification => ({ ok: false, entries, firstBadId: row.id, reason });
      if (row.id !== expectedId) return bad(`gap in ids: expected ${expectedId}, found ${row.id}`);
      if (row.prev_hash !== prevHash) return bad('broken link: prevHash does not match the previous entry');
      let detail: unknown;
      try {
        detail = JSON.parse(row.detail);
      } catch {
        return bad('hash mismatch: detail is not valid JSON');
      }
      const hash = hashEntry(prevHash, { id: row.id, at: row.at, actor: row.actor, action: row.action, target: row.target, detail });
      if (hash !== row.hash) return bad('hash mismatch: entry content was modified');
      prevHash = row.hash;
      expectedId++;
    }
    return { ok: true, entries };
  }
}
