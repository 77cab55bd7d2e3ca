/**
 * Migration 12: scheduled playbooks. A schedule starts its playbook at each tick of a cron
 * expression; `last_fire_at` is the tick it last fired for, written in the same transaction as
 * that fire's incident and run, so the scheduler never fires a tick twice nor forgets one it did.
 * Ids are AUTOINCREMENT, never reused: a fire is an incident of source `schedule:<id>` deduped on
 * its tick, and a new schedule must not collide with a removed one's fires.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_012_SCHEDULES: Migration = {
  version: 12,
  name: 'schedules: playbooks started by a cron expression',
  sql: `
CREATE TABLE schedules (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  playbook_id   TEXT NOT NULL,
  cron          TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  args          TEXT,
  created_by    TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_fire_at  TEXT
);
`,
};
