/**
 * Migration 11: a re-run names the run it repeats (`runs.rerun_of`), so `runs show` can link both
 * ways. No foreign key: pruning deletes an old run while its re-runs stay, and the link then names
 * a run that is gone (shown as such), which is the truth.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_011_RERUN_OF: Migration = {
  version: 11,
  name: 'runs.rerun_of: the run a re-run repeats',
  sql: `
ALTER TABLE runs ADD COLUMN rerun_of TEXT;
CREATE INDEX runs_rerun_of ON runs(rerun_of, created_at) WHERE rerun_of IS NOT NULL;
`,
};
