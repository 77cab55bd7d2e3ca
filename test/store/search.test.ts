/**
 * Incident search through the trigram index (migrations 4 and 5): same answers as a LIKE scan —
 * before the indexer ran (pending incidents), after it, and with some of each — for several
 * artifacts, incidents without artifacts, filters, keyset pages, short terms, and data that
 * existed before the migrations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { IncidentSearch } from '../../src/store/sqlite/search.js';
import { indexPendingIncidents, startSearchIndexer } from '../../src/store/sqlite/search-indexer.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { incident } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');

const ids = (xs: Array<{ id: number }>) => xs.map((x) => x.id);

async function searchCases(s: SqliteStore, bareId: number): Promise<void> {
  assert.deepEqual(ids(await s.listIncidents({ q: 'abcdef01' })), [7], 'second artifact of an incident, case-insensitive');
  assert.deepEqual(ids(await s.listIncidents({ q: 'user12@' })), [12]);
  assert.deepEqual(ids(await s.listIncidents({ q: '203.0.113.1', limit: 5 })), [19, 18, 17, 16, 15], 'substring, newest first, limit');
  assert.deepEqual(ids(await s.listIncidents({ q: '203.0.113.1', before: 15, limit: 5 })), [14, 13, 12, 11, 10]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'contoso', label: 'three', limit: 3 })), [30, 27, 24]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'host-zeta' })), [bareId], 'an incident without artifacts is found by name');
  assert.deepEqual(ids(await s.listIncidents({ q: 'Phone 3 ' })), [3]);
  assert.equal((await s.listIncidents({ q: 'OF Ünal', limit: 500 })).length, 30, 'ASCII letters fold, as with LIKE');
  assert.deepEqual(ids(await s.listIncidents({ q: '7', label: 'other', before: 10 })), [7], 'a one-character term still works');
  assert.deepEqual(ids(await s.listIncidents({ q: 'conn' })), [], 'artifact names are not searched');
  assert.equal((await s.listIncidents({ q: 'Ünal', limit: 500 })).length, 30, 'non-ASCII letters match in their own case');
  assert.equal((await s.listIncidents({ q: 'ünal', limit: 500 })).length, 0, 'and only in it, as with LIKE');
}

const pendingCount = (s: SqliteStore) => (s.db.prepare('SELECT COUNT(*) AS n FROM incident_search_pending').get() as { n: number }).n;
const indexedCount = (s: SqliteStore) => (s.db.prepare('SELECT COUNT(*) AS n FROM incident_search').get() as { n: number }).n;

test('search finds names and every artifact, newest first, with filters and keyset pages, indexed or not', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  for (let i = 1; i <= 30; i++) {
    await s.ingest(incident({ name: `Phone ${i} of Ünal`, label: i % 3 === 0 ? 'three' : 'other',
      artifacts: [
        { name: 'conn', cef: { destinationAddress: `203.0.113.${i}`, sourceUserName: `user${i}@contoso.example` } },
        ...(i === 7 ? [{ name: 'file', cef: { fileHash: 'ABCDEF0123456789' } }] : []),
      ] }), [], 'test');
    if (i === 15) assert.equal(indexPendingIncidents(s.db), 15, 'the first half indexed, the second half pending');
  }
  const bare = await s.ingest(incident({ name: 'No artifacts at all: host-zeta', artifacts: [] }), [], 'test');
  assert.equal(pendingCount(s), 16);
  await searchCases(s, bare.incident.id);
  assert.equal(indexPendingIncidents(s.db, 10), 10);
  assert.equal(indexPendingIncidents(s.db), 6);
  assert.equal(indexPendingIncidents(s.db), 0);
  assert.equal(pendingCount(s), 0);
  assert.equal(indexedCount(s), 31);
  await searchCases(s, bare.incident.id);

  // A later artifact makes the incident pending again: found by both its old and new text, once.
  s.db.prepare(`INSERT INTO artifacts (incident_id, name, cef, contains, cef_text, created_at) VALUES (?, 'late', '{}', '{}', 'late-value', ?)`)
    .run(bare.incident.id, new Date().toISOString());
  assert.equal(pendingCount(s), 1);
  assert.deepEqual(ids(await s.listIncidents({ q: 'host-zeta' })), [bare.incident.id]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'late-value' })), [bare.incident.id]);
  indexPendingIncidents(s.db);
  assert.equal(indexedCount(s), 31, 're-indexed, not added twice');
  assert.deepEqual(ids(await s.listIncidents({ q: 'late-value' })), [bare.incident.id]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'host-zeta' })), [bare.incident.id]);

  // The index is asked for the rarest part of q, not for the domain every incident shares.
  const w = new IncidentSearch(s.db).window('user12@contoso.example')!;
  assert.match(w, /12/);
  assert.doesNotMatch(w, /con|exa|use/);
  assert.equal(new IncidentSearch(s.db).window('a%b_c'), undefined, 'no three plain characters in a row');
  const plan = s.db.prepare(`EXPLAIN QUERY PLAN SELECT i.* FROM incident_search s CROSS JOIN incidents i ON i.id = s.rowid
    WHERE s.body LIKE ? AND s.body LIKE ? ESCAPE '\\' ORDER BY s.rowid DESC LIMIT 50`).all('%contoso%', '%contoso%') as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' | '), /VIRTUAL TABLE INDEX \d+:L/, 'the trigram index serves the unescaped LIKE');
  assert.doesNotMatch(plan.map((p) => p.detail).join(' | '), /TEMP B-TREE/, 'no sort: rows come in id order from the index');
  await s.close();
});

test('the background indexer empties the pending list and stops', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  for (let i = 0; i < 450; i++) await s.ingest(incident({ name: `bulk ${i}` }), [], 'test');
  const indexer = startSearchIndexer(s.db, { intervalMs: 10, onError: (err) => assert.fail(String(err)) });
  for (let t = 0; t < 100 && pendingCount(s) > 0; t++) await new Promise((r) => setTimeout(r, 20));
  indexer.stop();
  assert.equal(pendingCount(s), 0);
  assert.equal(indexedCount(s), 450);
  await s.ingest(incident({ name: 'after stop' }), [], 'test');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(pendingCount(s), 1, 'a stopped indexer indexes nothing');
  await s.close();
});

test('migrations 4 and 5 index incidents that existed before them', async () => {
  const dir = tmp.sub();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'riposte.db');
  const db = new Database(path);
  migrate(db, MIGRATIONS.filter((m) => m.version <= 3));
  const now = new Date().toISOString();
  const ins = db.prepare(`INSERT INTO incidents (name, label, severity, status, source, created_at, updated_at, last_seen_at) VALUES (?, 'l', 'low', 'new', 's', ?, ?, ?)`);
  const art = db.prepare(`INSERT INTO artifacts (incident_id, name, cef, contains, cef_text, created_at) VALUES (?, 'a', '{}', '{}', ?, ?)`);
  const a = Number(ins.run('old alert alpha', now, now, now).lastInsertRowid);
  art.run(a, '10.1.1.1\nalice', now);
  art.run(a, 'deadbeef', now);
  const b = Number(ins.run('old alert beta without artifacts', now, now, now).lastInsertRowid);
  db.close();

  const s = await openStore(path);
  assert.equal(pendingCount(s), 1, 'the incident without artifacts waits for the indexer');
  assert.deepEqual(ids(await s.listIncidents({ q: 'alice' })), [a]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'DEADBEEF' })), [a]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'old alert' })), [b, a]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'beta' })), [b]);
  indexPendingIncidents(s.db);
  assert.deepEqual(ids(await s.listIncidents({ q: 'old alert' })), [b, a]);
  await s.close();
});
