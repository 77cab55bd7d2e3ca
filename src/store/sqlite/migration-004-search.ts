/**
 * Migration 4: an index for incident search, and one for pruning.
 *
 * `incident_search` is an FTS5 table with the trigram tokenizer: one row per incident (rowid =
 * incident id) holding its name and the CEF values of its artifacts. FTS5 answers
 * `body LIKE '%…%'` from the trigram index (then checks the pattern on the stored text), so
 * search keeps the exact semantics of the LIKE scan it replaces — substring, ASCII
 * case-insensitive, wildcards escaped — without reading every incident. detail=none: LIKE needs
 * no token positions, and the index is much smaller without them.
 *
 * It is kept by triggers. The incident is indexed when its first artifact is written (one FTS
 * write per alert on the ingest path: every alert has one artifact); further artifacts append to
 * the row. An incident without artifacts is listed in `incident_search_bare` until it gets one,
 * and search checks those few names with a plain LIKE. (Migration 5 moved the index writes off
 * the ingest path: they cost too much there.)
 */
import type { Migration } from './migrations.js';

export const MIGRATION_004_SEARCH: Migration = {
  version: 4,
  name: 'trigram search index over incident names and artifact values; email_links by approval',
  sql: `
CREATE VIRTUAL TABLE incident_search USING fts5(body, tokenize = 'trigram', detail = none);
CREATE TABLE incident_search_bare (incident_id INTEGER PRIMARY KEY);

INSERT INTO incident_search (rowid, body)
  SELECT i.id, i.name || (SELECT group_concat(char(10) || a.cef_text, '') FROM (SELECT cef_text FROM artifacts WHERE incident_id = i.id ORDER BY id) a)
  FROM incidents i WHERE EXISTS (SELECT 1 FROM artifacts a WHERE a.incident_id = i.id);
INSERT INTO incident_search_bare (incident_id)
  SELECT id FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.incident_id = i.id);

CREATE TRIGGER incident_search_incident AFTER INSERT ON incidents
BEGIN INSERT INTO incident_search_bare (incident_id) VALUES (new.id); END;

-- One trigger (not two with WHEN clauses, whose firing order SQLite leaves undefined): a further
-- artifact appends to the row; the first one creates it and takes the incident off the bare list.
CREATE TRIGGER incident_search_artifact AFTER INSERT ON artifacts
BEGIN
  UPDATE incident_search SET body = body || char(10) || new.cef_text WHERE rowid = new.incident_id;
  INSERT INTO incident_search (rowid, body) SELECT i.id, i.name || char(10) || new.cef_text FROM incidents i
    WHERE i.id = new.incident_id AND NOT EXISTS (SELECT 1 FROM incident_search WHERE rowid = new.incident_id);
  DELETE FROM incident_search_bare WHERE incident_id = new.incident_id;
END;

CREATE TRIGGER incident_search_rename AFTER UPDATE OF name ON incidents
BEGIN
  UPDATE incident_search SET body = new.name || (SELECT group_concat(char(10) || a.cef_text, '') FROM (SELECT cef_text FROM artifacts WHERE incident_id = new.id ORDER BY id) a)
    WHERE rowid = new.id;
END;

CREATE TRIGGER incident_search_delete AFTER DELETE ON incidents
BEGIN
  DELETE FROM incident_search WHERE rowid = old.id;
  DELETE FROM incident_search_bare WHERE incident_id = old.id;
END;

CREATE INDEX email_links_approval ON email_links(approval_id);
`,
};
