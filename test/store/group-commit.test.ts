import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';

function open(): { db: Database.Database; count: () => number; insert: (v: string) => () => unknown; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rp-gc-'));
  const db = new Database(join(dir, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
  const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
  return {
    db,
    count: () => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n,
    insert: (v) => () => ins.run(v),
    close: () => { db.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

test('writes queued in one turn commit together, in order, and each failure rejects only its own promise', async () => {
  const s = open();
  try {
    const gc = new GroupCommit(s.db);
    const results = await Promise.allSettled([gc.run(s.insert('a')), gc.run(s.insert('a')), gc.run(s.insert('b'))]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(gc.stats.commits, 1);
    assert.deepEqual(s.db.prepare('SELECT v FROM t ORDER BY id').all(), [{ v: 'a' }, { v: 'b' }]);
  } finally {
    s.close();
  }
});

test('a lazy write waits for the next batch or its deadline; urge commits it this turn', async () => {
  const s = open();
  try {
    const gc = new GroupCommit(s.db, 2000, 30);
    const lazy = gc.run(s.insert('lazy-1'), true);
    await new Promise((r) => setImmediate(r));
    assert.equal(s.count(), 0, 'not committed at the end of the turn');
    await lazy; // committed by the deadline, without anyone urging
    assert.equal(s.count(), 1);
    assert.equal(gc.stats.commits, 1);

    const t0 = performance.now();
    const lazy2 = gc.run(s.insert('lazy-2'), true);
    gc.urge();
    await lazy2;
    assert.ok(performance.now() - t0 < 25, 'urged: committed at the end of the turn, not at the deadline');

    // A write somebody waits for takes the lazy ones queued before it along, in order.
    const lazy3 = gc.run(s.insert('lazy-3'), true);
    await gc.run(s.insert('urgent'));
    assert.equal(s.count(), 4);
    await lazy3;
    assert.equal(gc.stats.commits, 3);
    assert.deepEqual(s.db.prepare('SELECT v FROM t ORDER BY id').all().map((r) => (r as { v: string }).v), ['lazy-1', 'lazy-2', 'lazy-3', 'urgent']);
  } finally {
    s.close();
  }
});
