/**
 * Migration 5: the search index is kept off the ingest path.
 *
 * Migration 4's triggers wrote the trigram index inside every alert's transaction. Measured with
 * the benchmark that cost about a third of the ingestion rate, and, as FTS5 merges its segments
 * (one new segment per alert), stalls of several hundred milliseconds on a store of 200,000
 * incidents. Now the triggers only note the incident in `incident_search_pending` (one small
 * B-tree insert); the server indexes pending incidents in batches, in its own short transactions
 * (search-indexer.ts), and search checks the few pending ones with the plain LIKE it always
 * had. Incidents without artifacts need no special list any more: they are indexed by name and
 * indexed again if an artifact arrives later.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_005_SEARCH_QUEUE: Migration = {
  version: 5,
  name: 'search index kept off the ingest path: pending incidents indexed in batches',
  sql: `
DROP TRIGGER incident_search_incident;
DROP TRIGGER incident_search_artifact;
DROP TRIGGER incident_search_delete;
DROP TRIGGER incident_search_rename;

CREATE TABLE incident_search_pending (incident_id INTEGER PRIMARY KEY);
INSERT INTO incident_search_pending (incident_id) SELECT incident_id FROM incident_search_bare;
DROP TABLE incident_search_bare;

CREATE TRIGGER incident_search_pending_incident AFTER INSERT ON incidents
BEGIN INSERT OR IGNORE INTO incident_search_pending (incident_id) VALUES (new.id); END;

CREATE TRIGGER incident_search_pending_artifact AFTER INSERT ON artifacts
BEGIN INSERT OR IGNORE INTO incident_search_pending (incident_id) VALUES (new.incident_id); END;

CREATE TRIGGER incident_search_pending_rename AFTER UPDATE OF name ON incidents
BEGIN INSERT OR IGNORE INTO incident_search_pending (incident_id) VALUES (new.id); END;

CREATE TRIGGER incident_search_delete AFTER DELETE ON incidents
BEGIN
  DELETE FROM incident_search WHERE rowid = old.id;
  DELETE FROM incident_search_pending WHERE incident_id = old.id;
END;
`,
};
