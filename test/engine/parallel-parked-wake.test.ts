/**
 * Regression found in review: a run with two parked branches is persisted as waiting on the first one only
 * (`waitingOn`); a decision on the other (approval, prompt, kill switch) wakes nobody, so its
 * branch waits until the first one is decided or the earliest wake time (an approval's expiry:
 * hours) — containment approved now runs hours later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

test('approving the second of two parked destructive steps runs it promptly', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'supervised' },
    async (ctx) => Promise.all([ctx.asset(app, 'tv').destroy({ target: 'A' }), ctx.asset(app, 'tv').destroy({ target: 'B' })]));
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: { approvalTtlMs: 60 * 60_000 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    await h.store.policyStore().putUser({ name: 'bob', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    const [run] = await h.fire();
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'waiting');
    const pending = await h.hitl!.policy.listApprovals({ status: 'pending' });
    assert.equal(pending.length, 2);
    // Approve the one the run is NOT recorded as waiting on.
    const other = pending.find((a) => parked.waitingOn !== `approval:${a.id}`)!;
    await h.hitl!.approvals.decide(other.id, { name: 'bob', roles: ['soc-lead'] }, 'approve', 'api');
    const target = (other.params as { target: string }).target;
    for (const until = Date.now() + 3000; vendor.count('destroy') === 0 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(vendor.applied.map((a) => (a.input as { target: string }).target), [target],
      `approved ${target} at once, still not sent 3 s later (run waits on ${parked.waitingOn} until ${parked.wakeAt})`);
  } finally {
    await h.close();
  }
});

test('approving a parked destructive step wakes the run even when another branch sleeps on a timer', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'supervised' },
    async (ctx) => Promise.all([ctx.sleep(60 * 60_000), ctx.asset(app, 'tv').destroy({ target: 'A' })]));
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: { approvalTtlMs: 60 * 60_000 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    await h.store.policyStore().putUser({ name: 'bob', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    const [run] = await h.fire();
    const parked = await h.settle(run!.id);
    assert.equal(parked.status, 'waiting');
    const [approval] = await h.hitl!.policy.listApprovals({ status: 'pending' });
    await h.hitl!.approvals.decide(approval!.id, { name: 'bob', roles: ['soc-lead'] }, 'approve', 'api');
    for (const until = Date.now() + 3000; vendor.count('destroy') === 0 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(vendor.count('destroy'), 1, `approved, still not sent 3 s later (run waits on ${parked.waitingOn} until ${parked.wakeAt})`);
  } finally {
    await h.close();
  }
});
