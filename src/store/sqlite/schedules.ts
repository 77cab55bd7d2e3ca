/**
 * Scheduled playbooks: create, list, remove, and record a fire. A fire writes the tick's incident,
 * its run and the schedule's `last_fire_at` in one transaction, so after a crash the tick either
 * fired (and is never fired again) or did not (and fires at start-up).
 */
import type Database from 'better-sqlite3';
import type { NewIncident } from '../records.js';
import type { NewRun } from '../store.js';
import type { NewSchedule, ScheduleFireResult, ScheduleRecord } from '../schedule-records.js';
import type { AuditLog } from './audit.js';
import type { IncidentRepo } from './incidents.js';
import { NotFoundError, ValidationError, fromJson, nowIso, toJson } from './common.js';

interface ScheduleRow {
  id: number;
  playbook_id: string;
  cron: string;
  timezone: string;
  args: string | null;
  created_by: string;
  created_at: string;
  last_fire_at: string | null;
}

const toSchedule = (r: ScheduleRow): ScheduleRecord => ({
  id: r.id,
  playbookId: r.playbook_id,
  cron: r.cron,
  timezone: r.timezone,
  args: fromJson<Record<string, unknown> | null>(r.args),
  createdBy: r.created_by,
  createdAt: r.created_at,
  lastFireAt: r.last_fire_at,
});

/** A fire's incident and run, or why the tick starts nothing (the playbook is disabled, say). */
export type ScheduleFire = { incident: NewIncident; run: NewRun } | { skipped: string };

export class ScheduleRepo {
  private readonly s;
  private readonly createTx;
  private readonly removeTx;
  private readonly fireTx;

  constructor(
    db: Database.Database,
    private readonly audit: AuditLog,
    private readonly incidents: IncidentRepo,
  ) {
    this.s = {
      insert: db.prepare<[string, string, string, string | null, string, string]>(`INSERT INTO schedules
        (playbook_id, cron, timezone, args, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
      byId: db.prepare<[number], ScheduleRow>('SELECT * FROM schedules WHERE id = ?'),
      all: db.prepare<[], ScheduleRow>('SELECT * FROM schedules ORDER BY id'),
      remove: db.prepare<[number]>('DELETE FROM schedules WHERE id = ?'),
      fired: db.prepare<[string, number]>('UPDATE schedules SET last_fire_at = ? WHERE id = ?'),
    };
    this.createTx = db.transaction((n: NewSchedule, actor: string) => {
      const info = this.s.insert.run(n.playbookId, n.cron, n.timezone, toJson(n.args), n.createdBy, nowIso());
      const rec = toSchedule(this.s.byId.get(Number(info.lastInsertRowid))!);
      this.audit.appendInTx({
        actor,
        action: 'schedule.create',
        target: `schedule:${rec.id}`,
        detail: {
          playbookId: rec.playbookId,
          cron: rec.cron,
          timezone: rec.timezone,
          args: rec.args,
          createdBy: rec.createdBy,
        },
      });
      return rec;
    });
    this.removeTx = db.transaction((id: number, actor: string) => {
      const row = this.s.byId.get(id);
      if (!row) throw new NotFoundError(`schedule ${id} does not exist`);
      this.s.remove.run(id);
      const rec = toSchedule(row);
      this.audit.appendInTx({
        actor,
        action: 'schedule.remove',
        target: `schedule:${id}`,
        detail: {
          playbookId: rec.playbookId,
          cron: rec.cron,
          timezone: rec.timezone,
          lastFireAt: rec.lastFireAt,
        },
      });
      return rec;
    });
    this.fireTx = db.transaction(
      (id: number, fireAt: string, fire: ScheduleFire, actor: string): ScheduleFireResult => {
        const row = this.s.byId.get(id);
        if (!row) return { status: 'removed' };
        if (row.last_fire_at !== null && fireAt <= row.last_fire_at) return { status: 'already' };
        this.s.fired.run(fireAt, id);
        if ('skipped' in fire) {
          this.audit.appendInTx({
            actor,
            action: 'schedule.skip',
            target: `schedule:${id}`,
            detail: { fireAt, reason: fire.skipped },
          });
          return { status: 'skipped' };
        }
        // Deduped on (source, sourceId) = (schedule:<id>, tick) like any alert: a tick recorded
        // before never starts a second run, even if `last_fire_at` had been lost.
        const r = this.incidents.ingestInTx(fire.incident, [fire.run], actor);
        return { status: 'fired', incidentId: r.incident.id, runIds: r.runs.map((x) => x.id) };
      },
    );
  }

  create(n: NewSchedule, actor: string): ScheduleRecord {
    validateSchedule(n);
    return this.createTx.immediate(n, actor);
  }

  get(id: number): ScheduleRecord | null {
    const row = this.s.byId.get(id);
    return row ? toSchedule(row) : null;
  }

  list(): ScheduleRecord[] {
    return this.s.all.all().map(toSchedule);
  }

  remove(id: number, actor: string): ScheduleRecord {
    return this.removeTx.immediate(id, actor);
  }

  /** See Store.recordScheduleFire. */
  fire(id: number, fireAt: string, fire: ScheduleFire, actor: string): ScheduleFireResult {
    if (Number.isNaN(Date.parse(fireAt)) || new Date(fireAt).toISOString() !== fireAt) {
      throw new ValidationError(`a fire time must be an ISO date-time in UTC (…Z), got "${fireAt}"`);
    }
    return this.fireTx.immediate(id, fireAt, fire, actor);
  }
}

function validateSchedule(n: NewSchedule): void {
  if (typeof n.playbookId !== 'string' || n.playbookId === '') {
    throw new ValidationError('a schedule needs a playbook id');
  }
  if (typeof n.cron !== 'string' || n.cron.trim() === '') {
    throw new ValidationError('a schedule needs a cron expression');
  }
  if (typeof n.timezone !== 'string' || n.timezone === '') throw new ValidationError('a schedule needs a time zone');
  if (n.args !== null && (typeof n.args !== 'object' || Array.isArray(n.args))) {
    throw new ValidationError('the args of a schedule must be a JSON object');
  }
  if (typeof n.createdBy !== 'string' || !n.createdBy.startsWith('user:')) {
    throw new ValidationError('a schedule is created by a person (user:<name>): its runs are caused by them');
  }
}
