/**
 * Migration 6: the journal records the order in which each step's outcome was handed to the
 * playbook (`resolution`, 0, 1, 2 … per run). Replay hands recorded outcomes back in exactly that
 * order, so parallel branches number their later steps the same way every time (see
 * src/engine/delivery.ts). Entries written before this migration have none; a run resumed across
 * the upgrade hands them back as they are asked for, as before.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_006_JOURNAL_RESOLUTION: Migration = {
  version: 6,
  name: 'journal: order in which step outcomes were handed to the playbook',
  sql: `ALTER TABLE journal ADD COLUMN resolution INTEGER;`,
};
