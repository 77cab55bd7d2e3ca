/**
 * Regression found in review: an operator resolves a run's first action (`runs resolve --applied`) and the run goes
 * on, parks on a timer, and resumes. The resolved entry has no `resolution`; the execution right
 * after the resolve orders it in memory (orderLegacy: it is the only outcome) and replays it, but
 * never writes that order back. The next outcomes get resolutions 1, 2 … on disk. At the second
 * resume the journal has resolutions, so orderLegacy leaves it alone; the resolved step (null) is
 * held back until the history [1 …] is replayed, which cannot happen before it: the unchanged code
 * is parked as non-deterministic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { runIn, until } from '../support/wait.js';
import { putTvAsset } from '../support/tv-asset.js';
import { LEGACY_OUTCOME_ORDER_SQL } from '../../src/store/sqlite/migration-006-journal-resolution.js';

test('a run whose first action was resolved by an operator survives a later park', async () => {
  const vendor = new TestVendor();
  vendor.script.push('lost-reply'); // outcome unknown; destroyBlind has no reconcile: needs attention
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, async (ctx) => {
    await ctx.asset(app, 'tv').destroyBlind({ target: 'A' });
    await ctx.note('destroyed');
    await ctx.sleep(300);
    return 'done';
  });
  const engine = { shortSleepMs: 50, pollIntervalMs: 20 };
  const h = await makeHarness({ apps: [app], playbooks: [playbook], engine });
  try {
    await putTvAsset(h.store);
    const [run] = await h.fire();
    assert.equal((await runIn(h.store, run!.id)).status, 'needs_attention');
    await h.store.resolveStep(run!.id, 0, { applied: true, output: { destroyed: 'A' } }, 'user:alice');
    // Resumes, notes, parks on the timer (the second execution) …
    await until('the run to park on its timer', async () => {
      const r = await h.store.getRun(run!.id);
      const parked = r?.status === 'waiting' && r.waitingOn === 'timer';
      return parked && r.wakeAt !== null && Date.parse(r.wakeAt) > Date.now();
    });
    // … then wakes (the third execution) and must finish.
    const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
    assert.equal(done.status, 'completed', done.attentionReason ?? '');
  } finally {
    await h.close();
  }
});

test('a run parked before migration 006 survives its second resume', async () => {
  const vendor = new TestVendor();
  vendor.latency = (_action, input) => ((input as { value?: string }).value === 'slow' ? 40 : 0);
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, async (ctx) => {
    const tv = ctx.asset(app, 'tv');
    await Promise.all([
      tv.echo({ value: 'slow' }).then(() => ctx.note('slow one answered')),
      tv.echo({ value: 'fast' }).then(() => ctx.note('fast one answered')),
    ]);
    await ctx.sleep(300);
    await ctx.sleep(300);
    return 'done';
  });
  const engine = { shortSleepMs: 50, pollIntervalMs: 20 };
  const h = await makeHarness({ apps: [app], playbooks: [playbook], engine });
  try {
    await putTvAsset(h.store);
    const [run] = await h.fire();
    assert.equal((await runIn(h.store, run!.id)).status, 'waiting');
    await h.engine.stop();
    // The journal as an engine before migration 006 left it.
    h.store.db.prepare('UPDATE journal SET resolution = NULL WHERE run_id = ?').run(run!.id);
    // … and as migration 6 finds it on upgrade.
    h.store.db.exec(LEGACY_OUTCOME_ORDER_SQL);
    await h.restart();
    // The first resume (legacy order, in memory) wakes the first timer and parks on the second …
    await until('the run to park on its second timer', async () =>
      (await h.store.loadJournal(run!.id)).some((e) => e.kind === 'sleep' && e.seq === 5 && e.status === 'waiting'),
    );
    // … the second resume must finish.
    const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
    assert.equal(done.status, 'completed', done.attentionReason ?? '');
  } finally {
    await h.close();
  }
});
