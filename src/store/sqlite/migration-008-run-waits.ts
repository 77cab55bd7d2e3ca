/**
 * Migration 8: every wait of a parked run, not only the first. A run with two parallel branches
 * parked on two approvals (the founding playbook's wipe and block) must resume when either is
 * decided; `runs.waiting_on` keeps the first, for display. Runs parked before this migration get
 * their one wait copied.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_008_RUN_WAITS: Migration = {
  version: 8,
  name: 'run_waits: every wait of a parked run',
  sql: `
CREATE TABLE run_waits (
  run_id      TEXT NOT NULL REFERENCES runs(id),
  waiting_on  TEXT NOT NULL,
  PRIMARY KEY (run_id, waiting_on)
) WITHOUT ROWID;
CREATE INDEX run_waits_on ON run_waits(waiting_on);
INSERT INTO run_waits (run_id, waiting_on) SELECT id, waiting_on FROM runs WHERE status = 'waiting' AND waiting_on IS NOT NULL;
INSERT OR IGNORE INTO run_waits (run_id, waiting_on)
  SELECT a.run_id, 'approval:' || a.id FROM approvals AS a JOIN runs AS r ON r.id = a.run_id
  WHERE a.status = 'pending' AND r.status = 'waiting';
INSERT OR IGNORE INTO run_waits (run_id, waiting_on)
  SELECT p.run_id, 'prompt:' || p.id FROM prompts AS p JOIN runs AS r ON r.id = p.run_id
  WHERE p.status = 'pending' AND r.status = 'waiting';
`,
};
