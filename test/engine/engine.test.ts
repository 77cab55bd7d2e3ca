import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, ActionFailedError } from '../../src/sdk/index.js';
import type { PlaybookDefinition } from '../../src/sdk/index.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

function setup(vendor: TestVendor, playbooks: PlaybookDefinition[]): Promise<Harness> {
  return makeHarness({ apps: [makeTestApp(vendor)], playbooks }).then(async (h) => {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 's3cret' } }, 'test');
    return h;
  });
}

const pb = (run: PlaybookDefinition['run'], id = 'p', roles = {}) =>
  definePlaybook({ id, version: 1, triggers: { labels: ['test'] }, roles }, run as never);

test('a run executes its steps once and journals each with its result', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const h = await setup(vendor, [pb(async (ctx) => {
    const a = await ctx.asset(app, 'tv').echo({ value: 'x' });
    await ctx.note(`echo said ${a.value}`);
    return { got: a.value };
  })]);
  try {
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { got: 'x' });
    const journal = await h.store.loadJournal(run!.id);
    assert.deepEqual(journal.map((e) => [e.seq, e.kind, e.name, e.status]), [[0, 'action', 'tv.echo', 'completed'], [1, 'note', 'note', 'completed']]);
    assert.equal(journal[0]!.asset, 'tv');
    assert.equal(journal[0]!.app, 'test-vendor');
    const results = await h.store.listActionResults(run!.id);
    assert.equal(results.length, 1);
    assert.equal(results[0]!.outcome, 'succeeded');
    assert.equal(results[0]!.idempotencyKey, `${run!.id}:0`);
    const notes = await h.store.listNotes(done.incidentId);
    assert.deepEqual(notes.map((n) => n.text), ['echo said x']);
  } finally {
    await h.close();
  }
});

test('replay after a durable timer does not repeat completed actions', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const h = await setup(vendor, [pb(async (ctx) => {
    await ctx.asset(app, 'tv').destroy({ target: 'A' });
    await ctx.sleep(150);
    const t = ctx.now().getTime();
    await ctx.asset(app, 'tv').echo({ value: 'after' });
    return { t };
  })]);
  try {
    const [run] = await h.fire();
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'waiting');
    assert.ok(parked.wakeAt);
    assert.equal(vendor.count('destroy'), 1);
    // The engine's own timer resumes it; the replay must not destroy again.
    const until = Date.now() + 3000;
    let final = parked;
    while (final.status !== 'completed' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      final = (await h.store.getRun(run!.id))!;
    }
    assert.equal(final.status, 'completed');
    assert.equal(vendor.count('destroy'), 1);
    assert.equal(vendor.count('echo'), 1);
  } finally {
    await h.close();
  }
});

test('a waiting run survives a restart of the engine', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = pb(async (ctx) => {
    await ctx.asset(app, 'tv').destroy({ target: 'B' });
    await ctx.sleep(100);
    await ctx.asset(app, 'tv').echo({ value: 'z' });
  });
  const h = await setup(vendor, [playbook]);
  try {
    const [run] = await h.fire();
    assert.equal((await h.settle(run!.id)).status, 'waiting');
    await h.restart();
    await new Promise((r) => setTimeout(r, 250));
    h.engine.wake();
    const until = Date.now() + 3000;
    while ((await h.store.getRun(run!.id))!.status !== 'completed' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await h.store.getRun(run!.id))!.status, 'completed');
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});

test('parallel steps run concurrently and get stable positions', async () => {
  const vendor = new TestVendor();
  vendor.delayMs = 60;
  const app = makeTestApp(vendor);
  const h = await setup(vendor, [pb(async (ctx) => {
    const tv = ctx.asset(app, 'tv');
    const started = Date.now();
    const r = await Promise.all([tv.echo({ value: '1' }), tv.echo({ value: '2' }), tv.echo({ value: '3' })]);
    return { values: r.map((x) => x.value), wall: Date.now() - started };
  })]);
  try {
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    const out = done.output as { values: string[]; wall: number };
    assert.deepEqual(out.values, ['1', '2', '3']);
    assert.ok(out.wall < 3 * 60, `three 60 ms calls in parallel took ${out.wall} ms`);
    const journal = await h.store.loadJournal(run!.id);
    assert.deepEqual(journal.map((e) => (e.input as { value: string }).value), ['1', '2', '3']);
  } finally {
    await h.close();
  }
});

