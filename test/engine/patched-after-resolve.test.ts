/**
 * Regression found in review: patched() is false in "replayed segments" (245f3ef). An outcome an operator recorded
 * with `runs resolve --applied` was never handed to the playbook: the code after it has never run,
 * so a run reaching a ctx.patched() there reaches it on the new code and must take the new path.
 * When the resolved step is the run's first outcome, orderLegacy (execution.ts) gives it an order
 * in memory as if an old engine had handed it over, Delivery replays it as history, and the code
 * reacting to it counts as replayed: patched() answers false.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, type PlaybookContext } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { runIn } from '../support/wait.js';

test('code after an operator-resolved step runs for the first time: patched() is true there', async () => {
  const vendor = new TestVendor();
  vendor.script.push('lost-reply'); // outcome unknown, no reconcile: needs attention
  const app = makeTestApp(vendor);
  const meta = { id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} };
  const v1 = definePlaybook(meta, async (ctx: PlaybookContext) => {
    await ctx.asset(app, 'tv').destroyBlind({ target: 'A' });
    return 'v1';
  });
  const v2 = definePlaybook(meta, async (ctx: PlaybookContext) => {
    await ctx.asset(app, 'tv').destroyBlind({ target: 'A' });
    return ctx.patched('report-after-destroy') ? 'v2' : 'v1 path';
  });
  const h = await makeHarness({ apps: [app], playbooks: [v1], engine: { pollIntervalMs: 20 } });
  try {
    await putTvAsset(h.store);
    const [run] = await h.fire();
    assert.equal((await runIn(h.store, run!.id)).status, 'needs_attention');
    await h.restart([v2]); // the fix is deployed while the run waits for an operator
    await h.store.resolveStep(run!.id, 0, { applied: true, output: { destroyed: 'A' } }, 'user:alice');
    const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
    assert.equal(done.status, 'completed', done.attentionReason ?? '');
    assert.equal(done.output, 'v2', 'the run reached the patch point on the new code');
  } finally {
    await h.close();
  }
});
