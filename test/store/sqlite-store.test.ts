import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { LATEST_VERSION, MIGRATIONS, SchemaTooNewError, migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { JournalEntry } from '../../src/store/records.js';
import { incident, run } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');
const dbPath = (): string => join(tmp.sub(), 'riposte.db');

test('pragmas: WAL, synchronous FULL by default (NORMAL on request), foreign keys, busy timeout', async () => {
  const s = await openStore(dbPath());
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
  assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(s.db.pragma('busy_timeout', { simple: true }), 5000);
  await s.close();
  const n = await openStore(dbPath(), randomBytes(32), 'normal');
  assert.equal(n.db.pragma('synchronous', { simple: true }), 1);
  await n.close();
});

test('migrations are idempotent and refuse a database newer than the code', async () => {
  const path = dbPath();
  const s = await openStore(path);
  await s.migrate();
  assert.deepEqual(migrate(s.db), [], 'nothing left to apply');
  const rows = s.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
  assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
  s.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_VERSION + 1, 'future', new Date().toISOString());
  await assert.rejects(s.migrate(), (e: unknown) => e instanceof SchemaTooNewError && /newer than this version of Riposte/.test(e.message));
  await s.close();
  await assert.rejects(openSqliteStore({ path, secretKey: randomBytes(32) }), SchemaTooNewError);
});

test('migrate applies migrations in order, each with its version row', () => {
  const db = new Database(':memory:');
  const ms = [
    { version: 2, name: 'second', sql: 'ALTER TABLE t ADD COLUMN b TEXT;' },
    { version: 1, name: 'first', sql: 'CREATE TABLE t (a INTEGER);' },
  ];
  assert.deepEqual(migrate(db, ms), [1, 2]);
  assert.deepEqual(migrate(db, ms), []);
  // A failing migration rolls back with its version row.
  assert.throws(() => migrate(db, [...ms, { version: 3, name: 'bad', sql: 'CREATE TABLE u (x); SELECT * FROM nope;' }]), /no such table/);
  assert.equal((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v, 2);
  assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'u'").get(), undefined);
  db.close();
});

test('ingest creates incident, artifacts, queued runs with an IncidentView snapshot, and an audit entry', async () => {
  const s = await openStore(dbPath());
  const res = await s.ingest(incident({ sourceId: 'sid-1', tags: ['vip'], description: 'd' }), [run('r1'), run('r2', 'pb-other')], 'ingest:splunk');
  assert.equal(res.created, true);
  assert.equal(res.incident.status, 'new');
  assert.equal(res.incident.repeatCount, 0);
  assert.deepEqual(res.incident.tags, ['vip']);
  assert.equal(res.runs.length, 2);
  const detail = (await s.getIncident(res.incident.id))!;
  assert.equal(detail.artifacts.length, 1);
  assert.deepEqual(detail.artifacts[0]!.cef, { sourceUserName: 'alice', sourceAddress: '198.51.100.7' });
  const r1 = (await s.getRun('r1'))!;
  assert.equal(r1.status, 'queued');
  assert.equal(r1.minutesSaved, 15);
  assert.deepEqual(r1.input, {
    id: res.incident.id, name: 'Impossible travel for alice', label: 'impossible-travel', severity: 'high', status: 'new',
    sourceId: 'sid-1', createdAt: res.incident.createdAt,
    artifacts: [{ id: detail.artifacts[0]!.id, name: 'login', cef: detail.artifacts[0]!.cef, contains: { sourceAddress: ['ip'] } }],
  });
  const audit = await s.listAudit({});
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.action, 'incident.create');
  assert.equal(audit[0]!.actor, 'ingest:splunk');
  assert.equal(await s.getIncident(9999), null);
  await s.close();
});

