/**
 * Migration 9: playbook repositories. Playbooks come from repositories (Git or a directory, and the
 * built-in one shipped with Riposte), each activated at a pinned commit. Compiled bundles are kept
 * by their hash, so a run resumes on exactly the code it started with even after a newer commit
 * is activated; each run records where its code came from. What a playbook declares about its own
 * power (automation level, roles) is granted only when an admin confirms it (`playbook_grants`), for
 * the repository that provided it and the bundle reviewed.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_009_PLAYBOOK_REPOS: Migration = {
  version: 9,
  name: 'playbook repositories, bundles by hash, grants, run origin',
  sql: `
CREATE TABLE playbook_repos (
  name               TEXT PRIMARY KEY,
  kind               TEXT NOT NULL CHECK (kind IN ('git', 'dir', 'builtin')),
  url                TEXT NOT NULL,   -- without credentials (shown, audited)
  url_credentials    TEXT,            -- user:password of an https URL, encrypted with the secret key
  ref                TEXT,
  sync_interval_s    INTEGER,
  webhook_secret     TEXT,            -- encrypted with the secret key; null: no push hook
  active_commit      TEXT,
  active_at          TEXT,
  last_sync_at       TEXT,
  last_sync_status   TEXT,
  last_sync_commit   TEXT,
  last_sync_errors   TEXT,            -- JSON array of messages (compiler errors, clone failure)
  created_by         TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE TABLE playbook_bundles (
  hash        TEXT PRIMARY KEY,
  code        TEXT NOT NULL,
  config      TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
-- The playbooks of each repository's active commit. A playbook id is provided by one repository.
CREATE TABLE repo_playbooks (
  repo         TEXT NOT NULL REFERENCES playbook_repos(name) ON DELETE CASCADE,
  playbook_id  TEXT NOT NULL UNIQUE,
  path         TEXT NOT NULL,
  hash         TEXT NOT NULL REFERENCES playbook_bundles(hash),
  PRIMARY KEY (repo, playbook_id)
);
-- An admin's confirmation of a playbook's declared power, bound to the repository that provided it
-- and to the bundle reviewed: another repository providing the id later is not covered by it, and
-- it is deleted (audited) when its repository stops providing the id (removal, or a commit without it).
CREATE TABLE playbook_grants (
  playbook_id   TEXT PRIMARY KEY,
  repo          TEXT NOT NULL REFERENCES playbook_repos(name) ON DELETE CASCADE,
  hash          TEXT NOT NULL REFERENCES playbook_bundles(hash),  -- the bundle the admin reviewed
  automation    TEXT,
  roles         TEXT NOT NULL,
  confirmed_by  TEXT NOT NULL,
  confirmed_at  TEXT NOT NULL
);
-- Bumped by every activation, removal and grant: a server polls it to reload its playbooks.
CREATE TABLE playbook_catalog_revision (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  revision  INTEGER NOT NULL
);
INSERT INTO playbook_catalog_revision (id, revision) VALUES (1, 0);
ALTER TABLE runs ADD COLUMN playbook_repo TEXT;
ALTER TABLE runs ADD COLUMN playbook_commit TEXT;
ALTER TABLE runs ADD COLUMN playbook_path TEXT;
`,
};
