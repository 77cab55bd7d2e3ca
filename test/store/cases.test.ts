import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import type { NewCase } from '../../src/store/records.js';
import { incident } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const dirs = suiteTempDir('riposte-store-');
const dbPath = () => join(dirs.sub(), 'riposte.db');

const newCase = (over: Partial<NewCase> = {}): NewCase => ({
  dedupeKey: 'splunk:sid-1', title: 'Phone of alice reached 203.0.113.66', description: 'Wiped and blocked.',
  priority: 'high', labels: ['mobile', 'mobile'], ...over,
});

async function auditActions(s: Awaited<ReturnType<typeof openStore>>): Promise<string[]> {
  return (await s.listAudit({ limit: 1000 })).map((e) => e.action);
}

describe('cases in the SQLite store', () => {
  it('creates CASE-1 once per dedupe key and audits only the creation', async () => {
    const s = await openStore(dbPath());
    const inc = await s.ingest(incident({ sourceId: 'sid-1' }), [], 'test');
    const first = await s.createCase(newCase({ incidentId: inc.incident.id }), 'run:r1');
    assert.equal(first.created, true);
    assert.equal(first.case.key, 'CASE-1');
    assert.equal(first.case.status, 'open');
    assert.equal(first.case.incidentId, inc.incident.id);
    assert.deepEqual(first.case.labels, ['mobile'], 'labels are de-duplicated');
    assert.equal(first.case.resolvedAt, null);

    const again = await s.createCase(newCase({ title: 'another title', priority: 'low' }), 'run:r1');
    assert.equal(again.created, false);
    assert.deepEqual(again.case, first.case, 'the existing case is returned unchanged');
    const second = await s.createCase(newCase({ dedupeKey: 'splunk:sid-2' }), 'token:admin');
    assert.equal(second.case.key, 'CASE-2');

    const audit = (await s.listAudit({ limit: 100 })).filter((e) => e.action === 'case.create');
    assert.deepEqual(audit.map((e) => [e.actor, e.target]), [['run:r1', 'case:CASE-1'], ['token:admin', 'case:CASE-2']]);
    assert.equal((audit[0]!.detail as { dedupeKey: string }).dedupeKey, 'splunk:sid-1');
    assert.equal((await s.verifyAudit()).ok, true);
    await s.close();
  });

  it('dedupes across two connections to the same database', async () => {
    const path = dbPath();
    const key = randomBytes(32);
    const a = await openStore(path, key);
    const b = await openStore(path, key);
    const [x, y] = await Promise.all([a.createCase(newCase({ dedupeKey: 'k' }), 'a'), b.createCase(newCase({ dedupeKey: 'k' }), 'b')]);
    assert.deepEqual([x.created, y.created].sort(), [false, true]);
    assert.equal(x.case.key, y.case.key);
    assert.equal((await a.listCases({})).length, 1);
    await a.close();
    await b.close();
  });

  it('refuses invalid cases and unknown incidents, writing nothing', async () => {
    const s = await openStore(dbPath());
    const before = (await s.verifyAudit()).entries;
    await assert.rejects(s.createCase(newCase({ title: '  ' }), 't'), { name: 'ValidationError', message: /title/ });
    await assert.rejects(s.createCase(newCase({ dedupeKey: '' }), 't'), { name: 'ValidationError', message: /dedupeKey/ });
    await assert.rejects(s.createCase(newCase({ priority: 'urgent' as never }), 't'), { name: 'ValidationError', message: /priority must be one of low, medium, high, critical/ });
    await assert.rejects(s.createCase(newCase({ incidentId: 42 }), 't'), { name: 'NotFoundError', message: 'incident 42 does not exist' });
    assert.deepEqual(await s.listCases({}), []);
    assert.equal((await s.verifyAudit()).entries, before);
    await s.close();
  });

  it('gets a case by id or key (any case), with comments; unknown or malformed refs are null', async () => {
    const s = await openStore(dbPath());
    const { case: c } = await s.createCase(newCase(), 't');
    await s.addCaseComment({ caseId: c.id, author: 'alice', text: 'first' });
    for (const ref of [c.id, 'CASE-1', 'case-1', '1', ' CASE-1 ']) {
      const got = await s.getCase(ref);
      assert.equal(got?.key, 'CASE-1', String(ref));
      assert.deepEqual(got?.comments.map((m) => m.text), ['first']);
    }
    for (const ref of [2, 'CASE-2', 'CASE-', 'CASE-01', 'SEC-1', '', 0, -1, 1.5, 'CASE-99999999999999999']) {
      assert.equal(await s.getCase(ref), null, String(ref));
    }
    await s.close();
  });

  it('lists newest first, by status, with keyset pagination', async () => {
    const s = await openStore(dbPath());
    for (let i = 1; i <= 5; i++) await s.createCase(newCase({ dedupeKey: `k${i}` }), 't');
    await s.updateCaseStatus(2, 'resolved', 't');
    await s.updateCaseStatus(4, 'in_progress', 't');
    assert.deepEqual((await s.listCases({})).map((c) => c.id), [5, 4, 3, 2, 1]);
    assert.deepEqual((await s.listCases({ status: 'open' })).map((c) => c.key), ['CASE-5', 'CASE-3', 'CASE-1']);
    assert.deepEqual((await s.listCases({ limit: 2 })).map((c) => c.id), [5, 4]);
    assert.deepEqual((await s.listCases({ limit: 2, before: 4 })).map((c) => c.id), [3, 2]);
    assert.deepEqual((await s.listCases({ status: 'open', before: 3 })).map((c) => c.id), [1]);
    await assert.rejects(s.listCases({ status: 'bogus' as never }), { name: 'ValidationError' });
    await s.close();
  });

  it('comments are idempotent per marker within a case', async () => {
    const s = await openStore(dbPath());
    const { case: one } = await s.createCase(newCase({ dedupeKey: 'a' }), 't');
    const { case: two } = await s.createCase(newCase({ dedupeKey: 'b' }), 't');
    const first = await s.addCaseComment({ caseId: one.id, author: 'run:r1', text: 'Device wiped.', marker: 'r1:4' });
    assert.equal(first.created, true);
    assert.equal(first.comment.marker, 'r1:4');
    const replay = await s.addCaseComment({ caseId: one.id, author: 'run:r1', text: 'different text on replay', marker: 'r1:4' });
    assert.equal(replay.created, false);
    assert.deepEqual(replay.comment, first.comment);
    const elsewhere = await s.addCaseComment({ caseId: two.id, author: 'run:r1', text: 'same marker, other case', marker: 'r1:4' });
    assert.equal(elsewhere.created, true);
    await s.addCaseComment({ caseId: one.id, author: 'bob', text: 'unmarked' });
    await s.addCaseComment({ caseId: one.id, author: 'bob', text: 'unmarked' });
    assert.deepEqual((await s.getCase(one.id))!.comments.map((c) => c.text), ['Device wiped.', 'unmarked', 'unmarked']);
    assert.ok((await s.getCase(one.id))!.updatedAt >= first.comment.createdAt, 'commenting touches the case');
    await assert.rejects(s.addCaseComment({ caseId: 99, author: 'x', text: 'y' }), { name: 'NotFoundError', message: 'case CASE-99 does not exist' });
    await assert.rejects(s.addCaseComment({ caseId: one.id, author: 'x', text: ' ' }), { name: 'ValidationError' });
    await s.close();
  });

  it('status changes set and clear resolvedAt, are audited, and repeating one is a no-op', async () => {
    const s = await openStore(dbPath());
    const { case: c } = await s.createCase(newCase(), 't');
    const resolved = await s.updateCaseStatus(c.id, 'resolved', 'cli:alice');
    assert.equal(resolved.status, 'resolved');
    assert.ok(resolved.resolvedAt !== null);
    const n = (await auditActions(s)).length;
    const again = await s.updateCaseStatus(c.id, 'resolved', 'cli:alice');
    assert.deepEqual(again, resolved);
    assert.equal((await auditActions(s)).length, n, 'no audit entry for a no-op');
    const closed = await s.updateCaseStatus(c.id, 'closed', 'cli:alice');
    assert.equal(closed.resolvedAt, resolved.resolvedAt, 'closing keeps the resolution time');
    const reopened = await s.updateCaseStatus(c.id, 'open', 'cli:bob');
    assert.equal(reopened.resolvedAt, null);
    const entries = (await s.listAudit({ limit: 100 })).filter((e) => e.action === 'case.status');
    assert.deepEqual(entries.map((e) => [e.actor, e.detail]), [
      ['cli:alice', { from: 'open', to: 'resolved' }], ['cli:alice', { from: 'resolved', to: 'closed' }], ['cli:bob', { from: 'closed', to: 'open' }],
    ]);
    await assert.rejects(s.updateCaseStatus(7, 'closed', 't'), { name: 'NotFoundError' });
    await assert.rejects(s.updateCaseStatus(c.id, 'done' as never, 't'), { name: 'ValidationError' });
    assert.equal((await s.verifyAudit()).ok, true);
    await s.close();
  });

  it('migration 2 adds the tables to a database created at version 1, and enforces the constraints', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.filter((m) => m.version === 1));
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'cases'").get(), undefined);
    assert.ok(migrate(db).includes(2));
    const insert = db.prepare(`INSERT INTO cases (id, key, title, description, priority, status, dedupe_key, created_at, updated_at)
      VALUES (?, ?, 't', '', ?, 'open', ?, 'x', 'x')`);
    insert.run(1, 'CASE-1', 'low', 'k1');
    assert.throws(() => insert.run(2, 'CASE-2', 'urgent', 'k2'), /CHECK constraint failed/);
    assert.throws(() => insert.run(3, 'CASE-3', 'low', 'k1'), /UNIQUE constraint failed: cases.dedupe_key/);
    const comment = db.prepare("INSERT INTO case_comments (case_id, author, text, marker, created_at) VALUES (1, 'a', 't', ?, 'x')");
    comment.run('m');
    comment.run(null);
    comment.run(null);
    assert.throws(() => comment.run('m'), /UNIQUE constraint failed/);
    db.close();
  });
});
