/** `riposte prune --older-than … [--batch n] [--json]` as a child process against a prepared data dir. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, removeDir, tempDir } from './fixture.js';
import { parseAge } from '../../src/cli/commands/prune.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

let dir: string;

before(async () => {
  dir = tempDir();
  const s = await openSqliteStore({ dataDir: dir, env: {} });
  const { incident } = await s.ingest({ name: 'n', label: 'l', severity: 'low', source: 'test', artifacts: [] },
    [{ id: 'old', playbookId: 'p', playbookVersion: 1, playbookHash: 'h' }, { id: 'new', playbookId: 'p', playbookVersion: 1, playbookHash: 'h' }], 'test');
  const longAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();
  s.db.prepare(`UPDATE runs SET status = 'completed', created_at = ?, finished_at = ? WHERE id = 'old'`).run(longAgo, longAgo);
  s.db.prepare(`UPDATE runs SET status = 'completed', finished_at = ? WHERE id = 'new'`).run(new Date().toISOString());
  assert.ok(incident.id > 0);
  await s.close();
});
after(() => removeDir(dir));

test('parseAge: units and refusals', () => {
  assert.equal(parseAge('30d'), 30 * 86_400_000);
  assert.equal(parseAge('12h'), 12 * 3_600_000);
  assert.equal(parseAge('90m'), 90 * 60_000);
  assert.equal(parseAge('2w'), 14 * 86_400_000);
  assert.throws(() => parseAge('30'), /--older-than must look like 30d/);
  assert.throws(() => parseAge('0d'), /more than zero/);
  assert.throws(() => parseAge('-1d'), /--older-than must look like/);
});

test('riposte prune deletes runs older than the age, reports counts and audits itself', async () => {
  const bad = cli(dir, 'prune', '--older-than', '30d', '--batch', '0');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--batch must be a positive integer/);

  const r = cli(dir, 'prune', '--older-than', '30d', '--batch', '10', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { runs: number; batches: number; finishedBefore: string };
  assert.equal(out.runs, 1);
  assert.equal(out.batches, 1);

  const again = cli(dir, 'prune', '--older-than', '30d');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Deleted 0 runs that finished before/);

  const s = await openSqliteStore({ dataDir: dir, env: {} });
  assert.deepEqual((await s.listRuns({})).map((x) => x.id), ['new']);
  const audit = (await s.listAudit({})).filter((e) => e.action === 'runs.prune');
  assert.equal(audit.length, 1, 'one audit entry, for the prune that deleted something');
  assert.match(audit[0]!.actor, /^cli:/);
  await s.close();
});