test('dedupe: same source + sourceId bumps repeatCount instead of creating', async () => {
  const s = await openStore(dbPath());
  const first = await s.ingest(incident({ sourceId: 'sid-9' }), [run('r1')], 'ingest');
  const again = await s.ingest(incident({ sourceId: 'sid-9' }), [run('r2')], 'ingest');
  assert.equal(again.created, false);
  assert.deepEqual(again.runs, []);
  assert.equal(again.incident.id, first.incident.id);
  assert.equal(again.incident.repeatCount, 1);
  const third = await s.ingest(incident({ sourceId: 'sid-9' }), [], 'ingest');
  assert.equal(third.incident.repeatCount, 2);
  assert.ok(third.incident.lastSeenAt >= first.incident.lastSeenAt);
  assert.equal(await s.getRun('r2'), null, 'no run for a duplicate');
  // Different source with the same id, and alerts without a sourceId, are new incidents.
  assert.equal((await s.ingest(incident({ source: 'generic', sourceId: 'sid-9' }), [], 'ingest')).created, true);
  assert.equal((await s.ingest(incident(), [], 'ingest')).created, true);
  assert.equal((await s.ingest(incident(), [], 'ingest')).created, true);
  assert.equal((await s.listIncidents({})).length, 4);
  assert.deepEqual((await s.listAudit({})).map((e) => e.action),
    ['incident.create', 'incident.repeat', 'incident.repeat', 'incident.create', 'incident.create', 'incident.create']);
  // A failed ingest (duplicate run id) leaves nothing behind.
  await assert.rejects(s.ingest(incident({ sourceId: 'sid-x' }), [run('r1')], 'ingest'), /run r1 already exists/);
  assert.equal((await s.listIncidents({})).length, 4);
  await s.close();
});

