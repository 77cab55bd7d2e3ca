/**
 * Migration 19: the master keys this database has known, by id (a one-way fingerprint, never the
 * key): the `current` one, the `next` one while a rotation is under way, and `retired` ones, which
 * the store refuses to open with. Filled on first open (the key in use becomes `current`).
 */
import type { Migration } from './migrations.js';

export const MIGRATION_019_SECRET_KEYS: Migration = {
  version: 19,
  name: 'secret_keys: the master key in use, a rotation under way, and retired keys',
  sql: `
CREATE TABLE secret_keys (
  key_id      TEXT PRIMARY KEY,
  status      TEXT NOT NULL CHECK (status IN ('current', 'next', 'retired')),
  created_at  TEXT NOT NULL,
  changed_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX secret_keys_one_current ON secret_keys(status) WHERE status = 'current';
CREATE UNIQUE INDEX secret_keys_one_next ON secret_keys(status) WHERE status = 'next';
`,
};
