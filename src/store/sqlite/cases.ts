/**
 * Cases: Riposte's built-in tickets (for teams without a ticketing system) and their comments.
 * Creation is find-or-create on the caller's dedupe key and commenting is idempotent per marker,
 * both inside one IMMEDIATE transaction, so a replayed playbook step never opens a second case
 * nor posts a second comment.
 */
import type Database from 'better-sqlite3';
import type { CaseCommentRecord, CaseDetail, CasePriority, CaseRecord, CaseStatus, NewCase } from '../records.js';
import type { CaseQuery } from '../store.js';
import type { AuditLog } from './audit.js';
import { NotFoundError, ValidationError, clampLimit, nowIso } from './common.js';

interface CaseRow {
  id: number; key: string; incident_id: number | null; title: string; description: string; priority: string; status: string;
  dedupe_key: string; labels: string; created_at: string; updated_at: string; resolved_at: string | null;
}
interface CommentRow { id: number; case_id: number; author: string; text: string; marker: string | null; created_at: string }

export const CASE_PRIORITIES: readonly CasePriority[] = ['low', 'medium', 'high', 'critical'];
export const CASE_STATUSES: readonly CaseStatus[] = ['open', 'in_progress', 'resolved', 'closed'];
const DONE: ReadonlySet<CaseStatus> = new Set(['resolved', 'closed']);

const toCase = (r: CaseRow): CaseRecord => ({
  id: r.id, key: r.key, incidentId: r.incident_id, title: r.title, description: r.description, priority: r.priority as CasePriority,
  status: r.status as CaseStatus, dedupeKey: r.dedupe_key, labels: JSON.parse(r.labels) as string[], createdAt: r.created_at,
  updatedAt: r.updated_at, resolvedAt: r.resolved_at,
});
const toComment = (r: CommentRow): CaseCommentRecord => ({
  id: r.id, caseId: r.case_id, author: r.author, text: r.text, marker: r.marker, createdAt: r.created_at,
});

