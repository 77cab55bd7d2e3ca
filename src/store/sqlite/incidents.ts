/** Incidents, their artifacts and notes; ingestion with dedupe; related-incident counting. */
import type Database from 'better-sqlite3';
import type { IncidentStatus, Severity } from '../../common/domain.js';
import type { ArtifactView, IncidentView } from '../../sdk/playbook.js';
import type { ArtifactRecord, IncidentDetail, IncidentRecord, NewIncident, NoteRecord, RunRecord } from '../records.js';
import type {
  IncidentQuery, IngestResult, IngestRun, NewRun, NotTriggered, RelatedIncidentQuery, TriggerSubject,
} from '../store.js';
import type { AuditLog } from './audit.js';
import { ConflictError, NotFoundError, ValidationError, clampLimit, nowIso } from './common.js';
import type { ListRepo } from './lists.js';
import type { RunRepo } from './runs.js';
import { IncidentSearch } from './search.js';
import { RERUNNABLE, notRerunnable } from '../rerun.js';

interface IncidentRow {
  id: number; name: string; label: string; severity: string; status: string; description: string | null;
  owner: string | null; source: string; source_id: string | null; repeat_count: number; tags: string;
  created_at: string; updated_at: string; last_seen_at: string; closed_at: string | null;
}
interface ArtifactRow {
  id: number; incident_id: number; name: string; label: string | null; cef: string; contains: string;
  untrusted: string; source_id: string | null; created_at: string;
}
interface NoteRow { id: number; incident_id: number; run_id: string | null; author: string; text: string; created_at: string }

const toIncident = (r: IncidentRow): IncidentRecord => ({
  id: r.id, name: r.name, label: r.label, severity: r.severity as Severity, status: r.status as IncidentStatus,
  description: r.description, owner: r.owner, source: r.source, sourceId: r.source_id, repeatCount: r.repeat_count,
  tags: JSON.parse(r.tags) as string[], createdAt: r.created_at, updatedAt: r.updated_at, lastSeenAt: r.last_seen_at,
  closedAt: r.closed_at,
});
const toArtifact = (r: ArtifactRow): ArtifactRecord => ({
  id: r.id, incidentId: r.incident_id, name: r.name, label: r.label, cef: JSON.parse(r.cef) as Record<string, string>,
  contains: JSON.parse(r.contains) as Record<string, string[]>,
  untrusted: JSON.parse(r.untrusted) as Record<string, string>, sourceId: r.source_id, createdAt: r.created_at,
});
const toNote = (r: NoteRow): NoteRecord => ({
  id: r.id, incidentId: r.incident_id, runId: r.run_id, author: r.author, text: r.text, createdAt: r.created_at,
});

/** `cef` without the untrusted fields (the same object when there are none). */
function trustedCef(
  cef: Record<string, string>, untrusted: Record<string, string> | undefined,
): Record<string, string> {
  if (untrusted === undefined || Object.keys(untrusted).length === 0) return cef;
  return Object.fromEntries(Object.entries(cef).filter(([k]) => !Object.hasOwn(untrusted, k)));
}

/**
 * An artifact as a run sees it: a field whose value failed validation is not in `cef` or
 * `contains` (so `cefValue` never returns it as that type) but in `untrusted`, raw value and why.
 */
function artifactView(a: ArtifactRecord): ArtifactView {
  const view = { id: a.id, name: a.name, ...(a.label !== null ? { label: a.label } : {}) };
  const bad = Object.keys(a.untrusted);
  if (bad.length === 0) return { ...view, cef: a.cef, contains: a.contains };
  const contains = Object.fromEntries(Object.entries(a.contains).filter(([k]) => !Object.hasOwn(a.untrusted, k)));
  const untrusted = Object.fromEntries(bad.filter((k) => a.cef[k] !== undefined)
    .map((k) => [k, { value: a.cef[k]!, reason: a.untrusted[k]!, types: a.contains[k] ?? [] }]));
  return { ...view, cef: trustedCef(a.cef, a.untrusted), contains, untrusted };
}

const CLOSED_STATUSES: ReadonlySet<string> = new Set(['closed', 'resolved']);
/** One statement writes the field rows of a typical artifact (founding scenario: 7–9 fields). */
const FIELDS_PER_STATEMENT = 16;

