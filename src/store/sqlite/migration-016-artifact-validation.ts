/**
 * Migration 16: artifact validation. An artifact records which typed CEF fields failed
 * validation and why (`untrusted`, JSON field → reason; the raw value stays in `cef`); a custom
 * list may declare the kind of its items (`kind`, a contains type such as `ip`; NULL = untyped).
 * Artifacts and lists written before it are left as they were: trusted and untyped.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_016_ARTIFACT_VALIDATION: Migration = {
  version: 16,
  name: 'artifacts.untrusted and lists.kind: invalid artifact values kept apart, typed custom lists',
  sql: `
ALTER TABLE artifacts ADD COLUMN untrusted TEXT NOT NULL DEFAULT '{}';
ALTER TABLE lists ADD COLUMN kind TEXT;
`,
};
