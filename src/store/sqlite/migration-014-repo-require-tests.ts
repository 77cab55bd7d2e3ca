/**
 * Migration 14: a repository may require its tests (`tests/*.test.json`, run hermetically) to pass
 * before a commit is activated (`riposte repos add --require-tests`). Existing repositories do not.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_014_REPO_REQUIRE_TESTS: Migration = {
  version: 14,
  name: 'playbook_repos.require_tests: a commit is activated only when its tests pass',
  sql: `
ALTER TABLE playbook_repos ADD COLUMN require_tests INTEGER NOT NULL DEFAULT 0;
`,
};