/** `CASE-12`, `case-12` or `12` → 12; anything else → null. */
export function parseCaseRef(ref: number | string): number | null {
  if (typeof ref === 'number') return Number.isSafeInteger(ref) && ref > 0 ? ref : null;
  const m = /^(?:CASE-)?([1-9][0-9]{0,15})$/i.exec(ref.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

export const caseKey = (id: number): string => `CASE-${id}`;

function validateNewCase(c: NewCase): void {
  if (typeof c.dedupeKey !== 'string' || c.dedupeKey.trim() === '') throw new ValidationError('dedupeKey must be a non-empty string');
  if (typeof c.title !== 'string' || c.title.trim() === '') throw new ValidationError('title must be a non-empty string');
  if (typeof c.description !== 'string') throw new ValidationError('description must be a string');
  if (!CASE_PRIORITIES.includes(c.priority)) throw new ValidationError(`priority must be one of ${CASE_PRIORITIES.join(', ')}`);
  if (!Array.isArray(c.labels) || c.labels.some((l) => typeof l !== 'string')) throw new ValidationError('labels must be an array of strings');
  if (c.incidentId !== undefined && !(Number.isSafeInteger(c.incidentId) && c.incidentId > 0)) {
    throw new ValidationError('incidentId must be a positive integer');
  }
}

export class CaseRepo {
  private readonly s;
  private readonly listCache = new Map<string, Database.Statement<unknown[], CaseRow>>();
  private readonly createTx;
  private readonly commentTx;
  private readonly statusTx;

  constructor(private readonly db: Database.Database, private readonly audit: AuditLog) {
    this.s = {
      byId: db.prepare<[number], CaseRow>('SELECT * FROM cases WHERE id = ?'),
      byDedupe: db.prepare<[string], CaseRow>('SELECT * FROM cases WHERE dedupe_key = ?'),
      nextId: db.prepare<[], { id: number }>('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM cases'),
      incidentExists: db.prepare<[number], { id: number }>('SELECT id FROM incidents WHERE id = ?'),
      insert: db.prepare(`INSERT INTO cases (id, key, incident_id, title, description, priority, status, dedupe_key, labels,
        created_at, updated_at, resolved_at)
        VALUES (@id, @key, @incident_id, @title, @description, @priority, 'open', @dedupe_key, @labels, @now, @now, NULL)`),
      setStatus: db.prepare<[string, string | null, string, number]>('UPDATE cases SET status = ?, resolved_at = ?, updated_at = ? WHERE id = ?'),
      touch: db.prepare<[string, number]>('UPDATE cases SET updated_at = ? WHERE id = ?'),
      comments: db.prepare<[number], CommentRow>('SELECT * FROM case_comments WHERE case_id = ? ORDER BY id'),
      commentById: db.prepare<[number | bigint], CommentRow>('SELECT * FROM case_comments WHERE id = ?'),
      commentByMarker: db.prepare<[number, string], CommentRow>('SELECT * FROM case_comments WHERE case_id = ? AND marker = ?'),
      insertComment: db.prepare<[number, string, string, string | null, string]>(
        'INSERT INTO case_comments (case_id, author, text, marker, created_at) VALUES (?, ?, ?, ?, ?)'),
    };

    this.createTx = db.transaction((c: NewCase, actor: string): { case: CaseRecord; created: boolean } => {
      const existing = this.s.byDedupe.get(c.dedupeKey);
      if (existing) return { case: toCase(existing), created: false };
      if (c.incidentId !== undefined && !this.s.incidentExists.get(c.incidentId)) {
        throw new NotFoundError(`incident ${c.incidentId} does not exist`);
      }
      const id = this.s.nextId.get()!.id;
      const labels = [...new Set(c.labels)];
      this.s.insert.run({
        id, key: caseKey(id), incident_id: c.incidentId ?? null, title: c.title, description: c.description, priority: c.priority,
        dedupe_key: c.dedupeKey, labels: JSON.stringify(labels), now: nowIso(),
      });
      this.audit.appendInTx({
        actor, action: 'case.create', target: `case:${caseKey(id)}`,
        detail: { incidentId: c.incidentId ?? null, title: c.title, priority: c.priority, dedupeKey: c.dedupeKey, labels },
      });
      return { case: toCase(this.s.byId.get(id)!), created: true };
    });

    this.commentTx = db.transaction((c: { caseId: number; author: string; text: string; marker?: string }) => {
      if (!this.s.byId.get(c.caseId)) throw new NotFoundError(`case ${caseKey(c.caseId)} does not exist`);
      if (c.marker !== undefined) {
        const prior = this.s.commentByMarker.get(c.caseId, c.marker);
        if (prior) return { comment: toComment(prior), created: false };
      }
      const now = nowIso();
      const id = this.s.insertComment.run(c.caseId, c.author, c.text, c.marker ?? null, now).lastInsertRowid;
      this.s.touch.run(now, c.caseId);
      return { comment: toComment(this.s.commentById.get(id)!), created: true };
    });

    this.statusTx = db.transaction((id: number, status: CaseStatus, actor: string): CaseRecord => {
      const row = this.s.byId.get(id);
      if (!row) throw new NotFoundError(`case ${caseKey(id)} does not exist`);
      const from = row.status as CaseStatus;
      if (from === status) return toCase(row);
      const now = nowIso();
      // resolvedAt keeps the first resolution when a resolved case is closed; reopening clears it.
      const resolvedAt = DONE.has(status) ? (row.resolved_at ?? now) : null;
      this.s.setStatus.run(status, resolvedAt, now, id);
      this.audit.appendInTx({ actor, action: 'case.status', target: `case:${row.key}`, detail: { from, to: status } });
      return toCase(this.s.byId.get(id)!);
    });
  }

  create(c: NewCase, actor: string): { case: CaseRecord; created: boolean } {
    validateNewCase(c);
    return this.createTx.immediate(c, actor);
  }

  get(idOrKey: number | string): CaseDetail | null {
    const id = parseCaseRef(idOrKey);
    if (id === null) return null;
    const row = this.s.byId.get(id);
    if (!row) return null;
    return { ...toCase(row), comments: this.s.comments.all(id).map(toComment) };
  }

  list(q: CaseQuery): CaseRecord[] {
    if (q.status !== undefined && !CASE_STATUSES.includes(q.status)) throw new ValidationError(`status must be one of ${CASE_STATUSES.join(', ')}`);
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.status !== undefined) { where.push('status = ?'); params.push(q.status); }
    if (q.before !== undefined) { where.push('id < ?'); params.push(q.before); }
    const sql = `SELECT * FROM cases${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    let stmt = this.listCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<unknown[], CaseRow>(sql);
      this.listCache.set(sql, stmt);
    }
    return stmt.all(...params, clampLimit(q.limit, 50, 500)).map(toCase);
  }

  addComment(c: { caseId: number; author: string; text: string; marker?: string }): { comment: CaseCommentRecord; created: boolean } {
    if (typeof c.text !== 'string' || c.text.trim() === '') throw new ValidationError('comment text must be a non-empty string');
    if (typeof c.author !== 'string' || c.author === '') throw new ValidationError('comment author must be a non-empty string');
    if (c.marker !== undefined && (typeof c.marker !== 'string' || c.marker === '')) throw new ValidationError('comment marker must be a non-empty string');
    return this.commentTx.immediate(c);
  }

  updateStatus(id: number, status: CaseStatus, actor: string): CaseRecord {
    if (!CASE_STATUSES.includes(status)) throw new ValidationError(`status must be one of ${CASE_STATUSES.join(', ')}`);
    return this.statusTx.immediate(id, status, actor);
  }
}
