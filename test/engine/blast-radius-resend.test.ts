/**
 * Regression found in review: sending an action again after an unknown outcome passes the gate again (245f3ef), and
 * the gate's blast-radius count (countActionExecutions) counts journal entries in status
 * `started` — including the step's own intent. A rule "at most 1 destroy per hour without
 * approval" lets the first send through (0 so far), then the re-send of that same execution sees
 * 1 and parks the run on an approval nobody should be asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { runIn } from '../support/wait.js';

test('re-sending an action after an unknown outcome does not count against its own blast radius', async () => {
  const vendor = new TestVendor();
  vendor.script.push('hang'); // times out: outcome unknown; reconcile says "not applied", so it is sent again
  const app = makeTestApp(vendor);
  const meta = { id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'autonomous' as const };
  const playbook = definePlaybook(meta, async (ctx) => ctx.asset(app, 'tv').destroy({ target: 'A' }));
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: {} });
  try {
    await putTvAsset(h.store);
    const rule = [{ action: 'destroy', max: 1, windowMs: 3_600_000 }];
    await h.hitl!.policy.putSetting('blast_radius', rule, 'user:alice', 'policy.blast_radius');
    const [run] = await h.fire();
    const done = await runIn(h.store, run!.id);
    const pending = await h.hitl!.policy.listApprovals({ status: 'pending' });
    assert.deepEqual(
      { status: done.status, waitingOn: done.waitingOn, approvals: pending.map((a) => a.reasons.join('; ')) },
      { status: 'completed', waitingOn: null, approvals: [] },
    );
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});