test('changed playbook code is reported as non-determinism, not mis-replayed', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const v1 = pb(async (ctx) => {
    await ctx.asset(app, 'tv').echo({ value: 'first' });
    await ctx.sleep(60_000);
    await ctx.asset(app, 'tv').destroy({ target: 'C' });
  });
  const v2 = pb(async (ctx) => {
    await ctx.asset(app, 'tv').destroy({ target: 'C' }); // reordered: destroy first
    await ctx.sleep(60_000);
  });
  const h = await setup(vendor, [v1]);
  try {
    const [run] = await h.fire();
    assert.equal((await h.settle(run!.id)).status, 'waiting');
    await h.store.updateRun(run!.id, { status: 'running' }); // as if woken
    await h.restart([v2]);
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'needs_attention');
    assert.equal(parked.error?.name, 'NonDeterminismError');
    assert.match(parked.attentionReason ?? '', /non-determinism at step 0: the journal recorded action tv\.echo but the playbook now asks for action tv\.destroy/);
    assert.match(parked.attentionReason ?? '', /code changed since this run started/);
    assert.equal(vendor.count('destroy'), 0);
  } finally {
    await h.close();
  }
});

test('changed parameters of a recorded step are non-determinism too', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const mk = (target: string) => pb(async (ctx) => {
    await ctx.asset(app, 'tv').destroy({ target });
    await ctx.sleep(60_000);
  });
  const h = await setup(vendor, [mk('device-A')]);
  try {
    const [run] = await h.fire();
    assert.equal((await h.settle(run!.id)).status, 'waiting');
    await h.store.updateRun(run!.id, { status: 'running' });
    await h.restart([mk('device-B')]);
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'needs_attention');
    assert.match(parked.attentionReason ?? '', /device-A.*device-B/);
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});

test('retryable errors are retried with backoff; terminal ones are not', async () => {
  const vendor = new TestVendor();
  vendor.script.push('retryable', 'retryable', 'ok', 'terminal');
  const app = makeTestApp(vendor);
  const h = await setup(vendor, [pb(async (ctx) => {
    const a = await ctx.asset(app, 'tv').destroy({ target: 'D' });
    try {
      await ctx.asset(app, 'tv').echo({ value: 'nope' });
    } catch (err) {
      return { a, caught: err instanceof ActionFailedError ? err.record.message : String(err) };
    }
    return { a };
  })]);
  try {
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { a: { destroyed: 'D' }, caught: 'vendor refused: no such thing' });
    assert.equal(vendor.count('destroy'), 1);
    const results = await h.store.listActionResults(run!.id);
    assert.deepEqual(results.map((r) => [r.seq, r.attempt, r.outcome]), [[0, 1, 'failed'], [0, 2, 'failed'], [0, 3, 'succeeded'], [1, 1, 'failed']]);
    const journal = await h.store.loadJournal(run!.id);
    assert.equal(journal[0]!.attempts, 3);
    assert.equal(journal[1]!.status, 'failed');
  } finally {
    await h.close();
  }
});

test('an uncaught action failure fails the run with the vendor message', async () => {
  const vendor = new TestVendor();
  vendor.script.push('retryable', 'retryable', 'retryable');
  const app = makeTestApp(vendor);
  const h = await setup(vendor, [pb(async (ctx) => { await ctx.asset(app, 'tv').echo({ value: 'x' }); })]);
  try {
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'failed');
    assert.match(done.error?.message ?? '', /vendor busy/);
    assert.equal(vendor.calls, 3);
  } finally {
    await h.close();
  }
});

