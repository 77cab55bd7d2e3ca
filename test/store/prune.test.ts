/**
 * Store.pruneRuns: old finished runs go with everything that hangs off them (journal, action
 * results, approvals with decisions and e-mail links, prompts); recent, waiting and parked runs,
 * incidents, notes and the audit log stay; batches are bounded; foreign keys hold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { incident, run } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');

const OLD = '2024-01-10T00:00:00.000Z';
const CUTOFF = '2024-02-01T00:00:00.000Z';

/** A run with two journal entries, two action results, one approval (decision + e-mail link) and a prompt. */
async function history(s: SqliteStore, incidentId: number, id: string, status: string, at: string): Promise<void> {
  await s.createRun(incidentId, run(id), 'test');
  for (const seq of [0, 1]) {
    await s.appendJournal({ runId: id, seq, kind: 'action', name: 'mdm.wipeDevice', asset: 'mdm', app: 'intune', action: 'wipeDevice', status: 'completed',
      input: { deviceId: 'd1' }, output: { accepted: true }, error: null, attempts: 1, startedAt: at, finishedAt: at, wakeAt: null, detail: null });
    await s.recordActionResult({ runId: id, seq, attempt: 1, app: 'intune', asset: 'mdm', action: 'wipeDevice', idempotencyKey: `${id}:${seq}`,
      outcome: 'succeeded', input: { deviceId: 'd1' }, output: { accepted: true }, error: null, startedAt: at, durationMs: 12 });
  }
  s.db.prepare(`INSERT INTO approvals (id, run_id, seq, asset, app, action, kind, params, params_hash, reasons, approvers, quorum, four_eyes,
    requested_by, requested_at, expires_at, status, decided_at, seal) VALUES (?, ?, 1, 'mdm', 'intune', 'wipeDevice', 'contain', '{}', 'h', '[]', '{}', 1, 1,
    'run', ?, ?, 'approved', ?, 'seal')`).run(`ap-${id}`, id, at, at, at);
  s.db.prepare(`INSERT INTO approval_decisions (approval_id, user_name, decision, via, comment, at, seal) VALUES (?, 'alice', 'approve', 'web', NULL, ?, 's')`).run(`ap-${id}`, at);
  s.db.prepare(`INSERT INTO email_links (nonce, approval_id, user_name, decision, expires_at) VALUES (?, ?, 'alice', 'approve', ?)`).run(`n-${id}`, `ap-${id}`, at);
  s.db.prepare(`INSERT INTO prompts (id, run_id, seq, question, answer_type, expires_at, status, created_at) VALUES (?, ?, 2, 'ok?', 'boolean', ?, 'answered', ?)`)
    .run(`pr-${id}`, id, at, at);
  // Times as if the run had happened then.
  s.db.prepare('UPDATE runs SET status = ?, created_at = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE id = ?')
    .run(status, at, at, ['completed', 'failed', 'cancelled'].includes(status) ? at : null, at, id);
}

const count = (s: SqliteStore, table: string, where = '1 = 1') => (s.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;

test('pruneRuns deletes old finished runs with their history, keeps everything else', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  const { incident: inc } = await s.ingest(incident(), [], 'test');
  await s.addNote({ incidentId: inc.id, author: 'alice', text: 'kept' });
  for (const [id, status] of [['c1', 'completed'], ['c2', 'completed'], ['c3', 'completed'], ['f1', 'failed'], ['x1', 'cancelled']] as const) {
    await history(s, inc.id, id, status, OLD);
  }
  await history(s, inc.id, 'recent', 'completed', '2024-03-01T00:00:00.000Z');
  await history(s, inc.id, 'waiting', 'waiting', OLD);
  await history(s, inc.id, 'parked', 'needs_attention', OLD);

  const batches: number[] = [];
  const c = await s.pruneRuns({ finishedBefore: CUTOFF, batchSize: 2, pauseMs: 0, onBatch: (soFar) => batches.push(soFar.runs) });
  assert.deepEqual(c, { runs: 5, journal: 10, actionResults: 10, approvals: 5, approvalDecisions: 5, emailLinks: 5, prompts: 5, batches: 4 });
  assert.deepEqual(batches, [2, 3, 4, 5], 'completed in batches of 2 (2 + 1), then failed, then cancelled');
  assert.deepEqual((await s.listRuns({})).map((r) => r.id).sort(), ['parked', 'recent', 'waiting']);
  for (const id of ['recent', 'waiting', 'parked']) {
    assert.equal((await s.loadJournal(id)).length, 2, `${id} keeps its journal`);
    assert.equal(count(s, 'approvals', `run_id = '${id}'`), 1);
    assert.equal(count(s, 'email_links', `approval_id = 'ap-${id}'`), 1);
  }
  assert.equal(count(s, 'journal'), 6);
  assert.equal(count(s, 'prompts'), 3);
  assert.equal(count(s, 'approval_decisions'), 3);
  assert.deepEqual(s.db.prepare('PRAGMA foreign_key_check').all(), []);
  assert.ok(await s.getIncident(inc.id), 'the incident stays');
  assert.equal((await s.listNotes(inc.id)).length, 1, 'notes stay');
  assert.equal((await s.verifyAudit()).ok, true);

  assert.equal((await s.pruneRuns({ finishedBefore: CUTOFF, batchSize: 500 })).runs, 0, 'nothing left to prune');
  assert.equal((await s.pruneRuns({ finishedBefore: '2025-01-01T00:00:00.000Z', batchSize: 500 })).runs, 1, 'a later cutoff takes the recent run');
  await s.close();
});

test('pruneRuns refuses a bad cutoff or batch size', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  await assert.rejects(s.pruneRuns({ finishedBefore: 'last tuesday', batchSize: 10 }), /finishedBefore must be an ISO date-time/);
  await assert.rejects(s.pruneRuns({ finishedBefore: CUTOFF, batchSize: 0 }), /batchSize must be an integer between 1 and 10000/);
  await assert.rejects(s.pruneRuns({ finishedBefore: CUTOFF, batchSize: 1.5 }), /batchSize/);
  await assert.rejects(s.pruneRuns({ finishedBefore: CUTOFF, batchSize: 10, targetBatchMs: 0 }), /targetBatchMs must be between 0 and 60000 ms/);
  await s.close();
});

test('pruneRuns sizes its batches to hold the write lock about targetBatchMs', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  const { incident: inc } = await s.ingest(incident(), [], 'test');
  for (let i = 0; i < 40; i++) await history(s, inc.id, `r${String(i).padStart(2, '0')}`, 'completed', OLD);
  // A clock under which each of the first five batches takes 50 ms, every later one 5 ms.
  let t = 0, batch = 0;
  const now = () => { const at = t; t += batch < 5 ? 50 : 5; return at; };
  const sizes: number[] = [];
  let deleted = 0;
  const c = await s.pruneRuns({ finishedBefore: CUTOFF, batchSize: 16, targetBatchMs: 25, pauseMs: 0, now, onBatch: (soFar) => { sizes.push(soFar.runs - deleted); deleted = soFar.runs; batch++; } });
  assert.equal(c.runs, 40);
  assert.deepEqual(sizes, [16, 8, 4, 2, 1, 1, 2, 4, 2], 'halves while twice too slow (never below 1), then grows back at most doubling per batch');
  assert.equal(count(s, 'runs'), 0);
  await s.close();
});
