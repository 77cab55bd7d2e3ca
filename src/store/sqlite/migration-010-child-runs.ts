/**
 * Migration 10: child runs (`ctx.playbook`). A child run names the run that asked for it and the
 * position of that step in the parent's journal; the unique index makes (parent, step) create at
 * most one child, whatever replays or crashes happen. No foreign key on the parent: pruning deletes
 * finished runs one by one, and a parent may finish (a branch that lost a race) before its child.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_010_CHILD_RUNS: Migration = {
  version: 10,
  name: 'child runs: parent run and step',
  sql: `
ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
ALTER TABLE runs ADD COLUMN parent_seq INTEGER;
CREATE UNIQUE INDEX runs_parent_step ON runs(parent_run_id, parent_seq) WHERE parent_run_id IS NOT NULL;
`,
};
