/**
 * Regression found in review: ctx.patched() in a branch that the old code had already run past. The docs promise "a
 * run that went past that point on the old code replays the old path (false)". A run parked on a
 * timer started before a lookup went past the lookup's continuation on the old code (it had
 * nothing to do there); on the new code the replay must not take the patched path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, type PlaybookContext, type PlaybookDefinition } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

const PARK_MS = 300;
const vendor = new TestVendor();
const app = makeTestApp(vendor);
const version = (run: (ctx: PlaybookContext) => Promise<unknown>): PlaybookDefinition =>
  definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, run);

// Old code: start a timer, look something up meanwhile (nothing follows the lookup), await the timer.
const v1 = version(async (ctx) => {
  const timer = ctx.sleep(PARK_MS);
  await ctx.asset(app, 'tv').echo({ value: 'x' });
  await timer;
  return 'v1';
});
// New code: after the lookup, a destructive action behind a patch marker.
const v2 = version(async (ctx) => {
  const timer = ctx.sleep(PARK_MS);
  await ctx.asset(app, 'tv').echo({ value: 'x' });
  const patched = ctx.patched('destroy-after-lookup');
  if (patched) await ctx.asset(app, 'tv').destroy({ target: 'A' });
  await timer;
  return patched ? 'v2' : 'v1 path';
});

test('patched(): a run that ran past the patch point on the old code replays the old path', async () => {
  const h = await makeHarness({ apps: [app], playbooks: [v1], engine: { shortSleepMs: 50, pollIntervalMs: 20 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    const [run] = await h.fire();
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'waiting');
    // The old code has handed the lookup's outcome to the playbook: that branch already ran to `await timer`.
    assert.deepEqual((await h.store.loadJournal(run!.id)).map((e) => `${e.seq}:${e.name}:${e.status}`), ['0:sleep:waiting', '1:tv.echo:completed']);
    await h.restart([v2]); // new code deployed while the run is parked
    for (const until = Date.now() + 5000; (await h.store.getRun(run!.id))!.status === 'waiting' && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed', done.attentionReason ?? '');
    assert.equal(vendor.count('destroy'), 0, 'the old run went past the patch point: no destructive action of the new path');
    assert.equal(done.output, 'v1 path');
  } finally {
    await h.close();
  }
});
