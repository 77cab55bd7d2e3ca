/**
 * Child runs (`ctx.playbook`): a run created by a step of another run, on the same incident. The
 * child and the parent's journal entry for the step are written in one transaction, and (parent,
 * step) has at most one child (unique index, migration 9): a replay or a crash after the commit
 * finds the child instead of creating a second; a crash before it leaves neither.
 */
import type Database from 'better-sqlite3';
import type { JournalEntry, RunRecord } from '../records.js';
import type { NewChildRun } from '../store.js';
import type { AuditLog } from './audit.js';
import { NotFoundError, ValidationError } from './common.js';
import { toRun, type RunRepo, type RunRow } from './runs.js';
import type { IncidentView } from '../../sdk/playbook.js';

export class ChildRunRepo {
  private readonly s;
  private readonly createTx;

  constructor(db: Database.Database, audit: AuditLog, runs: RunRepo) {
    this.s = {
      byParentStep: db.prepare<[string, number], RunRow>(
        'SELECT * FROM runs WHERE parent_run_id = ? AND parent_seq = ?',
      ),
      children: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE parent_run_id = ? ORDER BY parent_seq'),
      parentExists: db.prepare<[string], { incident_id: number }>('SELECT incident_id FROM runs WHERE id = ?'),
    };
    this.createTx = db.transaction((child: NewChildRun, step: JournalEntry, actor: string) => {
      const existing = this.s.byParentStep.get(child.parentRunId, child.parentSeq);
      if (existing) return { run: toRun(existing), created: false };
      const parent = this.s.parentExists.get(child.parentRunId);
      if (!parent) throw new NotFoundError(`run ${child.parentRunId} not found`);
      if (parent.incident_id !== child.incidentId) {
        const which = `#${parent.incident_id}, not #${child.incidentId}`;
        throw new ValidationError(`a child run belongs to its parent's incident ${which}`);
      }
      if (step.runId !== child.parentRunId || step.seq !== child.parentSeq) {
        const which = `step ${child.parentSeq} of run ${child.parentRunId}`;
        throw new ValidationError(`the journal entry of a child run's step must be ${which}`);
      }
      const run = runs.insertInTx(child.incidentId, child, child.input as IncidentView);
      audit.appendInTx({
        actor, action: 'run.create', target: `run:${run.id}`,
        detail: {
          incidentId: run.incidentId, playbookId: run.playbookId, playbookVersion: run.playbookVersion,
          parentRunId: child.parentRunId, parentSeq: child.parentSeq,
        },
      });
      runs.putJournalOp(step)();
      return { run, created: true };
    });
  }

  /** See Store.createChildRun. */
  create(child: NewChildRun, step: JournalEntry, actor: string): { run: RunRecord; created: boolean } {
    return this.createTx(child, step, actor);
  }

  byParentStep(parentRunId: string, parentSeq: number): RunRecord | null {
    const row = this.s.byParentStep.get(parentRunId, parentSeq);
    return row ? toRun(row) : null;
  }

  children(parentRunId: string): RunRecord[] {
    return this.s.children.all(parentRunId).map(toRun);
  }
}
