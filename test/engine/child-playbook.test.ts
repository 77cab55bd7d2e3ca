/**
 * Child playbooks (`ctx.playbook(id, input)`): a durable step whose outcome is another run's end.
 * The parent parks holding no memory, the child is created once (with the parent's journal entry,
 * in one transaction), inherits the parent's cause and dry run, and its end wakes the parent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActionFailedError, definePlaybook, type PlaybookDefinition } from '../../src/sdk/index.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { runIn } from '../support/wait.js';
import type { RunRecord } from '../../src/store/records.js';

/** The app definition, for `ctx.asset` (only its id is used). */
const APP = makeTestApp(new TestVendor());
const ENDED = ['completed', 'failed', 'needs_attention', 'cancelled'];

const pb = (id: string, run: PlaybookDefinition['run'], labels: string[] = []) =>
  definePlaybook({ id, version: 1, triggers: { labels }, roles: {} }, run as never);

async function setup(playbooks: PlaybookDefinition[], hitl = false): Promise<{ h: Harness; vendor: TestVendor }> {
  const vendor = new TestVendor();
  const h = await makeHarness({
    apps: [makeTestApp(vendor)], playbooks, engine: { pollIntervalMs: 20 }, ...(hitl ? { hitl: {} } : {}),
  });
  await putTvAsset(h.store);
  return { h, vendor };
}

async function onlyChild(h: Harness, parentId: string): Promise<RunRecord> {
  const children = await h.store.listChildRuns(parentId);
  assert.equal(children.length, 1, `run ${parentId} has ${children.length} child runs, not 1`);
  return children[0]!;
}

test('the parent parks on its child, the child completes, the parent resumes with its output', async () => {
  const child = pb('double', async (ctx, incident, args) => {
    await ctx.sleep(200);
    return { doubled: (args as { n: number }).n * 2, incident: incident.id };
  });
  const parent = pb('parent', async (ctx) => ({ got: await ctx.playbook('double', { n: 21 }) }), ['test']);
  const { h } = await setup([parent, child]);
  try {
    const [run] = await h.fire();
    const parked = await runIn(h.store, run!.id, ['waiting']);
    const c = await onlyChild(h, run!.id);
    assert.equal(parked.waitingOn, `run:${c.id}`);
    const [step] = await h.store.loadJournal(run!.id);
    assert.deepEqual([step!.seq, step!.kind, step!.name, step!.status], [0, 'playbook', 'playbook.double', 'waiting']);
    assert.deepEqual(step!.input, { playbook: 'double', args: { n: 21 } });
    assert.match(step!.detail ?? '', new RegExp(`waits for child run ${c.id} of playbook double`));
    // The child: its own run on the parent's incident and snapshot, with the parent's cause.
    assert.equal(c.parentRunId, run!.id);
    assert.equal(c.parentSeq, 0);
    assert.equal(c.incidentId, run!.incidentId);
    assert.deepEqual(c.args, { n: 21 });
    assert.deepEqual(c.input, run!.input);
    assert.equal(c.requestedBy, run!.requestedBy);
    assert.equal(c.dryRun, false);

    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'completed', done.error?.message);
    assert.deepEqual(done.output, { got: { doubled: 42, incident: run!.incidentId } });
    const [finished] = await h.store.loadJournal(run!.id);
    assert.equal(finished!.status, 'completed');
    assert.deepEqual(finished!.output, { doubled: 42, incident: run!.incidentId });
    assert.match(finished!.detail ?? '', /completed/);
    const audit = await h.store.listAudit({ limit: 100 });
    const created = audit.find((e) => e.action === 'run.create' && e.target === `run:${c.id}`);
    assert.equal(created?.actor, `run:${run!.id}`);
    assert.deepEqual((created?.detail as { parentSeq: number }).parentSeq, 0);
  } finally {
    await h.close();
  }
});

