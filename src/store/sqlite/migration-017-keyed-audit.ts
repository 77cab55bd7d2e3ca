/**
 * Migration 17: the audit chain becomes keyed. Each entry records the id of the audit key its link
 * was computed with (HMAC-SHA-256); entries written before keep NULL and their plain SHA-256 links.
 * The export cursors say, per SIEM sink, the last audit entry it has acknowledged.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_017_KEYED_AUDIT: Migration = {
  version: 17,
  name: 'audit_log.key_id (HMAC-keyed links) and audit_export_cursors',
  sql: `
ALTER TABLE audit_log ADD COLUMN key_id TEXT;
CREATE TABLE audit_export_cursors (
  sink        TEXT PRIMARY KEY,
  last_id     INTEGER NOT NULL,
  updated_at  TEXT NOT NULL
);
`,
};
