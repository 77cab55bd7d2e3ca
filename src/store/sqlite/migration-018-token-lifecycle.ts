/**
 * Migration 18: API tokens can expire and be revoked, and remember when they were last used; and a
 * generation number that every change to a credential bumps (by trigger, so a change made by any
 * process on this file — the CLI while the server runs, a maintenance script — counts). The API's
 * credential cache compares it on every lookup and forgets what it knew when it moved.
 * `last_used_at` is not part of a credential: writing it does not bump the generation.
 */
import type { Migration } from './migrations.js';

const bump = 'BEGIN UPDATE auth_generation SET value = value + 1 WHERE id = 1; END';

export const MIGRATION_018_TOKEN_LIFECYCLE: Migration = {
  version: 18,
  name: 'api_tokens.expires_at/revoked_at/last_used_at; auth_generation bumped on every credential change',
  sql: `
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
CREATE INDEX api_tokens_name ON api_tokens(name);

CREATE TABLE auth_generation (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  value  INTEGER NOT NULL
);
INSERT INTO auth_generation (id, value) VALUES (1, 0);

CREATE TRIGGER auth_generation_token_insert AFTER INSERT ON api_tokens ${bump};
CREATE TRIGGER auth_generation_token_delete AFTER DELETE ON api_tokens ${bump};
CREATE TRIGGER auth_generation_token_update
  AFTER UPDATE OF name, role, token_hash, expires_at, revoked_at ON api_tokens ${bump};
CREATE TRIGGER auth_generation_user_insert AFTER INSERT ON users ${bump};
CREATE TRIGGER auth_generation_user_delete AFTER DELETE ON users ${bump};
CREATE TRIGGER auth_generation_user_update AFTER UPDATE OF name, roles, disabled ON users ${bump};
CREATE TRIGGER auth_generation_source_insert AFTER INSERT ON sources ${bump};
CREATE TRIGGER auth_generation_source_delete AFTER DELETE ON sources ${bump};
CREATE TRIGGER auth_generation_source_update
  AFTER UPDATE OF name, kind, mapping, token_hash, enabled ON sources ${bump};
`,
};