test('concurrent ingests of the same alerts from several connections create each incident once', async () => {
  const path = dbPath();
  const key = randomBytes(32);
  await (await openStore(path, key)).close();
  const workers = 4;
  const alerts = 25;
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(async ({ SqliteStore }) => {
      const s = new SqliteStore({ path: workerData.path, secretKey: Buffer.from(workerData.key, 'hex') });
      await s.migrate();
      parentPort.postMessage('ready');
      await new Promise((res) => parentPort.once('message', res));
      let created = 0;
      for (let i = 0; i < workerData.alerts; i++) {
        const r = await s.ingest({ name: 'a' + i, label: 'l', severity: 'low', source: 'splunk', sourceId: 'sid-' + i,
          artifacts: [{ name: 'x', cef: { n: String(i) } }] }, [{ id: 'run-' + workerData.w + '-' + i, playbookId: 'p', playbookVersion: 1, playbookHash: 'h' }], 'w');
        if (r.created) created++;
      }
      await s.close();
      parentPort.postMessage(created);
    }).catch((e) => { throw e; });`;
  const url = new URL('../../src/store/sqlite/sqlite-store.js', import.meta.url).href;
  const ws = Array.from({ length: workers }, (_, w) => new Worker(code, { eval: true, workerData: { url, path, key: key.toString('hex'), alerts, w } }));
  const done = ws.map((w) => new Promise<number>((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m) => { if (typeof m === 'number') resolve(m); });
  }));
  await Promise.all(ws.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
  ws.forEach((w) => w.postMessage('go'));
  const created = (await Promise.all(done)).reduce((a, b) => a + b, 0);
  assert.equal(created, alerts);
  const s = await openStore(path, key);
  const all = await s.listIncidents({ limit: 500 });
  assert.equal(all.length, alerts);
  assert.equal(all.reduce((sum, i) => sum + i.repeatCount, 0), alerts * (workers - 1));
  assert.equal((await s.listRuns({ limit: 1000 })).length, alerts);
  const v = await s.verifyAudit();
  assert.deepEqual({ ok: v.ok, entries: v.entries }, { ok: true, entries: alerts * workers }, 'the audit chain did not fork');
  await s.close();
});

test('listIncidents: newest first, keyset pagination, limits, filters and search', async () => {
  const s = await openStore(dbPath());
  for (let i = 1; i <= 60; i++) {
    await s.ingest(incident({ name: `alert ${i}`, label: i % 2 ? 'odd' : 'even',
      artifacts: [{ name: 'a', cef: { destinationAddress: `10.0.0.${i}`, fileHash: i === 7 ? 'DEADbeef_%x' : 'h' } }] }), [], 'ingest');
  }
  const page1 = await s.listIncidents({});
  assert.equal(page1.length, 50, 'default limit 50');
  assert.deepEqual(page1.slice(0, 3).map((i) => i.id), [60, 59, 58]);
  const page2 = await s.listIncidents({ before: page1.at(-1)!.id, limit: 20 });
  assert.deepEqual(page2.map((i) => i.id), Array.from({ length: 10 }, (_, k) => 10 - k));
  assert.equal((await s.listIncidents({ limit: 100000 })).length, 60);
  assert.equal((await s.listIncidents({ limit: 0 })).length, 1);
  assert.ok((await s.listIncidents({ label: 'odd' })).every((i) => i.label === 'odd'));
  assert.equal((await s.listIncidents({ label: 'odd', limit: 500 })).length, 30);
  await s.updateIncident(5, { status: 'open' }, 'alice');
  assert.deepEqual((await s.listIncidents({ status: 'open' })).map((i) => i.id), [5]);
  assert.deepEqual((await s.listIncidents({ status: 'open', label: 'even' })).map((i) => i.id), []);
  assert.deepEqual((await s.listIncidents({ q: 'alert 42' })).map((i) => i.id), [42]);
  assert.deepEqual((await s.listIncidents({ q: '10.0.0.33' })).map((i) => i.id), [33], 'matches artifact CEF values');
  assert.deepEqual((await s.listIncidents({ q: 'deadBEEF' })).map((i) => i.id), [7], 'case-insensitive');
  assert.deepEqual((await s.listIncidents({ q: '_%' })).map((i) => i.id), [7], 'LIKE wildcards are literal');
  assert.deepEqual((await s.listIncidents({ q: 'destinationAddress' })).map((i) => i.id), [], 'field names are not searched');
  assert.deepEqual((await s.listIncidents({ q: '10.0.0.1', label: 'even', limit: 3 })).map((i) => i.id), [18, 16, 14]);
  const plan = s.db.prepare("EXPLAIN QUERY PLAN SELECT * FROM incidents i WHERE i.status = 'new' AND i.id < 10 ORDER BY i.id DESC LIMIT 5").all() as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' '), /USING INDEX incidents_status_id/);
  await s.close();
});

test('updateIncident: closedAt on close/resolve, cleared on reopen, audited with before/after', async () => {
  const s = await openStore(dbPath());
  const { incident: inc } = await s.ingest(incident(), [], 'ingest');
  const closed = await s.updateIncident(inc.id, { status: 'closed', owner: 'bob' }, 'alice');
  assert.equal(closed.status, 'closed');
  assert.equal(closed.owner, 'bob');
  assert.ok(closed.closedAt);
  const resolved = await s.updateIncident(inc.id, { status: 'resolved' }, 'alice');
  assert.equal(resolved.closedAt, closed.closedAt, 'still closed: keeps the original closing time');
  const reopened = await s.updateIncident(inc.id, { status: 'open', severity: 'critical' }, 'alice');
  assert.equal(reopened.closedAt, null);
  assert.equal(reopened.severity, 'critical');
  const unchanged = await s.updateIncident(inc.id, { status: 'open' }, 'alice');
  assert.equal(unchanged.updatedAt, reopened.updatedAt);
  const updates = (await s.listAudit({})).filter((e) => e.action === 'incident.update');
  assert.equal(updates.length, 3, 'no entry for a no-op update');
  assert.deepEqual(updates[0]!.detail, { status: { before: 'new', after: 'closed' }, owner: { before: null, after: 'bob' } });
  assert.equal(updates[0]!.actor, 'alice');
  assert.equal(updates[0]!.target, `incident:${inc.id}`);
  await assert.rejects(s.updateIncident(424242, { status: 'open' }, 'alice'), /incident 424242 not found/);
  await s.close();
});

test('countRelated: indexed CEF match within [since, until), label filter, excluding the current incident', async () => {
  const s = await openStore(dbPath());
  const mk = async (user: string, createdAt: string, label = 'impossible-travel', host = 'h1'): Promise<number> => {
    const { incident: inc } = await s.ingest(incident({ label, artifacts: [{ name: 'a', cef: { sourceUserName: user, deviceHostname: host } }] }), [], 'i');
    s.db.prepare('UPDATE incidents SET created_at = ? WHERE id = ?').run(createdAt, inc.id);
    return inc.id;
  };
  const before = await mk('alice', '2024-01-01T09:59:59.999Z');
  const atSince = await mk('alice', '2024-01-01T10:00:00.000Z');
  const inside = await mk('alice', '2024-01-01T11:00:00.000Z', 'impossible-travel', 'h2');
  const otherLabel = await mk('alice', '2024-01-01T11:30:00.000Z', 'phishing');
  await mk('bob', '2024-01-01T11:40:00.000Z');
  const current = await mk('alice', '2024-01-01T12:00:00.000Z');
  const atUntil = await mk('alice', '2024-01-01T12:00:00.000Z');
  const hostOnly = await mk('carol', '2024-01-01T11:50:00.000Z', 'impossible-travel', 'h2');
  const q = { match: [{ field: 'sourceUserName', value: 'alice' }], since: '2024-01-01T10:00:00.000Z', until: '2024-01-01T12:00:00.000Z', excludeIncidentId: current };
  assert.deepEqual(await s.countRelated(q), { count: 3, incidentIds: [otherLabel, inside, atSince] });
  assert.deepEqual(await s.countRelated({ ...q, label: 'impossible-travel' }), { count: 2, incidentIds: [inside, atSince] });
  assert.deepEqual(await s.countRelated({ ...q, label: 'impossible-travel', match: [...q.match, { field: 'deviceHostname', value: 'h2' }] }),
    { count: 3, incidentIds: [hostOnly, inside, atSince] }, 'several matches = any, each incident once');
  assert.deepEqual(await s.countRelated({ ...q, match: [{ field: 'deviceHostname', value: 'alice' }] }), { count: 0, incidentIds: [] }, 'field must match too');
  assert.deepEqual(await s.countRelated({ ...q, match: [] }), { count: 0, incidentIds: [] });
  const ids = (await s.countRelated(q)).incidentIds;
  for (const id of [before, atUntil, current]) assert.ok(!ids.includes(id), `incident ${id} is outside the window or excluded`);
  const plan = s.db.prepare(`EXPLAIN QUERY PLAN SELECT DISTINCT f.incident_id FROM artifact_fields f JOIN incidents i ON i.id = f.incident_id
    WHERE f.field = ? AND f.value = ? AND i.id <> ? AND i.created_at >= ? AND i.created_at < ? AND (? IS NULL OR i.label = ?)`)
    .all('a', 'b', 1, 'x', 'y', null, null) as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' '), /SEARCH f USING PRIMARY KEY \(field=\? AND value=\?\)/);
  await s.close();
});

test('notes are listed oldest first and need an existing incident', async () => {
  const s = await openStore(dbPath());
  const { incident: inc } = await s.ingest(incident(), [run('r1')], 'i');
  await s.addNote({ incidentId: inc.id, author: 'alice', text: 'first' });
  const n2 = await s.addNote({ incidentId: inc.id, runId: 'r1', author: 'playbook:pb-travel', text: 'second' });
  assert.equal(n2.runId, 'r1');
  assert.deepEqual((await s.listNotes(inc.id)).map((n) => n.text), ['first', 'second']);
  assert.deepEqual(await s.listNotes(999), []);
  await assert.rejects(s.addNote({ incidentId: 999, author: 'a', text: 'x' }), /incident 999 not found/);
  await s.close();
});

test('run lifecycle, dueRuns and nextWakeAt', async () => {
  const s = await openStore(dbPath());
  const { incident: inc } = await s.ingest(incident(), [run('q1'), run('q2')], 'i');
  const created = await s.createRun(inc.id, run('w1', 'pb-wait'), 'alice');
  assert.equal(created.status, 'queued');
  assert.equal((created.input as { id: number }).id, inc.id);
  await s.createRun(inc.id, run('w2', 'pb-wait'), 'alice');
  await s.createRun(inc.id, run('done'), 'alice');
  await assert.rejects(s.createRun(777, run('x'), 'alice'), /incident 777 not found/);
  await assert.rejects(s.createRun(inc.id, run('q1'), 'alice'), /run q1 already exists/);

  const started = await s.updateRun('q2', { status: 'running', startedAt: '2024-01-01T00:00:00.000Z' });
  assert.equal(started.status, 'running');
  assert.ok(started.updatedAt >= created.updatedAt);
  await s.updateRun('w1', { status: 'waiting', wakeAt: '2024-01-01T01:00:00.000Z' });
  await s.updateRun('w2', { status: 'waiting', wakeAt: '2024-01-01T03:00:00.000Z' });
  const fin = await s.updateRun('done', { status: 'completed', output: { blocked: true }, finishedAt: '2024-01-01T00:05:00.000Z' });
  assert.deepEqual(fin.output, { blocked: true });
  assert.equal(fin.startedAt, null, 'fields not in the patch are kept');

  assert.equal(await s.nextWakeAt(), '2024-01-01T01:00:00.000Z');
  const recover = { includeRunning: true };
  assert.deepEqual((await s.dueRuns('2024-01-01T00:30:00.000Z', 10, recover)).map((r) => r.id), ['q1', 'q2']);
  assert.deepEqual((await s.dueRuns('2024-01-01T00:30:00.000Z', 10)).map((r) => r.id), ['q1'], 'running runs only when recovering');
  assert.deepEqual((await s.dueRuns('2024-01-01T01:00:00.000Z', 10, recover)).map((r) => r.id), ['q1', 'q2', 'w1'], 'wakeAt <= now is due');
  assert.deepEqual((await s.dueRuns('2024-01-01T05:00:00.000Z', 2, recover)).map((r) => r.id), ['q1', 'q2'], 'limit, in creation order');

  const woke = await s.updateRun('w1', { status: 'running', wakeAt: null });
  assert.equal(woke.wakeAt, null);
  assert.equal(await s.nextWakeAt(), '2024-01-01T03:00:00.000Z');
  const failed = await s.updateRun('w2', { status: 'needs_attention', attentionReason: 'unknown outcome', error: { name: 'E', message: 'm', retryable: false, applied: 'unknown' } });
  assert.equal(failed.attentionReason, 'unknown outcome');
  assert.deepEqual(failed.error, { name: 'E', message: 'm', retryable: false, applied: 'unknown' });
  assert.equal(await s.nextWakeAt(), null);
  await assert.rejects(s.updateRun('nope', { status: 'running' }), /run nope not found/);

  assert.deepEqual((await s.listRuns({ incidentId: inc.id })).map((r) => r.id), ['done', 'w2', 'w1', 'q2', 'q1']);
  assert.deepEqual((await s.listRuns({ playbookId: 'pb-wait' })).map((r) => r.id), ['w2', 'w1']);
  assert.deepEqual((await s.listRuns({ status: 'running' })).map((r) => r.id), ['w1', 'q2']);
  assert.equal((await s.listRuns({ limit: 2 })).length, 2);
  assert.equal((await s.listAudit({})).filter((e) => e.action === 'run.create').length, 3);
  await s.close();
});

const entry = (runId: string, seq: number, over: Partial<JournalEntry> = {}): JournalEntry => ({
  runId, seq, kind: 'action', name: 'mdm.findDevice', asset: 'mdm-prod', app: 'mdm', action: 'findDevice', status: 'started',
  input: { user: 'alice' }, output: null, error: null, attempts: 1, startedAt: '2024-01-01T00:00:00.000Z', finishedAt: null,
  wakeAt: null, detail: null, resolution: null, ...over,
});

test('journal: ordered, duplicates rejected, partial updates; action results append-only', async () => {
  const s = await openStore(dbPath());
  await s.ingest(incident(), [run('r1')], 'i');
  await s.appendJournal(entry('r1', 1, { kind: 'sleep', name: 'sleep', asset: null, app: null, action: null, status: 'waiting', wakeAt: '2024-01-02T00:00:00.000Z' }));
  await s.appendJournal(entry('r1', 0));
  await assert.rejects(s.appendJournal(entry('r1', 0, { name: 'other' })), /journal entry r1#0 already exists/);
  await assert.rejects(s.appendJournal(entry('no-run', 0)), /run no-run not found/);
  await s.updateJournal('r1', 0, { status: 'completed', output: { deviceId: 'd1' }, finishedAt: '2024-01-01T00:00:01.000Z' });
  const j = await s.loadJournal('r1');
  assert.deepEqual(j.map((e) => e.seq), [0, 1]);
  assert.deepEqual(j[0], entry('r1', 0, { status: 'completed', output: { deviceId: 'd1' }, finishedAt: '2024-01-01T00:00:01.000Z' }));
  assert.equal(j[1]!.wakeAt, '2024-01-02T00:00:00.000Z');
  await s.updateJournal('r1', 1, { status: 'completed', wakeAt: null, detail: 'timer fired' });
  const j1 = (await s.loadJournal('r1'))[1]!;
  assert.equal(j1.wakeAt, null);
  assert.equal(j1.detail, 'timer fired');
  assert.equal(j1.attempts, 1, 'untouched');
  await assert.rejects(s.updateJournal('r1', 5, { status: 'failed' }), /journal entry r1#5 not found/);
  assert.deepEqual(await s.loadJournal('other'), []);

  const base = { runId: 'r1', seq: 0, app: 'mdm', asset: 'mdm-prod', action: 'findDevice', idempotencyKey: 'r1:0', input: { user: 'alice' },
    startedAt: '2024-01-01T00:00:00.000Z' };
  await s.recordActionResult({ ...base, attempt: 1, outcome: 'timeout', output: null, error: { name: 'T', message: 'timeout', retryable: true, applied: 'unknown' }, durationMs: 30000 });
  await s.recordActionResult({ ...base, attempt: 2, outcome: 'succeeded', output: { deviceId: 'd1' }, error: null, durationMs: 120.5 });
  const results = await s.listActionResults('r1');
  assert.deepEqual(results.map((r) => [r.attempt, r.outcome]), [[1, 'timeout'], [2, 'succeeded']]);
  assert.equal(results[1]!.durationMs, 120.5);
  assert.deepEqual(results[1]!.output, { deviceId: 'd1' });
  await s.close();
});

test('data persists across close and reopen (same file, same key)', async () => {
  const dataDir = tmp.sub();
  const s = await openSqliteStore({ dataDir, env: {} });
  const { incident: inc } = await s.ingest(incident({ sourceId: 'p1' }), [run('r1')], 'i');
  await s.appendJournal(entry('r1', 0));
  await s.createList('blocked', null, 'alice');
  await s.addListItems('blocked', ['10.0.0.0/8'], 'alice');
  await s.putAsset({ name: 'mdm-prod', appId: 'mdm', config: { url: 'https://mdm' }, secrets: { apiKey: 'k-123' } }, 'alice');
  await s.close();
  const again = await openSqliteStore({ dataDir, env: {} });
  assert.equal((await again.getIncident(inc.id))!.sourceId, 'p1');
  assert.equal((await again.loadJournal('r1')).length, 1);
  assert.deepEqual(await again.getListItems('blocked'), ['10.0.0.0/8']);
  assert.deepEqual(await again.getAssetSecrets('mdm-prod'), { apiKey: 'k-123' });
  assert.equal((await again.ingest(incident({ sourceId: 'p1' }), [], 'i')).created, false);
  const verified = await again.verifyAudit();
  assert.deepEqual({ ok: verified.ok, entries: verified.entries }, { ok: true, entries: 5 });
  await again.close();
  await again.close(); // closing twice is harmless
});

test('a store works without an explicit migrate() call', async () => {
  const s = new SqliteStore({ path: ':memory:', secretKey: randomBytes(32) });
  assert.equal((await s.ingest(incident(), [], 'i')).created, true);
  await s.close();
  assert.throws(() => new SqliteStore({ path: ':memory:', secretKey: randomBytes(16) }), /32-byte/);
});

test('putJournal: a parked marker becomes an intent (new start time), the intent its outcome (start kept), with its resolution', async () => {
  const s = await openStore(dbPath());
  await s.ingest(incident(), [run('r1')], 'i');
  await s.putJournal(entry('r1', 0, { status: 'waiting', asset: null, app: null, detail: 'waits for approval a1', wakeAt: '2024-01-03T00:00:00.000Z' }));
  let [e] = await s.loadJournal('r1');
  assert.equal(e!.status, 'waiting');
  assert.equal(e!.asset, null);
  await s.putJournal(entry('r1', 0, { startedAt: '2024-01-02T00:00:00.000Z', attempts: 0, detail: 'approved by bob' }));
  [e] = await s.loadJournal('r1');
  assert.deepEqual([e!.status, e!.startedAt, e!.asset, e!.detail, e!.wakeAt], ['started', '2024-01-02T00:00:00.000Z', 'mdm-prod', 'approved by bob', null]);
  await s.putJournal(entry('r1', 0, { status: 'completed', output: { ok: true }, startedAt: '2024-01-05T00:00:00.000Z', finishedAt: '2024-01-05T00:00:01.000Z', resolution: 3 }));
  [e] = await s.loadJournal('r1');
  assert.deepEqual([e!.status, e!.startedAt, e!.output, e!.resolution], ['completed', '2024-01-02T00:00:00.000Z', { ok: true }, 3]);
  await assert.rejects(s.putJournal(entry('nope', 0)), /run nope not found/);
  await s.close();
});
