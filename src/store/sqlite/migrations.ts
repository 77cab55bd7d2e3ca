/**
 * Numbered, forward-only schema migrations. Never edit a released migration: add a new one.
 * Each pending migration runs in its own IMMEDIATE transaction together with its
 * `schema_migrations` row, so a crash leaves the schema at a known version, and two processes
 * starting together cannot apply the same migration twice.
 */
import type Database from 'better-sqlite3';
import { MIGRATION_003_POLICY } from './migration-003-policy.js';
import { MIGRATION_004_SEARCH } from './migration-004-search.js';
import { MIGRATION_005_SEARCH_QUEUE } from './migration-005-search-queue.js';
import { MIGRATION_006_JOURNAL_RESOLUTION } from './migration-006-journal-resolution.js';
import { MIGRATION_007_SPLUNK_CATCH_ALL } from './migration-007-splunk-catch-all.js';
import { MIGRATION_008_RUN_WAITS } from './migration-008-run-waits.js';
import { MIGRATION_009_PLAYBOOK_REPOS } from './migration-009-playbook-repos.js';
import { MIGRATION_010_CHILD_RUNS } from './migration-010-child-runs.js';
import { MIGRATION_011_RERUN_OF } from './migration-011-rerun-of.js';
import { MIGRATION_012_SCHEDULES } from './migration-012-schedules.js';
import { MIGRATION_013_TRIGGER_CONDITION } from './migration-013-trigger-condition.js';
import { MIGRATION_014_REPO_REQUIRE_TESTS } from './migration-014-repo-require-tests.js';
import { MIGRATION_015_SEPARATION } from './migration-015-separation.js';
import { MIGRATION_016_ARTIFACT_VALIDATION } from './migration-016-artifact-validation.js';
import { MIGRATION_017_KEYED_AUDIT } from './migration-017-keyed-audit.js';
import { MIGRATION_018_TOKEN_LIFECYCLE } from './migration-018-token-lifecycle.js';
import { MIGRATION_019_SECRET_KEYS } from './migration-019-secret-keys.js';
import { MIGRATION_020_ASSET_EGRESS } from './migration-020-asset-egress.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** A data change SQL alone cannot make (e.g. with audit entries): runs after `sql`, in the same transaction. */
  run?: (db: Database.Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE incidents (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL,
  label         TEXT NOT NULL,
  severity      TEXT NOT NULL,
  status        TEXT NOT NULL,
  description   TEXT,
  owner         TEXT,
  source        TEXT NOT NULL,
  source_id     TEXT,
  repeat_count  INTEGER NOT NULL DEFAULT 0,
  tags          TEXT NOT NULL DEFAULT '[]',
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL,
  closed_at     TEXT
);
CREATE UNIQUE INDEX incidents_source_dedupe ON incidents(source, source_id) WHERE source_id IS NOT NULL;
CREATE INDEX incidents_status_id ON incidents(status, id);
CREATE INDEX incidents_label_id ON incidents(label, id);
CREATE INDEX incidents_created_at ON incidents(created_at);

CREATE TABLE artifacts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id  INTEGER NOT NULL REFERENCES incidents(id),
  name         TEXT NOT NULL,
  label        TEXT,
  cef          TEXT NOT NULL,
  contains     TEXT NOT NULL,
  source_id    TEXT,
  cef_text     TEXT NOT NULL, -- CEF values joined by newlines, for substring search
  created_at   TEXT NOT NULL
);
CREATE INDEX artifacts_incident ON artifacts(incident_id, id);

-- One row per CEF field of an artifact: related-incident lookups are index seeks, not JSON scans.
CREATE TABLE artifact_fields (
  artifact_id  INTEGER NOT NULL REFERENCES artifacts(id),
  incident_id  INTEGER NOT NULL REFERENCES incidents(id),
  field        TEXT NOT NULL,
  value        TEXT NOT NULL,
  PRIMARY KEY (field, value, incident_id, artifact_id)
) WITHOUT ROWID;

CREATE TABLE notes (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id  INTEGER NOT NULL REFERENCES incidents(id),
  run_id       TEXT,
  author       TEXT NOT NULL,
  text         TEXT NOT NULL,
  created_at   TEXT NOT NULL
);
CREATE INDEX notes_incident ON notes(incident_id, id);

CREATE TABLE runs (
  id                TEXT PRIMARY KEY,
  incident_id       INTEGER NOT NULL REFERENCES incidents(id),
  playbook_id       TEXT NOT NULL,
  playbook_version  INTEGER NOT NULL,
  playbook_hash     TEXT NOT NULL,
  status            TEXT NOT NULL,
  input             TEXT NOT NULL,
  output            TEXT,
  error             TEXT,
  attention_reason  TEXT,
  wake_at           TEXT,
  minutes_saved     REAL,
  created_at        TEXT NOT NULL,
  started_at        TEXT,
  updated_at        TEXT NOT NULL,
  finished_at       TEXT
);
CREATE INDEX runs_incident ON runs(incident_id, created_at);
CREATE INDEX runs_status ON runs(status, created_at);
CREATE INDEX runs_playbook ON runs(playbook_id, created_at);
CREATE INDEX runs_status_wake ON runs(status, wake_at);

