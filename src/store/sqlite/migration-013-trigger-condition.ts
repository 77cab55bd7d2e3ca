/**
 * Migration 13: an operator's trigger condition per playbook (`riposte playbooks trigger <id>
 * --when "<expr>"`). NULL: the playbook's own condition applies (or none). The expression is
 * validated before it is written (src/engine/trigger-condition.ts), never here.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_013_TRIGGER_CONDITION: Migration = {
  version: 13,
  name: 'playbook_settings.trigger_when: the operator\'s trigger condition',
  sql: `
ALTER TABLE playbook_settings ADD COLUMN trigger_when TEXT;
`,
};
