import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cli, openSeeded, removeDir, seed, tempDir } from './fixture.js';

let dir: string;
before(async () => {
  dir = tempDir();
  await seed(dir);
  const store = await openSeeded(dir);
  try {
    const { case: c } = await store.createCase({
      dedupeKey: 'incident-1', incidentId: 1, title: 'JDOE-IPHONE reached 203.0.113.45', description: 'Device wiped.\nIP blocked.', priority: 'high', labels: ['mobile'],
    }, 'run:r1');
    await store.addCaseComment({ caseId: c.id, author: 'run:r1', text: 'Wipe confirmed by Intune.', marker: 'r1:7' });
    await store.createCase({ dedupeKey: 'manual-1', title: 'Review VPN policy', description: '', priority: 'low', labels: [] }, 'token:admin');
    await store.updateCaseStatus(2, 'resolved', 'token:admin');
  } finally {
    await store.close();
  }
});
after(() => removeDir(dir));

describe('riposte cases', () => {
  it('lists cases newest first, filtered by status, and as JSON', () => {
    const r = cli(dir, 'cases', 'list');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^KEY +PRIORITY +STATUS +INCIDENT +CREATED +TITLE$/);
    assert.match(lines[1]!, /^CASE-2 +low +resolved +- +\S+ \S+ UTC +Review VPN policy$/);
    assert.match(lines[2]!, /^CASE-1 +high +open +#1 +\S+ \S+ UTC +JDOE-IPHONE reached 203\.0\.113\.45$/);
    const open = cli(dir, 'cases', 'list', '--status', 'open', '--json');
    assert.deepEqual((JSON.parse(open.stdout) as { cases: Array<{ key: string }> }).cases.map((c) => c.key), ['CASE-1']);
    assert.equal(cli(dir, 'cases', 'list', '--limit', '1').stdout.trim().split('\n').length, 2);
    const bad = cli(dir, 'cases', 'list', '--status', 'done');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim(), 'error: --status must be one of open, in_progress, resolved, closed, got "done"');
  });

  it('shows a case with its description and comments, by key or id', () => {
    for (const ref of ['CASE-1', 'case-1', '1']) {
      const r = cli(dir, 'cases', 'show', ref);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^CASE-1 {2}JDOE-IPHONE reached 203\.0\.113\.45$/m);
      assert.match(r.stdout, /^ {2}status {6}open$/m);
      assert.match(r.stdout, /^ {2}incident {4}#1$/m);
      assert.match(r.stdout, /^ {2}Device wiped\.\n {2}IP blocked\.$/m);
      assert.match(r.stdout, /── .* UTC {2}run:r1\n {5}Wipe confirmed by Intune\./);
    }
    const j = JSON.parse(cli(dir, 'cases', 'show', 'CASE-2', '--json').stdout) as { case: { status: string; resolvedAt: string | null; comments: unknown[] } };
    assert.equal(j.case.status, 'resolved');
    assert.ok(j.case.resolvedAt);
    assert.deepEqual(j.case.comments, []);
    const missing = cli(dir, 'cases', 'show', 'case-9');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'error: case CASE-9 does not exist');
  });
});
