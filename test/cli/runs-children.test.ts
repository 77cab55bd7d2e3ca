/** `riposte runs show` links a child run (`ctx.playbook`) and its parent, both ways. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { cli, removeDir, tempDir } from './fixture.js';

const PARENT = 'dddddddd-1111-4111-8111-111111111111';
const CHILD = 'eeeeeeee-2222-4222-8222-222222222222';
let dir: string;

before(async () => {
  dir = tempDir();
  const store = await openSqliteStore({ dataDir: dir, env: {} });
  try {
    const { incident, runs } = await store.ingest({
      name: 'Triage', label: 'test', severity: 'low', source: 'test', artifacts: [{ name: 'a', cef: { suser: 'jdoe' } }],
    }, [{ id: PARENT, playbookId: 'triage', playbookVersion: 1, playbookHash: 'h1', requestedBy: 'user:alice' }], 'test');
    const startedAt = new Date().toISOString();
    await store.createChildRun({
      id: CHILD, playbookId: 'enrich', playbookVersion: 4, playbookHash: 'h2', args: { user: 'jdoe' },
      requestedBy: 'user:alice', parentRunId: PARENT, parentSeq: 2, incidentId: incident.id, input: runs[0]!.input,
    }, {
      runId: PARENT, seq: 2, kind: 'playbook', name: 'playbook.enrich', asset: null, app: null, action: null,
      status: 'waiting', input: { playbook: 'enrich', args: { user: 'jdoe' } }, output: null, error: null, attempts: 0,
      startedAt, finishedAt: null, wakeAt: null, detail: `waits for child run ${CHILD} of playbook enrich`, resolution: null,
    }, `run:${PARENT}`);
    await store.patchRun(PARENT, { status: 'waiting', waitingOn: `run:${CHILD}`, waits: [`run:${CHILD}`] });
  } finally {
    await store.close();
  }
});
after(() => removeDir(dir));

describe('riposte runs show with child playbooks', () => {
  it("shows a parent's children and what it waits on", () => {
    const r = cli(dir, 'runs', 'show', PARENT);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`children\\s+${CHILD}  enrich@4  QUEUED  \\(step #2\\)`));
    assert.match(r.stdout, new RegExp(`waits for\\s+#2 playbook\\.enrich: waits for child run ${CHILD}`));
  });

  it("shows a child's parent, and both in --json", () => {
    const r = cli(dir, 'runs', 'show', CHILD.slice(0, 8));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`parent\\s+${PARENT}  triage@1  WAITING  \\(its step #2\\)`));
    assert.match(r.stdout, /requested\s+user:alice/);
    const json = JSON.parse(cli(dir, 'runs', 'show', PARENT, '--json').stdout) as { children: Array<{ id: string }> };
    assert.deepEqual(json.children.map((c) => c.id), [CHILD]);
  });
});
