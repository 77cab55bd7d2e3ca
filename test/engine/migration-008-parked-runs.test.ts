/**
 * Regression found in review: migration 8 gives a run parked before it only its one recorded wait (`runs.waiting_on`,
 * the first parked branch). A run parked by the previous version on two approvals (the founding
 * playbook's wipe and block) is still woken only by the first: approving the other one runs
 * nothing until the first is decided or the earliest expiry, hours later — the defect 245f3ef fixed
 * for new runs stays for every run in flight across the upgrade. The pending approvals and prompts
 * of waiting runs are in the database and could be copied too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { MIGRATION_008_RUN_WAITS } from '../../src/store/sqlite/migration-008-run-waits.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { until } from '../support/wait.js';

test('a run parked on two approvals before migration 8 wakes when the second is approved', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const meta = { id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'supervised' as const };
  const playbook = definePlaybook(meta, async (ctx) =>
    Promise.all([ctx.asset(app, 'tv').destroy({ target: 'A' }), ctx.asset(app, 'tv').destroy({ target: 'B' })]),
  );
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: { approvalTtlMs: 60 * 60_000 } });
  try {
    await putTvAsset(h.store);
    await h.store.policyStore().putUser({ name: 'bob', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    const [run] = await h.fire();
    await until('the run to park', async () => (await h.store.getRun(run!.id))?.status === 'waiting');
    await h.engine.stop();
    // The run as the previous version parked it (one wait), then migration 8's own copy step.
    const copy = MIGRATION_008_RUN_WAITS.sql.slice(MIGRATION_008_RUN_WAITS.sql.indexOf('INSERT INTO run_waits'));
    h.store.db.exec(`DELETE FROM run_waits; ${copy}`);
    await h.restart();
    const parked = (await h.store.getRun(run!.id))!;
    const pending = await h.hitl!.policy.listApprovals({ status: 'pending' });
    assert.equal(pending.length, 2);
    const other = pending.find((a) => parked.waitingOn !== `approval:${a.id}`)!;
    await h.hitl!.approvals.decide(other.id, { name: 'bob', roles: ['soc-lead'] }, 'approve', 'api');
    for (const end = Date.now() + 3000; vendor.count('destroy') === 0 && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(vendor.count('destroy'), 1, `approved at once, not sent 3 s later (run wakes at ${parked.wakeAt})`);
  } finally {
    await h.close();
  }
});