CREATE TABLE journal (
  run_id       TEXT NOT NULL REFERENCES runs(id),
  seq          INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  name         TEXT NOT NULL,
  asset        TEXT,
  app          TEXT,
  action       TEXT,
  status       TEXT NOT NULL,
  input        TEXT,
  output       TEXT,
  error        TEXT,
  attempts     INTEGER NOT NULL,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  wake_at      TEXT,
  detail       TEXT,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE action_results (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id           TEXT NOT NULL REFERENCES runs(id),
  seq              INTEGER NOT NULL,
  attempt          INTEGER NOT NULL,
  app              TEXT NOT NULL,
  asset            TEXT NOT NULL,
  action           TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL,
  outcome          TEXT NOT NULL,
  input            TEXT,
  output           TEXT,
  error            TEXT,
  started_at       TEXT NOT NULL,
  duration_ms      REAL NOT NULL
);
CREATE INDEX action_results_run ON action_results(run_id, id);

CREATE TABLE lists (
  name         TEXT PRIMARY KEY,
  description  TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
CREATE TABLE list_items (
  list_name  TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
  item       TEXT NOT NULL,
  added_at   TEXT NOT NULL,
  PRIMARY KEY (list_name, item)
) WITHOUT ROWID;

CREATE TABLE assets (
  name           TEXT PRIMARY KEY,
  app_id         TEXT NOT NULL,
  description    TEXT,
  config         TEXT NOT NULL,
  secrets        TEXT NOT NULL, -- AES-256-GCM blob of the JSON secrets map (see secrets.ts)
  secret_fields  TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);

CREATE TABLE sources (
  name        TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  mapping     TEXT NOT NULL,
  token_hash  TEXT NOT NULL UNIQUE, -- sha256 hex; the token itself is never stored
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL,
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL
);

CREATE TABLE playbook_settings (
  playbook_id  TEXT PRIMARY KEY,
  enabled      INTEGER NOT NULL,
  automation   TEXT,
  bindings     TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

-- Ids are assigned by the store (last + 1, no AUTOINCREMENT) so that a gap is visible.
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY,
  at         TEXT NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT,
  detail     TEXT NOT NULL,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed'); END;
`,
  },
  {
    version: 2,
    name: 'cases (built-in ticketing)',
    sql: `
-- Ids are assigned by the store (last + 1) so that the key CASE-<id> is written with the row.
CREATE TABLE cases (
  id           INTEGER PRIMARY KEY,
  key          TEXT NOT NULL UNIQUE,
  incident_id  INTEGER REFERENCES incidents(id),
  title        TEXT NOT NULL,
  description  TEXT NOT NULL,
  priority     TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  status       TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
  dedupe_key   TEXT NOT NULL UNIQUE,
  labels       TEXT NOT NULL DEFAULT '[]',
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  resolved_at  TEXT
);
CREATE INDEX cases_status_id ON cases(status, id);
CREATE INDEX cases_incident ON cases(incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE case_comments (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id     INTEGER NOT NULL REFERENCES cases(id),
  author      TEXT NOT NULL,
  text        TEXT NOT NULL,
  marker      TEXT, -- caller's idempotency key
  created_at  TEXT NOT NULL
);
CREATE INDEX case_comments_case ON case_comments(case_id, id);
CREATE UNIQUE INDEX case_comments_marker ON case_comments(case_id, marker) WHERE marker IS NOT NULL;
`,
  },
  MIGRATION_003_POLICY,
  MIGRATION_004_SEARCH,
  MIGRATION_005_SEARCH_QUEUE,
  MIGRATION_006_JOURNAL_RESOLUTION,
  MIGRATION_007_SPLUNK_CATCH_ALL,
  MIGRATION_008_RUN_WAITS,
  MIGRATION_009_PLAYBOOK_REPOS,
  MIGRATION_010_CHILD_RUNS,
  MIGRATION_011_RERUN_OF,
  MIGRATION_012_SCHEDULES,
  MIGRATION_013_TRIGGER_CONDITION,
  MIGRATION_014_REPO_REQUIRE_TESTS,
  MIGRATION_015_SEPARATION,
  MIGRATION_016_ARTIFACT_VALIDATION,
  MIGRATION_017_KEYED_AUDIT,
  MIGRATION_018_TOKEN_LIFECYCLE,
  MIGRATION_019_SECRET_KEYS,
  MIGRATION_020_ASSET_EGRESS,
];

export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export class SchemaTooNewError extends Error {
  constructor(readonly dbVersion: number, readonly knownVersion: number) {
    super(
      `database schema version ${dbVersion} is newer than this version of Riposte supports (${knownVersion}); ` +
        'upgrade Riposte, or restore a backup made before the upgrade',
    );
    this.name = 'SchemaTooNewError';
  }
}

function currentVersion(db: Database.Database): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Applies pending migrations; returns the versions applied by this call. Idempotent. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
  )`);
  const known = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const dbVersion = currentVersion(db);
  if (dbVersion > known) throw new SchemaTooNewError(dbVersion, known);

  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const applied: number[] = [];
  const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applyOne = db.transaction((m: Migration) => {
    // Re-check under the write lock: another process may have applied it meanwhile.
    if (currentVersion(db) >= m.version) return;
    db.exec(m.sql);
    m.run?.(db);
    insert.run(m.version, m.name, new Date().toISOString());
    applied.push(m.version);
  });
  for (const m of sorted) {
    if (m.version > dbVersion) applyOne.immediate(m);
  }
  return applied;
}