export class IncidentRepo {
  private readonly s;
  private readonly listCache = new Map<string, Database.Statement>();
  /** INSERT of n artifact_fields rows at index n (prepared when first needed). */
  private readonly insertFieldsStmts: Database.Statement[] = [];
  private readonly search: IncidentSearch;
  private readonly ingestTx;
  private readonly updateTx;
  private readonly addNoteTx;
  private readonly relatedTx;
  private readonly createRunTx;
  private readonly rerunTx;

  constructor(
    private readonly db: Database.Database, private readonly audit: AuditLog, private readonly runs: RunRepo,
    private readonly lists: ListRepo,
  ) {
    this.search = new IncidentSearch(db);
    this.s = {
      byId: db.prepare<[number], IncidentRow>('SELECT * FROM incidents WHERE id = ?'),
      bySource: db.prepare<[string, string], IncidentRow>('SELECT * FROM incidents WHERE source = ? AND source_id = ?'),
      bumpRepeat: db.prepare<[string, number]>('UPDATE incidents SET repeat_count = repeat_count + 1, last_seen_at = ? WHERE id = ?'),
      insert: db.prepare<[string, string, string, string | null, string | null, string, string | null, string, string, string, string]>(
        `INSERT INTO incidents (name, label, severity, status, description, owner, source, source_id,
        repeat_count, tags, created_at, updated_at, last_seen_at, closed_at)
        VALUES (?, ?, ?, 'new', ?, ?, ?, ?, 0, ?, ?, ?, ?, NULL)`),
      insertArtifact: db.prepare<
        [number, string, string | null, string, string, string, string | null, string, string]>(
        `INSERT INTO artifacts (incident_id, name, label, cef, contains, untrusted, source_id, cef_text, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      artifacts: db.prepare<[number], ArtifactRow>('SELECT * FROM artifacts WHERE incident_id = ? ORDER BY id'),
      update: db.prepare(`UPDATE incidents SET status = @status, severity = @severity, owner = @owner,
        closed_at = @closed_at, updated_at = @updated_at WHERE id = @id`),
      related: db.prepare<[string, string, number, string, string, string | null, string | null], { incident_id: number }>(
        `SELECT DISTINCT f.incident_id FROM artifact_fields f JOIN incidents i ON i.id = f.incident_id
         WHERE f.field = ? AND f.value = ? AND i.id <> ? AND i.created_at >= ? AND i.created_at < ?
           AND (? IS NULL OR i.label = ?)`),
      insertNote: db.prepare<[number, string | null, string, string, string]>(
        'INSERT INTO notes (incident_id, run_id, author, text, created_at) VALUES (?, ?, ?, ?, ?)'),
      noteById: db.prepare<[number | bigint], NoteRow>('SELECT * FROM notes WHERE id = ?'),
      notes: db.prepare<[number], NoteRow>('SELECT * FROM notes WHERE incident_id = ? ORDER BY id'),
      addEditor: db.prepare<[number, string, string]>(
        'INSERT OR IGNORE INTO incident_editors (incident_id, principal, first_at) VALUES (?, ?, ?)'),
    };
    this.ingestTx = db.transaction(
      (inc: NewIncident, runs: IngestRun[], actor: string) => this.ingestInTx(inc, runs, actor));
    this.updateTx = db.transaction((id: number, patch: IncidentPatch, actor: string) => this.updateInTx(id, patch, actor));
    this.addNoteTx = db.transaction((n: NewNote) => this.addNoteInTx(n));
    this.relatedTx = db.transaction((q: RelatedIncidentQuery) => this.relatedInTx(q));
    this.createRunTx = db.transaction((incidentId: number, run: NewRun, actor: string) => {
      const row = this.s.byId.get(incidentId);
      if (!row) throw new NotFoundError(`incident ${incidentId} not found`);
      const created = this.runs.insertInTx(incidentId, run, (run.input as IncidentView | undefined) ?? this.viewOf(toIncident(row)));
      this.audit.appendInTx({ actor, action: 'run.create', target: `run:${run.id}`,
        detail: { incidentId, playbookId: run.playbookId, playbookVersion: run.playbookVersion, ...(run.input !== undefined ? { inputGiven: true } : {}) } });
      return created;
    });
    this.rerunTx = db.transaction((originalId: string, run: NewRun, actor: string) => {
      const original = this.runs.get(originalId);
      if (!original) throw new NotFoundError(`run ${originalId} does not exist`);
      // Checked again here, under the write lock: the run may have been woken since the caller looked.
      if (!RERUNNABLE.has(original.status)) throw new ConflictError(notRerunnable(original));
      if (run.playbookId !== original.playbookId) {
        const which = `playbook ${original.playbookId}, not ${run.playbookId}`;
        throw new ValidationError(`a re-run of run ${originalId} runs ${which}`);
      }
      // Whoever caused the original caused this one too: four-eyes refuses them as well.
      const causes = [...(original.requestedBy !== null ? [original.requestedBy] : []), ...original.alsoCausedBy];
      const again: NewRun = { ...run, rerunOf: original.id, alsoCausedBy: [...(run.alsoCausedBy ?? []), ...causes] };
      if (original.args !== null) again.args = original.args;
      else delete again.args;
      // The original's input, not the incident as it is now: a re-run repeats what the run saw.
      const created = this.runs.insertInTx(original.incidentId, again, original.input as IncidentView);
      this.audit.appendInTx({ actor, action: 'run.rerun', target: `run:${run.id}`, detail: {
        rerunOf: original.id, incidentId: original.incidentId, playbookId: run.playbookId,
        playbookVersion: run.playbookVersion, dryRun: created.dryRun,
      } });
      return created;
    });
  }

  /**
   * A new run repeating `originalId` (finished: completed, failed or cancelled): same incident,
   * same input snapshot and args, `rerunOf` set; `run` brings the id, the playbook's current code
   * identity, the cause and dry-run flag. ConflictError when the original has not finished.
   */
  rerun(originalId: string, run: NewRun, actor: string): RunRecord {
    return this.rerunTx.immediate(originalId, run, actor);
  }

  /** A run on an existing incident; its input is a snapshot of the incident as it is now (or `run.input`). */
  createRun(incidentId: number, run: NewRun, actor: string): RunRecord {
    return this.createRunTx.immediate(incidentId, run, actor);
  }

  ingest(incident: NewIncident, runs: IngestRun[], actor: string): IngestResult {
    validateNewIncident(incident);
    // IMMEDIATE: the dedupe check and the insert happen under one write lock, across processes.
    return this.ingestTx.immediate(incident, runs, actor);
  }

  /** `ingest` inside the caller's transaction (a schedule's fire); the caller validated `inc`. */
  ingestInTx(inc: NewIncident, candidates: IngestRun[], actor: string): IngestResult {
    const now = nowIso();
    const sourceId = inc.sourceId ?? null;
    // Looked up first rather than INSERT … ON CONFLICT DO NOTHING, which would use up an incident id
    // (AUTOINCREMENT) on every repeated delivery.
    if (sourceId !== null) {
      const existing = this.s.bySource.get(inc.source, sourceId);
      if (existing) {
        this.s.bumpRepeat.run(now, existing.id);
        const updated = toIncident(this.s.byId.get(existing.id)!);
        this.audit.appendInTx({ actor, action: 'incident.repeat', target: `incident:${existing.id}`,
          detail: { source: inc.source, sourceId, repeatCount: updated.repeatCount } });
        return { incident: updated, created: false, runs: [], notTriggered: [] };
      }
    }
    const tags = JSON.stringify(inc.tags ?? []);
    const info = this.s.insert.run(inc.name, inc.label, inc.severity, inc.description ?? null, inc.owner ?? null, inc.source, sourceId, tags, now, now, now);
    const id = Number(info.lastInsertRowid);
    for (const a of inc.artifacts) {
      const cef: Record<string, string> = a.cef ?? {};
      const fields: Array<[string, string]> = [];
      for (const [field, value] of Object.entries(cef)) if (value !== undefined && value !== null) fields.push([field, String(value)]);
      const art = this.s.insertArtifact.run(id, a.name, a.label ?? null, JSON.stringify(cef), JSON.stringify(a.contains ?? {}),
        JSON.stringify(a.untrusted ?? {}), a.sourceId ?? null, fields.map((f) => f[1]).join('\n'), now);
      this.insertFields(Number(art.lastInsertRowid), id, fields);
    }
    // The row as just written (what toIncident would read back, without reading it back).
    const incident: IncidentRecord = {
      id, name: inc.name, label: inc.label, severity: inc.severity, status: 'new', description: inc.description ?? null,
      owner: inc.owner ?? null, source: inc.source, sourceId: inc.sourceId ?? null, repeatCount: 0,
      tags: JSON.parse(tags) as string[], createdAt: now, updatedAt: now, lastSeenAt: now, closedAt: null,
    };
    const { runs, notTriggered } = this.triggered(inc, candidates);
    let created: RunRecord[] = [];
    if (runs.length > 0) {
      const view = this.viewOf(incident);
      created = runs.map((r) => this.runs.insertInTx(id, r, (r.input as IncidentView | undefined) ?? view));
    }
    this.audit.appendInTx({ actor, action: 'incident.create', target: `incident:${id}`, detail: {
      name: inc.name, label: inc.label, severity: inc.severity, source: inc.source, sourceId: inc.sourceId ?? null,
      artifacts: inc.artifacts.length, runs: created.map((r) => ({ id: r.id, playbookId: r.playbookId })),
      ...(notTriggered.length > 0 ? { notTriggered } : {}),
    } });
    return { incident, created: true, runs: created, notTriggered };
  }

  /**
   * The candidate runs whose trigger condition holds for the incident being written (in this
   * transaction: list lookups see the lists as they are now). A condition that cannot be decided
   * (an unknown list) or fails does not hold: the run is kept out and the reason recorded.
   */
  private triggered(inc: NewIncident, candidates: IngestRun[]): { runs: NewRun[]; notTriggered: NotTriggered[] } {
    const notTriggered: NotTriggered[] = [];
    if (!candidates.some((r) => r.condition !== undefined)) return { runs: candidates, notTriggered };
    const lists = this.lists;
    // A condition sees what a playbook would: untrusted values are not artifact fields.
    const artifacts = inc.artifacts.some((a) => a.untrusted !== undefined)
      ? inc.artifacts.map((a) => ({ ...a, cef: trustedCef(a.cef, a.untrusted) })) : inc.artifacts;
    const subject: TriggerSubject = {
      severity: inc.severity, label: inc.label, source: inc.source, artifacts,
      inList: (list, value) => lists.contains(list, value),
    };
    const runs = candidates.filter((r) => {
      if (r.condition === undefined) return true;
      let reason = 'false';
      try {
        if (r.condition.holds(subject)) return true;
      } catch (err) {
        reason = `could not be decided: ${err instanceof Error ? err.message : String(err)}`;
      }
      notTriggered.push({ playbookId: r.playbookId, condition: r.condition.text, from: r.condition.from, reason });
      return false;
    });
    return { runs, notTriggered };
  }

  /** An artifact's `artifact_fields` rows, up to FIELDS_PER_STATEMENT per statement. */
  private insertFields(artifactId: number, incidentId: number, fields: ReadonlyArray<[string, string]>): void {
    for (let i = 0; i < fields.length; i += FIELDS_PER_STATEMENT) {
      const chunk = fields.slice(i, i + FIELDS_PER_STATEMENT);
      let stmt = this.insertFieldsStmts[chunk.length];
      if (!stmt) {
        stmt = this.db.prepare(`INSERT OR IGNORE INTO artifact_fields (artifact_id, incident_id, field, value) VALUES ${
          Array.from({ length: chunk.length }, () => '(?, ?, ?, ?)').join(', ')}`);
        this.insertFieldsStmts[chunk.length] = stmt;
      }
      const params: Array<string | number> = [];
      for (const [field, value] of chunk) params.push(artifactId, incidentId, field, value);
      stmt.run(params);
    }
  }

  /** The IncidentView snapshot a run starts on. Must be called inside a transaction for consistency. */
  viewOf(incident: IncidentRecord): IncidentView {
    const artifacts: ArtifactView[] = this.s.artifacts.all(incident.id).map((r) => {
      const a = toArtifact(r);
      return artifactView(a);
    });
    return {
      id: incident.id, name: incident.name, label: incident.label, severity: incident.severity,
      status: incident.status, sourceId: incident.sourceId, createdAt: incident.createdAt, artifacts,
    };
  }

  getRecord(id: number): IncidentRecord | null {
    const row = this.s.byId.get(id);
    return row ? toIncident(row) : null;
  }

  get(id: number): IncidentDetail | null {
    // Read incident and artifacts in one snapshot.
    return this.db.transaction(() => {
      const row = this.s.byId.get(id);
      if (!row) return null;
      return { ...toIncident(row), artifacts: this.s.artifacts.all(id).map(toArtifact) };
    })();
  }

  list(query: IncidentQuery): IncidentRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status !== undefined) { where.push('i.status = ?'); params.push(query.status); }
    if (query.label !== undefined) { where.push('i.label = ?'); params.push(query.label); }
    if (query.before !== undefined) { where.push('i.id < ?'); params.push(query.before); }
    if (query.q !== undefined && query.q !== '') {
      // Through the trigram index (search.ts), with the same LIKE semantics.
      return this.search.rows<IncidentRow>({ ...query, q: query.q }, clampLimit(query.limit, 50, 500)).map(toIncident);
    }
    // One cached prepared statement per combination of filters.
    const sql = `SELECT i.* FROM incidents i${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY i.id DESC LIMIT ?`;
    let stmt = this.listCache.get(sql);
    if (!stmt) { stmt = this.db.prepare(sql); this.listCache.set(sql, stmt); }
    return (stmt.all(...params, clampLimit(query.limit, 50, 500)) as IncidentRow[]).map(toIncident);
  }

  update(id: number, patch: IncidentPatch, actor: string): IncidentRecord {
    return this.updateTx.immediate(id, patch, actor);
  }

  private updateInTx(id: number, patch: IncidentPatch, actor: string): IncidentRecord {
    const row = this.s.byId.get(id);
    if (!row) throw new NotFoundError(`incident ${id} not found`);
    const before = toIncident(row);
    const after = { status: before.status, severity: before.severity, owner: before.owner };
    if (patch.status !== undefined) after.status = patch.status;
    if (patch.severity !== undefined) after.severity = patch.severity;
    if (patch.owner !== undefined) after.owner = patch.owner;
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    for (const k of ['status', 'severity', 'owner'] as const) {
      if (after[k] !== before[k]) changes[k] = { before: before[k], after: after[k] };
    }
    if (Object.keys(changes).length === 0) return before;
    const now = nowIso();
    let closedAt = before.closedAt;
    if (changes.status) closedAt = CLOSED_STATUSES.has(after.status) ? (CLOSED_STATUSES.has(before.status) ? closedAt ?? now : now) : null;
    this.s.update.run({ id, ...after, closed_at: closedAt, updated_at: now });
    // Status and severity are in what a run sees of the incident: whoever changed them may have
    // steered a later run (separation of duties; the owner is not shown to playbooks).
    if (changes.status || changes.severity) this.s.addEditor.run(id, actor, now);
    this.audit.appendInTx({ actor, action: 'incident.update', target: `incident:${id}`, detail: changes });
    return toIncident(this.s.byId.get(id)!);
  }

  countRelated(query: RelatedIncidentQuery): { count: number; incidentIds: number[] } {
    return this.relatedTx(query);
  }

  private relatedInTx(q: RelatedIncidentQuery): { count: number; incidentIds: number[] } {
    // One index seek on artifact_fields(field, value, …) per match pair, deduplicated here.
    const ids = new Set<number>();
    const label = q.label ?? null;
    for (const m of q.match) {
      for (const r of this.s.related.all(m.field, m.value, q.excludeIncidentId, q.since, q.until, label, label)) ids.add(r.incident_id);
    }
    const incidentIds = [...ids].sort((a, b) => b - a);
    return { count: incidentIds.length, incidentIds };
  }

  addNote(note: NewNote): NoteRecord {
    return this.addNoteTx.immediate(note);
  }

  private addNoteInTx(n: NewNote): NoteRecord {
    if (!this.s.byId.get(n.incidentId)) throw new NotFoundError(`incident ${n.incidentId} not found`);
    const info = this.s.insertNote.run(n.incidentId, n.runId ?? null, n.author, n.text, nowIso());
    const note = toNote(this.s.noteById.get(info.lastInsertRowid)!);
    this.audit.appendInTx({ actor: n.author, action: 'note.add', target: `incident:${n.incidentId}`,
      detail: { noteId: note.id, runId: note.runId } });
    return note;
  }

  listNotes(incidentId: number): NoteRecord[] {
    return this.s.notes.all(incidentId).map(toNote);
  }
}

export interface IncidentPatch { status?: IncidentStatus; severity?: Severity; owner?: string | null }
export interface NewNote { incidentId: number; runId?: string; author: string; text: string }

function validateNewIncident(inc: NewIncident): void {
  if (!inc || typeof inc.name !== 'string' || inc.name === '') throw new ValidationError('incident name is required');
  if (typeof inc.label !== 'string' || inc.label === '') throw new ValidationError('incident label is required');
  if (typeof inc.source !== 'string' || inc.source === '') throw new ValidationError('incident source is required');
  if (!Array.isArray(inc.artifacts)) throw new ValidationError('incident artifacts must be an array');
}
