/**
 * Changing a playbook while runs are in flight: `ctx.patched(id)` lets a run that started on the
 * old code finish the old way while new runs take the new path; an unmarked change is still
 * caught as non-determinism; `ctx.deprecatePatch(id)` retires the old path later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, type PlaybookContext, type PlaybookDefinition } from '../../src/sdk/index.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

const PARK_MS = 150;
const vendor = new TestVendor();
const app = makeTestApp(vendor);
const echo = (ctx: PlaybookContext, value: string) => ctx.asset(app, 'tv').echo({ value });

const version = (run: (ctx: PlaybookContext) => Promise<unknown>): PlaybookDefinition =>
  definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, run);

const v1 = version(async (ctx) => {
  await echo(ctx, 'x');
  await ctx.sleep(PARK_MS);
  await ctx.note('done');
  return 'v1';
});
// The change: a new lookup before the park.
const v2 = version(async (ctx) => {
  await echo(ctx, 'x');
  const patched = ctx.patched('extra-lookup');
  if (patched) await echo(ctx, 'z');
  await ctx.sleep(PARK_MS);
  await ctx.note('done');
  return patched ? 'v2' : 'v1 path';
});
const v3 = version(async (ctx) => {
  await echo(ctx, 'x');
  ctx.deprecatePatch('extra-lookup');
  await echo(ctx, 'z');
  await ctx.sleep(PARK_MS);
  await ctx.note('done');
  return 'v3';
});
const unmarked = version(async (ctx) => {
  await echo(ctx, 'x');
  await echo(ctx, 'z');
  await ctx.sleep(PARK_MS);
  await ctx.note('done');
  return 'unmarked';
});

async function harness(pb: PlaybookDefinition): Promise<Harness> {
  const h = await makeHarness({ apps: [app], playbooks: [pb], engine: { shortSleepMs: 50, pollIntervalMs: 20 } });
  await h.store.putAsset(
    { egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } },
    'test',
  );
  return h;
}

async function parkedThenDeploy(from: PlaybookDefinition, to: PlaybookDefinition) {
  const h = await harness(from);
  const [run] = await h.fire();
  assert.equal((await h.settle(run!.id)).status, 'waiting');
  await h.restart([to]); // the new code is deployed while the run is parked
  for (const until = Date.now() + 5000; (await h.store.getRun(run!.id))!.status === 'waiting' && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return { h, run: await h.settle(run!.id) };
}

test('ctx.patched: a run parked on the old code replays the old path; a new run takes the new one', async () => {
  const { h, run } = await parkedThenDeploy(v1, v2);
  try {
    assert.equal(run.status, 'completed', run.attentionReason ?? '');
    assert.equal(run.output, 'v1 path');
    assert.deepEqual(
      (await h.store.loadJournal(run.id)).map((e) => e.name),
      ['tv.echo', 'sleep', 'note'],
    );
    const [fresh] = await h.fire();
    for (
      const until = Date.now() + 5000;
      ['queued', 'running', 'waiting'].includes((await h.store.getRun(fresh!.id))!.status) && Date.now() < until;
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = await h.settle(fresh!.id);
    assert.equal(done.output, 'v2');
    assert.deepEqual(
      (await h.store.loadJournal(fresh!.id)).map((e) => `${e.kind}:${e.name}`),
      ['action:tv.echo', 'patch:extra-lookup', 'action:tv.echo', 'sleep:sleep', 'note:note'],
    );
  } finally {
    await h.close();
  }
});

test('ctx.patched after the point a parked run reached: the run takes the new path', async () => {
  const late = version(async (ctx) => {
    await echo(ctx, 'x');
    await ctx.sleep(PARK_MS);
    if (ctx.patched('after-park')) await echo(ctx, 'late');
    await ctx.note('done');
    return 'late';
  });
  const { h, run } = await parkedThenDeploy(v1, late);
  try {
    assert.equal(run.status, 'completed', run.attentionReason ?? '');
    assert.deepEqual(
      (await h.store.loadJournal(run.id)).map((e) => e.name),
      ['tv.echo', 'sleep', 'after-park', 'tv.echo', 'note'],
    );
  } finally {
    await h.close();
  }
});

test('an unmarked change is non-determinism, and the message points at ctx.patched', async () => {
  const { h, run } = await parkedThenDeploy(v1, unmarked);
  try {
    assert.equal(run.status, 'needs_attention');
    assert.match(
      run.attentionReason ?? '',
      /non-determinism at step 1: the journal recorded sleep sleep but the playbook now asks for action tv\.echo/,
    );
    assert.match(run.attentionReason ?? '', /ctx\.patched/);
  } finally {
    await h.close();
  }
});

test('ctx.deprecatePatch: runs that recorded the marker still replay once the old path is gone', async () => {
  const { h, run } = await parkedThenDeploy(v2, v3);
  try {
    assert.equal(run.status, 'completed', run.attentionReason ?? '');
    assert.equal(run.output, 'v3');
  } finally {
    await h.close();
  }
});

test('removing a patched() call a run recorded is non-determinism that names the marker', async () => {
  const { h, run } = await parkedThenDeploy(v2, unmarked);
  try {
    assert.equal(run.status, 'needs_attention');
    assert.match(run.attentionReason ?? '', /patch marker "extra-lookup".*ctx\.deprecatePatch\("extra-lookup"\)/);
  } finally {
    await h.close();
  }
});
