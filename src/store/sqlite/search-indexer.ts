/**
 * Keeps the trigram search index (migrations 4 and 5) up to date off the ingest path: incidents
 * noted in `incident_search_pending` by the triggers are indexed in batches, each batch one short
 * transaction of its own. A batch writes one FTS5 segment for up to 200 incidents, where writing
 * inside each alert's transaction wrote one per alert — and FTS5's merging of those was what
 * stalled ingestion. Until an incident is indexed, search finds it through a LIKE on the pending
 * ones (search.ts), so nothing is ever missing from the results.
 */
import type Database from 'better-sqlite3';

/** Indexes (or re-indexes) up to `max` pending incidents in one transaction; returns how many. */
export function indexPendingIncidents(db: Database.Database, max = 200): number {
  const ids = "(SELECT value FROM json_each(?))";
  const s = statements.get(db) ?? {
    pick: db.prepare<[number], { incident_id: number }>('SELECT incident_id FROM incident_search_pending ORDER BY incident_id LIMIT ?'),
    // An incident indexed before (a late artifact, a rename) is indexed afresh.
    unindex: db.prepare<[string]>(`DELETE FROM incident_search WHERE rowid IN ${ids}`),
    index: db.prepare<[string]>(`INSERT INTO incident_search (rowid, body)
      SELECT i.id, i.name || COALESCE((SELECT group_concat(char(10) || t.cef_text, '') FROM (SELECT cef_text FROM artifacts WHERE incident_id = i.id ORDER BY id) t), '')
      FROM incidents i WHERE i.id IN ${ids}`),
    done: db.prepare<[string]>(`DELETE FROM incident_search_pending WHERE incident_id IN ${ids}`),
  };
  statements.set(db, s);
  return db.transaction(() => {
    const pending = s.pick.all(max).map((r) => r.incident_id);
    if (pending.length === 0) return 0;
    const json = JSON.stringify(pending);
    s.unindex.run(json);
    s.index.run(json);
    s.done.run(json);
    return pending.length;
  }).immediate();
}

const statements = new WeakMap<Database.Database, {
  pick: Database.Statement<[number], { incident_id: number }>;
  unindex: Database.Statement<[string]>;
  index: Database.Statement<[string]>;
  done: Database.Statement<[string]>;
}>();

export interface SearchIndexerOptions {
  /** Pause between rounds when nothing is pending (default 100 ms). */
  intervalMs?: number;
  /** Longest a round keeps the event loop (default 20 ms): batches are indexed until it is spent. */
  budgetMs?: number;
  onError?: (err: unknown) => void;
}

/** Indexes pending incidents in the background until stopped (timers are unref'd). */
export function startSearchIndexer(db: Database.Database, opts: SearchIndexerOptions = {}): { stop(): void } {
  const interval = opts.intervalMs ?? 100;
  const budget = opts.budgetMs ?? 20;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const round = () => {
    timer = null;
    if (stopped || !db.open) return;
    let backlog = false;
    try {
      const t0 = performance.now();
      do backlog = indexPendingIncidents(db) === 200;
      while (backlog && performance.now() - t0 < budget);
    } catch (err) {
      opts.onError?.(err);
    }
    // With a backlog, come back soon — but after other work had its turn.
    timer = setTimeout(round, backlog ? 5 : interval);
    timer.unref();
  };
  timer = setTimeout(round, 0);
  timer.unref();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
