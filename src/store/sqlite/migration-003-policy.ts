/** Migration 3: users, approvals, prompts, single-use e-mail links, settings; runs learn args and what they wait on. */
import type { Migration } from './migrations.js';

export const MIGRATION_003_POLICY: Migration = {
  version: 3,
  name: 'human in the loop: users, approvals, prompts, settings',
  sql: `
CREATE TABLE users (
  name        TEXT PRIMARY KEY,
  email       TEXT,
  roles       TEXT NOT NULL DEFAULT '[]',
  disabled    INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL
);

ALTER TABLE runs ADD COLUMN args TEXT;
ALTER TABLE runs ADD COLUMN waiting_on TEXT;
ALTER TABLE runs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN requested_by TEXT;
CREATE INDEX runs_waiting_on ON runs(waiting_on) WHERE waiting_on IS NOT NULL;

ALTER TABLE assets ADD COLUMN policy TEXT;
ALTER TABLE playbook_settings ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;

CREATE INDEX journal_action_started ON journal(action, started_at) WHERE kind = 'action';

CREATE TABLE approvals (
  id            TEXT PRIMARY KEY,
  run_id        TEXT NOT NULL REFERENCES runs(id),
  seq           INTEGER NOT NULL,
  asset         TEXT NOT NULL,
  app           TEXT NOT NULL,
  action        TEXT NOT NULL,
  kind          TEXT NOT NULL,
  params        TEXT NOT NULL,
  params_hash   TEXT NOT NULL,
  reasons       TEXT NOT NULL,
  approvers     TEXT NOT NULL,
  quorum        INTEGER NOT NULL,
  four_eyes     INTEGER NOT NULL,
  requested_by  TEXT NOT NULL,
  requested_at  TEXT NOT NULL,
  expires_at    TEXT NOT NULL,
  status        TEXT NOT NULL,
  decided_at    TEXT,
  seal          TEXT NOT NULL,
  UNIQUE (run_id, seq)
);
CREATE INDEX approvals_status ON approvals(status, requested_at);

CREATE TABLE approval_decisions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  approval_id  TEXT NOT NULL REFERENCES approvals(id),
  user_name    TEXT NOT NULL,
  decision     TEXT NOT NULL,
  via          TEXT NOT NULL,
  comment      TEXT,
  at           TEXT NOT NULL,
  seal         TEXT NOT NULL,
  UNIQUE (approval_id, user_name)
);

CREATE TABLE email_links (
  nonce        TEXT PRIMARY KEY,
  approval_id  TEXT NOT NULL REFERENCES approvals(id),
  user_name    TEXT NOT NULL,
  decision     TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  used_at      TEXT
);

CREATE TABLE prompts (
  id                TEXT PRIMARY KEY,
  run_id            TEXT NOT NULL REFERENCES runs(id),
  seq               INTEGER NOT NULL,
  question          TEXT NOT NULL,
  answer_type       TEXT NOT NULL,
  options           TEXT,
  assignee_user     TEXT,
  assignee_role     TEXT,
  escalate_to_role  TEXT,
  escalate_at       TEXT,
  escalated_at      TEXT,
  default_answer    TEXT,
  expires_at        TEXT NOT NULL,
  status            TEXT NOT NULL,
  answer            TEXT,
  answered_by       TEXT,
  answered_at       TEXT,
  created_at        TEXT NOT NULL,
  UNIQUE (run_id, seq)
);
CREATE INDEX prompts_status ON prompts(status, created_at);

CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
`,
};
