/**
 * Fills a stopped server's database directly (better-sqlite3, big transactions) with incidents
 * shaped like the Splunk webhook's — incident, one artifact, one artifact_fields row per CEF
 * field, written through the real schema (and so its triggers) — and, for the first
 * `oldRuns` of them, a finished run with its journal and action results, copied from a real run of
 * the founding phase and dated 35–90 days ago (for the pruning measurement).
 *
 * synchronous=OFF here: this is a fixture, not a measurement; the server reopens the file with its
 * shipped settings afterwards. For the same reason the search index (migration 4) is built in
 * bulk after the rows are written — its triggers are dropped meanwhile and recreated from their
 * own SQL — which gives the same index as the triggers would, several times faster. (What the
 * triggers cost per alert is measured where it matters: the ingestion phase, on the live server.)
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';

const DAY = 86_400_000;
const LABELS = ['mobile-unauthorized-ip', 'mobile-unauthorized-ip', 'mobile-unauthorized-ip', 'mobile-unauthorized-ip', 'mobile-unauthorized-ip', 'mobile-unauthorized-ip', 'phishing', 'phishing', 'malware', 'impossible-travel'];
const STATUSES = ['new', 'open', 'contained', 'resolved', 'resolved', 'closed', 'closed', 'closed'];
const SEVERITIES = ['low', 'medium', 'high', 'high', 'critical'];
export const FILL_USERS = 5000;

export interface FillResult {
  incidents: number;
  firstId: number;
  lastId: number;
  oldRuns: number;
  seconds: number;
}

type Row = Record<string, unknown>;

/** A completed run of the founding playbook to copy (run row, journal rows, action results). */
function template(db: Database.Database): { run: Row; journal: Row[]; results: Row[] } | undefined {
  const run = db.prepare(`SELECT * FROM runs WHERE status = 'completed' AND playbook_id = 'mobile-unauthorized-ip' ORDER BY rowid DESC LIMIT 1`).get() as Row | undefined;
  if (!run) return undefined;
  return {
    run,
    journal: db.prepare('SELECT * FROM journal WHERE run_id = ? ORDER BY seq').all(run.id) as Row[],
    results: db.prepare('SELECT * FROM action_results WHERE run_id = ? ORDER BY id').all(run.id) as Row[],
  };
}

function insertAll(db: Database.Database, table: string, row: Row): Database.Statement {
  const cols = Object.keys(row);
  return db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
}