test('children that end before their parents parked still wake them (no run hangs)', async () => {
  const child = pb('quick', async (_ctx, _incident, args) => args);
  // The slow lookup keeps the parent executing (not parked yet) while its children end.
  const parent = pb('parent', async (ctx) => {
    const [a, b] = await Promise.all([
      ctx.playbook('quick', { k: 'a' }),
      ctx.playbook('quick', { k: 'b' }),
      ctx.asset(APP, 'tv').echo({ value: 'slow' }),
    ]);
    return { a, b };
  }, ['test']);
  const { h, vendor } = await setup([parent, child]);
  try {
    vendor.delayMs = 150;
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(...(await h.fire()));
    for (const run of runs) {
      const done = await runIn(h.store, run.id, ENDED, 3000);
      assert.equal(done.status, 'completed', done.error?.message);
      assert.deepEqual(done.output, { a: { k: 'a' }, b: { k: 'b' } });
      assert.equal((await h.store.listChildRuns(run.id)).length, 2);
    }
  } finally {
    await h.close();
  }
});

test('a crash between the child\'s creation and its end: no second child, the parent resumes', async () => {
  const child = pb('slow', async (ctx) => {
    await ctx.sleep(300);
    return { slept: true };
  });
  const parent = pb('parent', async (ctx) => ({ got: await ctx.playbook('slow') }), ['test']);
  const { h } = await setup([parent, child]);
  try {
    const [run] = await h.fire();
    await runIn(h.store, run!.id, ['waiting']);
    const c = await onlyChild(h, run!.id);
    await h.engine.stop();
    // What kill -9 leaves right after the child's creation committed: the parent still `running`
    // (its park never committed) with its step journaled as waiting, the child queued, untouched.
    const db = h.store.db;
    db.prepare(`UPDATE runs SET status = 'running', wake_at = NULL, waiting_on = NULL WHERE id = ?`).run(run!.id);
    db.prepare('DELETE FROM run_waits WHERE run_id IN (?, ?)').run(run!.id, c.id);
    db.prepare(`UPDATE runs SET status = 'queued', started_at = NULL, wake_at = NULL, waiting_on = NULL WHERE id = ?`)
      .run(c.id);
    h.store.db.prepare('DELETE FROM journal WHERE run_id = ?').run(c.id);
    await h.restart();
    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'completed', done.error?.message);
    assert.deepEqual(done.output, { got: { slept: true } });
    assert.equal((await onlyChild(h, run!.id)).id, c.id, 'the replay found the child it had created');
    assert.equal((await h.store.listRuns({ incidentId: run!.incidentId })).length, 2);
  } finally {
    await h.close();
  }
});

test('a failed child fails the step: the parent catches an ActionFailedError naming it', async () => {
  const child = pb('broken', async () => {
    throw new Error('lookup service down');
  });
  const parent = pb('parent', async (ctx) => {
    try {
      await ctx.playbook('broken', { why: 'test' });
      return { caught: false };
    } catch (err) {
      const e = err as ActionFailedError;
      const caught = err instanceof ActionFailedError;
      return { caught, name: e.record.name, applied: e.record.applied, message: e.message };
    }
  }, ['test']);
  const { h } = await setup([parent, child]);
  try {
    const [run] = await h.fire();
    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'completed', done.error?.message);
    const c = await onlyChild(h, run!.id);
    assert.equal(c.status, 'failed');
    const out = done.output as { caught: boolean; name: string; applied: string; message: string };
    assert.equal(out.caught, true);
    assert.equal(out.name, 'ChildRunFailed');
    assert.equal(out.applied, 'unknown');
    assert.match(out.message, new RegExp(`child run ${c.id} \\(playbook broken\\) failed: Error: lookup service down`));
  } finally {
    await h.close();
  }
});

test('a cancelled child fails the step too, and its cancellation wakes the parent', async () => {
  const child = pb('long', async (ctx) => {
    await ctx.sleep(60_000);
    return {};
  });
  const parent = pb('parent', async (ctx) => {
    try {
      return await ctx.playbook('long');
    } catch (err) {
      return { name: (err as ActionFailedError).record.name };
    }
  }, ['test']);
  const { h } = await setup([parent, child]);
  try {
    const [run] = await h.fire();
    await runIn(h.store, run!.id, ['waiting']);
    const c = await onlyChild(h, run!.id);
    await runIn(h.store, c.id, ['waiting']);
    await h.store.updateRun(c.id, { status: 'cancelled', finishedAt: new Date().toISOString() });
    const done = await runIn(h.store, run!.id, ENDED);
    assert.deepEqual(done.output, { name: 'ChildRunCancelled' });
  } finally {
    await h.close();
  }
});

