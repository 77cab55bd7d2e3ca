/**
 * Regression found in review: a run parked before migration 006 has no `resolution` on its journal entries. Replay then
 * hands recorded outcomes back in the order the code asks for them (call order), not the order
 * they reached the playbook; with parallel branches the later steps are numbered differently and
 * the same, unchanged code is parked as non-deterministic when it resumes after the upgrade. The
 * order could be recovered (finishedAt, written when each outcome was handed over).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { LEGACY_OUTCOME_ORDER_SQL } from '../../src/store/sqlite/migration-006-journal-resolution.js';

test('a parallel run parked before the resolution column existed resumes on the same code', async () => {
  const vendor = new TestVendor();
  vendor.latency = (_action, input) => ((input as { value?: string }).value === 'slow' ? 40 : 0);
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, async (ctx) => {
    const tv = ctx.asset(app, 'tv');
    await Promise.all([
      tv.echo({ value: 'slow' }).then(() => ctx.note('slow one answered')),
      tv.echo({ value: 'fast' }).then(() => ctx.note('fast one answered')),
    ]);
    await ctx.sleep(200);
    return 'done';
  });
  const h = await makeHarness({ apps: [app], playbooks: [playbook], engine: { shortSleepMs: 50, pollIntervalMs: 20 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    await h.engine.stop();
    const [run] = await h.fire();
    await h.restart();
    assert.equal((await h.settle(run!.id)).status, 'waiting');
    await h.engine.stop();
    // The journal as an engine before migration 006 left it.
    h.store.db.prepare('UPDATE journal SET resolution = NULL WHERE run_id = ?').run(run!.id);
    // … and as migration 6 finds it on upgrade.
    h.store.db.exec(LEGACY_OUTCOME_ORDER_SQL);
    await h.restart();
    for (const until = Date.now() + 5000; (await h.store.getRun(run!.id))!.status === 'waiting' && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed', done.attentionReason ?? '');
  } finally {
    await h.close();
  }
});
