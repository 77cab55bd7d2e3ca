/**
 * The store's side of child runs: the child and its parent's journal entry are one transaction,
 * (parent, step) has at most one child, and a run's end wakes the runs parked on it in the same
 * transaction as its final state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { JournalEntry } from '../../src/store/records.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ConflictError, NotFoundError } from '../../src/store/sqlite/common.js';
import { incident, run } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const dirs = suiteTempDir('riposte-store-');

function step(runId: string, seq: number): JournalEntry {
  return {
    runId, seq, kind: 'playbook', name: 'playbook.child', asset: null, app: null, action: null, status: 'waiting',
    input: { playbook: 'child', args: {} }, output: null, error: null, attempts: 0, startedAt: new Date().toISOString(),
    finishedAt: null, wakeAt: null, detail: 'waits for child run', resolution: null,
  };
}

async function withParent(): Promise<{ store: SqliteStore; parentId: string; incidentId: number; input: unknown }> {
  const store = await openStore(join(dirs.sub(), 'r.db'));
  const { incident: inc, runs } = await store.ingest(incident(), [run('parent-1', 'parent')], 'test');
  return { store, parentId: runs[0]!.id, incidentId: inc.id, input: runs[0]!.input };
}

const child = (id: string, parentId: string, incidentId: number, input: unknown, seq = 3) => ({
  id, playbookId: 'child', playbookVersion: 2, playbookHash: 'hc', args: { k: 1 }, requestedBy: 'user:alice',
  parentRunId: parentId, parentSeq: seq, incidentId, input,
});

test('createChildRun: child, parent step and audit in one transaction; a second call for the step creates nothing', async () => {
  const { store, parentId, incidentId, input } = await withParent();
  try {
    const first = await store.createChildRun(child('child-1', parentId, incidentId, input), step(parentId, 3), 'run:x');
    assert.equal(first.created, true);
    assert.deepEqual([first.run.parentRunId, first.run.parentSeq, first.run.status], [parentId, 3, 'queued']);
    assert.deepEqual(first.run.input, input);
    const again = await store.createChildRun(child('child-2', parentId, incidentId, input), step(parentId, 3), 'run:x');
    assert.equal(again.created, false);
    assert.equal(again.run.id, 'child-1');
    assert.equal(await store.getRun('child-2'), null);
    assert.deepEqual((await store.listChildRuns(parentId)).map((r) => r.id), ['child-1']);
    assert.equal((await store.getChildRun(parentId, 3))?.id, 'child-1');
    assert.equal(await store.getChildRun(parentId, 4), null);
    const journal = await store.loadJournal(parentId);
    assert.deepEqual(journal.map((e) => [e.seq, e.kind, e.status]), [[3, 'playbook', 'waiting']]);
    const creations = (await store.listAudit({ limit: 50 })).filter((e) => e.target === 'run:child-1');
    assert.equal(creations.length, 1);
    assert.equal(creations[0]!.actor, 'run:x');
    // The unique index holds even for a writer that skips the check.
    await assert.rejects(
      store.createRun(incidentId, { ...child('child-3', parentId, incidentId, input) }, 'test'),
      (err: unknown) => err instanceof ConflictError && /already has a child run for step 3/.test(err.message),
    );
  } finally {
    await store.close();
  }
});

test('createChildRun of an unknown parent writes nothing', async () => {
  const { store, parentId, incidentId, input } = await withParent();
  try {
    await assert.rejects(
      store.createChildRun(child('orphan', 'no-such-run', incidentId, input), step('no-such-run', 0), 'run:x'),
      NotFoundError,
    );
    assert.equal(await store.getRun('orphan'), null);
    assert.deepEqual(await store.loadJournal(parentId), []);
  } finally {
    await store.close();
  }
});

test('a run that ends wakes the runs parked on it, in the same write; a run that parks does not', async () => {
  const { store, parentId, incidentId, input } = await withParent();
  try {
    await store.createChildRun(child('child-1', parentId, incidentId, input), step(parentId, 3), 'run:x');
    await store.patchRun(parentId, { status: 'waiting', wakeAt: null, waitingOn: 'run:child-1', waits: ['run:child-1'] });
    await store.patchRun('child-1', { status: 'waiting', wakeAt: null, waitingOn: 'timer', waits: [] });
    assert.equal((await store.getRun(parentId))!.wakeAt, null);
    await store.patchRun('child-1', { status: 'completed', output: { ok: true }, finishedAt: new Date().toISOString() });
    const parent = (await store.getRun(parentId))!;
    assert.equal(parent.status, 'waiting');
    assert.ok(parent.wakeAt !== null, 'the parent is due');
    assert.deepEqual((await store.dueRuns(new Date(Date.now() + 1000).toISOString(), 10)).map((r) => r.id), [parentId]);
  } finally {
    await store.close();
  }
});