test('a cycle is refused at the depth limit, with an error naming the chain', async () => {
  const ping = pb('ping', async (ctx) => ctx.playbook('pong'), ['test']);
  const pong = pb('pong', async (ctx) => ctx.playbook('ping'));
  const { h } = await setup([ping, pong]);
  try {
    const [run] = await h.fire();
    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'failed');
    const runs = await h.store.listRuns({ incidentId: run!.incidentId });
    assert.equal(runs.length, 6, 'the root and five nested children');
    const deepest = runs.find((r) => r.parentRunId !== null && !runs.some((o) => o.parentRunId === r.id))!;
    assert.equal(deepest.status, 'failed');
    assert.match(deepest.error?.message ?? '', /child playbooks nest at most 5 deep; this one would be 6: /);
    const chain = /ping → pong → ping → pong → ping → pong → ping \(ping calls its own ancestor: a cycle\)/;
    assert.match(deepest.error?.message ?? '', chain);
    // Every level above saw its child fail.
    assert.match(done.error?.message ?? '', /ChildRunFailed/);
  } finally {
    await h.close();
  }
});

test('an unknown or disabled playbook fails the step; bad input is refused and nothing is written', async () => {
  const seen: Record<string, string> = {};
  const parent = pb('parent', async (ctx) => {
    const attempt = async (key: string, f: () => Promise<unknown>) => {
      try {
        await f();
        seen[key] = 'no error';
      } catch (err) {
        seen[key] = `${(err as Error).name}: ${(err as Error).message}`;
      }
    };
    await attempt('unknown', () => ctx.playbook('no-such-playbook'));
    await attempt('disabled', () => ctx.playbook('off'));
    await attempt('array', () => ctx.playbook('off', [1, 2] as never));
    await attempt('big', () => ctx.playbook('off', { blob: 'x'.repeat(70_000) }));
    await attempt('id', () => ctx.playbook('Not An Id'));
    return seen;
  }, ['test']);
  const off = pb('off', async () => ({}));
  const { h } = await setup([parent, off]);
  try {
    await h.store.putPlaybookSettings({ playbookId: 'off', enabled: false, automation: null, bindings: {} }, 'test');
    const [run] = await h.fire();
    const done = await runIn(h.store, run!.id, ENDED);
    const out = done.output as Record<string, string>;
    assert.match(out.unknown!, /^ActionFailedError: .*playbook "no-such-playbook" is not installed in this server/);
    assert.match(out.disabled!, /^ActionFailedError: .*playbook "off" is disabled/);
    assert.match(out.array!, /^TypeError: ctx\.playbook\("off"\): input must be a JSON object, got an array/);
    assert.match(out.big!, /^TypeError: .*input is \d+ bytes of JSON, more than the 65536 allowed/);
    assert.match(out.id!, /^TypeError: ctx\.playbook: the playbook id must be a kebab-case string/);
    assert.equal((await h.store.listChildRuns(run!.id)).length, 0);
    const journal = await h.store.loadJournal(run!.id);
    assert.deepEqual(journal.map((e) => [e.name, e.status]), [
      ['playbook.no-such-playbook', 'failed'],
      ['playbook.off', 'failed'],
    ]);
  } finally {
    await h.close();
  }
});