export function fillIncidents(db: Database.Database, count: number, oldRuns: number, log: (m: string) => void = () => {}): FillResult {
  const t0 = Date.now();
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -524288'); // 512 MB: the artifact_fields index is written in random order
  const maxI = (db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM incidents').get() as { m: number }).m;
  const maxA = (db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM artifacts').get() as { m: number }).m;
  const tpl = oldRuns > 0 ? template(db) : undefined;
  const insI = db.prepare(`INSERT INTO incidents (id, name, label, severity, status, description, owner, source, source_id, repeat_count, tags,
    created_at, updated_at, last_seen_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, NULL, 'splunk', ?, 0, '[]', ?, ?, ?, ?)`);
  const insA = db.prepare(`INSERT INTO artifacts (id, incident_id, name, label, cef, contains, source_id, cef_text, created_at)
    VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?)`);
  const insF = db.prepare('INSERT OR IGNORE INTO artifact_fields (artifact_id, incident_id, field, value) VALUES (?, ?, ?, ?)');
  const insRun = tpl ? insertAll(db, 'runs', tpl.run) : undefined;
  const insJ = tpl?.journal[0] ? insertAll(db, 'journal', tpl.journal[0]) : undefined;
  const insR = tpl?.results[0] ? insertAll(db, 'action_results', { ...tpl.results[0], id: null }) : undefined;
  const now = Date.now();
  // Oldest first: incidents span 90 days back to yesterday; the first `oldRuns` are older than 35 days.
  const start = now - 90 * DAY;
  const contains = JSON.stringify({ destinationAddress: ['ip'], sourceAddress: ['ip'], sourceUserName: ['user name'], deviceHostname: ['host name'], sourceMacAddress: ['mac address'], destinationPort: ['port'], cs1: ['url'] });
  let runsWritten = 0;

  const one = (k: number) => {
    const id = maxI + 1 + k, artId = maxA + 1 + k;
    const u = (k * 7919) % FILL_USERS;
    // Monotonic in k: the incidents with old runs fill the first 55 days, the rest the last 34.
    const at = k < oldRuns ? start + (k / oldRuns) * 55 * DAY : start + 55 * DAY + ((k - oldRuns) / Math.max(1, count - oldRuns)) * 34 * DAY;
    const created = new Date(at).toISOString();
    const sid = `scheduler__admin__search__RMD5fill_at_${Math.floor(at / 1000)}_${id}`;
    const dest = `203.0.${(k >> 8) & 255}.${(k % 250) + 1}`;
    const label = LABELS[k % LABELS.length]!;
    const cef: Record<string, string> = {
      destinationAddress: dest, sourceAddress: `10.${64 + (u >> 8)}.${u & 255}.7`, sourceUserName: `user${u}@contoso.example`,
      deviceHostname: `PHONE-${u}`, sourceMacAddress: `3c:22:fb:${((u >> 8) & 255).toString(16).padStart(2, '0')}:${(u & 255).toString(16).padStart(2, '0')}:56`,
      destinationPort: '443', cs1Label: 'results_link', cs1: `http://splunk.example.local:8000/app/search/@go?sid=${sid}`,
    };
    const status = STATUSES[k % STATUSES.length]!;
    const name = label === 'mobile-unauthorized-ip'
      ? `Mobile device reached unauthorized IP: user${u}@contoso.example on PHONE-${u} → ${dest}`
      : `${label}: user${u}@contoso.example (${dest})`;
    insI.run(id, name, label, SEVERITIES[k % SEVERITIES.length], status, `Splunk search "${label}", sid ${sid}, app search, owner admin. Results: ${cef.cs1}`,
      sid, created, created, created, status === 'resolved' || status === 'closed' ? created : null);
    insA.run(artId, id, `Splunk alert ${label}`, JSON.stringify(cef), contains, sid, Object.values(cef).join('\n'), created);
    for (const [f, v] of Object.entries(cef)) insF.run(artId, id, f, v);
    if (k < oldRuns && tpl && insRun) {
      const runId = randomUUID();
      const fin = new Date(Date.parse(created) + 40).toISOString();
      insRun.run({ ...tpl.run, id: runId, incident_id: id, created_at: created, started_at: created, updated_at: fin, finished_at: fin });
      for (const j of tpl.journal) insJ!.run({ ...j, run_id: runId, started_at: created, finished_at: j.finished_at === null ? null : fin });
      for (const r of tpl.results) insR!.run({ ...r, id: null, run_id: runId, idempotency_key: `${runId}:${r.seq}`, started_at: created });
      runsWritten++;
    }
  };
  const batch = db.transaction((from: number, to: number) => { for (let k = from; k < to; k++) one(k); });
  const triggers = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'incident\\_search%' ESCAPE '\\'`).all() as Array<{ name: string; sql: string }>;
  for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
  try {
    for (let k = 0; k < count; k += 20_000) {
      batch(k, Math.min(count, k + 20_000));
      if (k % 200_000 === 0 && k > 0) log(`  … ${k.toLocaleString('en-US')} incidents (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
    if (triggers.length > 0) {
      // What the triggers would have written: name and artifact values, one row per incident.
      const index = db.prepare(`INSERT INTO incident_search (rowid, body) SELECT i.id, i.name || char(10) || a.cef_text
        FROM incidents i JOIN artifacts a ON a.incident_id = i.id WHERE i.id BETWEEN ? AND ?`);
      for (let from = maxI + 1; from <= maxI + count; from += 100_000) db.transaction(() => index.run(from, Math.min(maxI + count, from + 99_999)))();
      log(`  search index built (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  } finally {
    for (const t of triggers) db.exec(t.sql);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { incidents: count, firstId: maxI + 1, lastId: maxI + count, oldRuns: runsWritten, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}