test('per-action timeout: idempotent actions retry, non-idempotent ones reconcile instead of re-sending', async () => {
  const vendor = new TestVendor();
  vendor.script.push('hang', 'ok', 'lost-reply');
  const app = makeTestApp(vendor);
  const h = await setup(vendor, [pb(async (ctx) => {
    const tv = ctx.asset(app, 'tv');
    await tv.echo({ value: 'slow' });
    return tv.destroy({ target: 'E' });
  })]);
  try {
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { destroyed: 'E' });
    assert.equal(vendor.count('destroy'), 1, 'the lost reply was reconciled, not re-sent');
    const results = await h.store.listActionResults(run!.id);
    assert.deepEqual(results.map((r) => [r.seq, r.attempt, r.outcome]), [[0, 1, 'timeout'], [0, 2, 'succeeded'], [1, 1, 'failed']]);
    const journal = await h.store.loadJournal(run!.id);
    assert.match(journal[1]!.detail ?? '', /reconciled with the vendor: the action had been applied/);
  } finally {
    await h.close();
  }
});

test('unknown outcome after a crash: reconciled when possible, parked otherwise, never re-sent blindly', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = pb(async (ctx) => {
    const tv = ctx.asset(app, 'tv');
    await tv.destroy({ target: 'F' });
    await tv.destroyBlind({ target: 'G' });
  });
  const h = await setup(vendor, [playbook]);
  try {
    // Simulate a process that journaled both intents, sent both, and died before recording replies.
    await h.engine.stop();
    const [run] = await h.fire();
    const base = { runId: run!.id, asset: 'tv', app: 'test-vendor', status: 'started' as const, output: null, error: null, attempts: 1, startedAt: new Date().toISOString(), finishedAt: null, wakeAt: null, detail: null };
    await h.store.updateRun(run!.id, { status: 'running' });
    await h.store.appendJournal({ ...base, seq: 0, kind: 'action', name: 'tv.destroy', action: 'destroy', input: { target: 'F' } });
    vendor.applied.push({ action: 'destroy', input: { target: 'F' }, key: `${run!.id}:0` });
    await h.store.appendJournal({ ...base, seq: 1, kind: 'action', name: 'tv.destroyBlind', action: 'destroyBlind', input: { target: 'G' } });
    vendor.applied.push({ action: 'destroyBlind', input: { target: 'G' }, key: `${run!.id}:1` });
    await h.restart();
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'needs_attention');
    assert.match(parked.attentionReason ?? '', /step 1 tv\.destroyBlind.*NOT sent again/);
    assert.equal(vendor.count('destroy'), 1);
    assert.equal(vendor.count('destroyBlind'), 1);
    assert.equal(vendor.calls, 0, 'nothing was sent to the vendor on replay');
    const journal = await h.store.loadJournal(run!.id);
    assert.equal(journal[0]!.status, 'completed');
    assert.equal(journal[1]!.status, 'started');
  } finally {
    await h.close();
  }
});

test('a missing role binding fails the step with a message naming the fix', async () => {
  const vendor = new TestVendor();
  const h = await setup(vendor, [pb(async (ctx) => { await (ctx.roles as any).mdm.findDevice({ deviceName: 'x' }); }, 'p', { mdm: 'mdm' })]);
  try {
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'failed');
    assert.match(done.error?.message ?? '', /role "mdm" of playbook p is not bound to an asset \(riposte playbooks bind p mdm=<asset>\)/);
  } finally {
    await h.close();
  }
});

test('roles call the bound asset through the capability', async () => {
  const vendor = new TestVendor();
  const h = await setup(vendor, [pb(async (ctx) => (ctx.roles as any).mdm.findDevice({ deviceName: 'phone' }), 'p', { mdm: 'mdm' })]);
  try {
    await h.store.putPlaybookSettings({ playbookId: 'p', enabled: true, automation: null, bindings: { mdm: 'tv' } }, 'test');
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { found: true, device: { id: 'd1', name: 'phone' } });
  } finally {
    await h.close();
  }
});
