/**
 * Incident search through the trigram index (migration 4): same answers as a LIKE scan, for
 * several artifacts, incidents without artifacts, filters, keyset pages, short terms, and data
 * that existed before the migration.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { IncidentSearch } from '../../src/store/sqlite/search.js';
import { TempDirs, incident, openStore } from './helpers.js';

const tmp = new TempDirs();
after(() => tmp.cleanup());

const ids = (xs: Array<{ id: number }>) => xs.map((x) => x.id);

test('search finds names and every artifact, newest first, with filters and keyset pages', async () => {
  const s = await openStore(join(tmp.dir(), 'riposte.db'));
  for (let i = 1; i <= 30; i++) {
    await s.ingest(incident({ name: `Phone ${i} of Ünal`, label: i % 3 === 0 ? 'three' : 'other',
      artifacts: [
        { name: 'conn', cef: { destinationAddress: `203.0.113.${i}`, sourceUserName: `user${i}@contoso.example` } },
        ...(i === 7 ? [{ name: 'file', cef: { fileHash: 'ABCDEF0123456789' } }] : []),
      ] }), [], 'test');
  }
  const bare = await s.ingest(incident({ name: 'No artifacts at all: host-zeta', artifacts: [] }), [], 'test');
  assert.deepEqual(ids(await s.listIncidents({ q: 'abcdef01' })), [7], 'second artifact of an incident, case-insensitive');
  assert.deepEqual(ids(await s.listIncidents({ q: 'user12@' })), [12]);
  assert.deepEqual(ids(await s.listIncidents({ q: '203.0.113.1', limit: 5 })), [19, 18, 17, 16, 15], 'substring, newest first, limit');
  assert.deepEqual(ids(await s.listIncidents({ q: '203.0.113.1', before: 15, limit: 5 })), [14, 13, 12, 11, 10]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'contoso', label: 'three', limit: 3 })), [30, 27, 24]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'host-zeta' })), [bare.incident.id], 'an incident without artifacts is found by name');
  assert.deepEqual(ids(await s.listIncidents({ q: 'Phone 3 ' })), [3]);
  assert.equal((await s.listIncidents({ q: 'OF Ünal', limit: 500 })).length, 30, 'ASCII letters fold, as with LIKE');
  assert.deepEqual(ids(await s.listIncidents({ q: '7', label: 'other', before: 10 })), [7], 'a one-character term still works');
  assert.deepEqual(ids(await s.listIncidents({ q: 'conn' })), [], 'artifact names are not searched');
  assert.equal((await s.listIncidents({ q: 'Ünal', limit: 500 })).length, 30, 'non-ASCII letters match in their own case');
  assert.equal((await s.listIncidents({ q: 'ünal', limit: 500 })).length, 0, 'and only in it, as with LIKE');
  // The index is asked for the rarest part of q, not for the domain every incident shares.
  const w = new IncidentSearch(s.db).window('user12@contoso.example')!;
  assert.match(w, /12/);
  assert.doesNotMatch(w, /con|exa|use/);
  assert.equal(new IncidentSearch(s.db).window('a%b_c'), undefined, 'no three plain characters in a row');
  // A later artifact for the bare incident moves it into the index (no duplicate answers).
  s.db.prepare(`INSERT INTO artifacts (incident_id, name, cef, contains, cef_text, created_at) VALUES (?, 'late', '{}', '{}', 'late-value', ?)`)
    .run(bare.incident.id, new Date().toISOString());
  assert.deepEqual(ids(await s.listIncidents({ q: 'host-zeta' })), [bare.incident.id]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'late-value' })), [bare.incident.id]);
  assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM incident_search_bare').get() as { n: number }).n, 0);
  const plan = s.db.prepare(`EXPLAIN QUERY PLAN SELECT i.* FROM incident_search s CROSS JOIN incidents i ON i.id = s.rowid
    WHERE s.body LIKE ? ESCAPE '\\' ORDER BY s.rowid DESC LIMIT 50`).all('%contoso%') as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' | '), /VIRTUAL TABLE INDEX/);
  assert.doesNotMatch(plan.map((p) => p.detail).join(' | '), /TEMP B-TREE/, 'no sort: rows come in id order from the index');
  await s.close();
});

test('migration 4 indexes incidents that existed before it', async () => {
  const dir = tmp.dir();
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
  assert.deepEqual(ids(await s.listIncidents({ q: 'alice' })), [a]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'DEADBEEF' })), [a]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'old alert' })), [b, a]);
  assert.deepEqual(ids(await s.listIncidents({ q: 'beta' })), [b]);
  await s.close();
});