test('four-eyes carries over: who caused the parent cannot approve the child\'s destructive action', async () => {
  const child = pb('contain', async (ctx) => ctx.asset(APP, 'tv').destroy({ target: 'laptop-7' }));
  const parent = pb('parent', async (ctx) => ({ contained: await ctx.playbook('contain') }), ['test']);
  const { h, vendor } = await setup([parent, child], true);
  const hitl = h.hitl!;
  try {
    const policy = h.store.policyStore();
    await policy.putUser({ name: 'alice', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    await policy.putUser({ name: 'bob', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    await h.engine.stop();
    const [run] = await h.fire();
    h.store.db.prepare('UPDATE runs SET requested_by = ? WHERE id = ?').run('user:alice', run!.id);
    await h.restart();
    await runIn(h.store, run!.id, ['waiting']);
    const c = await onlyChild(h, run!.id);
    assert.equal(c.requestedBy, 'user:alice');
    await runIn(h.store, c.id, ['waiting']);
    const [approval] = await hitl.policy.listApprovals({ status: 'pending', runId: c.id });
    assert.equal(approval!.requestedBy, 'user:alice');
    await assert.rejects(
      hitl.approvals.decide(approval!.id, { name: 'alice', roles: ['soc-lead'] }, 'approve', 'api'),
      /alice caused this run \(user:alice\) and cannot approve its actions \(four-eyes\)/,
    );
    assert.equal(vendor.count('destroy'), 0);
    await hitl.approvals.decide(approval!.id, { name: 'bob', roles: ['soc-lead'] }, 'approve', 'api');
    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'completed', done.error?.message);
    assert.deepEqual(done.output, { contained: { destroyed: 'laptop-7' } });
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});

test('a dry-run parent has a dry-run child: its destructive action is recorded, not sent', async () => {
  const child = pb('contain', async (ctx) => ctx.asset(APP, 'tv').destroy({ target: 'laptop-7' }));
  const parent = pb('parent', async (ctx) => ({ contained: await ctx.playbook('contain') }), ['test']);
  const { h, vendor } = await setup([parent, child], true);
  try {
    const settings = { playbookId: 'parent', enabled: true, automation: null, bindings: {}, dryRun: true };
    await h.store.putPlaybookSettings(settings, 'test');
    const [run] = await h.fire();
    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'completed', done.error?.message);
    const c = await onlyChild(h, run!.id);
    assert.equal(c.dryRun, true);
    assert.equal(vendor.count('destroy'), 0);
    assert.match((await h.store.loadJournal(c.id))[0]!.detail ?? '', /^dry run/);
  } finally {
    await h.close();
  }
});

test('replay hands a completed child step back from the journal: no second child, nothing re-run', async () => {
  const child = pb('lookup', async (ctx) => ctx.asset(APP, 'tv').echo({ value: 'seen' }));
  const parent = pb('parent', async (ctx) => {
    const first = await ctx.playbook('lookup');
    await ctx.sleep(150);
    return { first };
  }, ['test']);
  const { h, vendor } = await setup([parent, child]);
  try {
    const [run] = await h.fire();
    await runIn(h.store, run!.id, ['waiting']);
    const c = await onlyChild(h, run!.id);
    await runIn(h.store, c.id, ENDED);
    // Parked on its timer after the child step: restart, so the wake replays from the journal.
    await runIn(h.store, run!.id, ['waiting']);
    await h.restart();
    const done = await runIn(h.store, run!.id, ENDED);
    assert.equal(done.status, 'completed', done.error?.message);
    assert.deepEqual(done.output, { first: { value: 'seen' } });
    assert.equal((await onlyChild(h, run!.id)).id, c.id);
    assert.equal(vendor.count('echo'), 1);
  } finally {
    await h.close();
  }
});

test('a child that needs attention keeps its parent waiting until it is resolved and ends', async () => {
  const child = pb('blind', async (ctx) => ctx.asset(APP, 'tv').destroyBlind({ target: 'A' }));
  const parent = pb('parent', async (ctx) => ({ got: await ctx.playbook('blind') }), ['test']);
  const { h, vendor } = await setup([parent, child]);
  try {
    vendor.script.push('lost-reply');
    const [run] = await h.fire();
    await runIn(h.store, run!.id, ['waiting']);
    const c = await onlyChild(h, run!.id);
    assert.equal((await runIn(h.store, c.id, ENDED)).status, 'needs_attention');
    await new Promise((r) => setTimeout(r, 100));
    const parent1 = (await h.store.getRun(run!.id))!;
    assert.equal(parent1.status, 'waiting');
    assert.equal(parent1.waitingOn, `run:${c.id}`);
    await h.store.resolveStep(c.id, 0, { applied: true, output: { destroyed: 'A' } }, 'cli:operator');
    const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
    assert.equal(done.status, 'completed', done.error?.message);
    assert.deepEqual(done.output, { got: { destroyed: 'A' } });
    assert.equal(vendor.count('destroyBlind'), 1);
  } finally {
    await h.close();
  }
});
