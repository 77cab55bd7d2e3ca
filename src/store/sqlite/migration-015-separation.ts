/**
 * Migration 15: separation of duties. A run names everyone else who caused it (`also_caused_by`:
 * the cause of the run a re-run repeats, inherited by child runs); who changed an incident's
 * content after it was written (`incident_editors`); approvals and prompts record who may not
 * decide them besides the run's cause (`excluded`), and whether a prompt gates containment.
 * Existing rows: nobody else caused them, nobody is excluded beyond the cause.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_015_SEPARATION: Migration = {
  version: 15,
  name: 'separation of duties: other causes of a run, incident editors, exclusions on approvals and prompts',
  sql: `
ALTER TABLE runs ADD COLUMN also_caused_by TEXT;
ALTER TABLE approvals ADD COLUMN excluded TEXT;
ALTER TABLE prompts ADD COLUMN gates_containment INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prompts ADD COLUMN excluded TEXT;
CREATE TABLE incident_editors (
  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  principal   TEXT NOT NULL,
  first_at    TEXT NOT NULL,
  PRIMARY KEY (incident_id, principal)
) WITHOUT ROWID;
`,
};
