/**
 * Regression found in review: a run ends 'completed' as soon as the playbook function returned, even when a losing
 * branch of a Promise.race is parked on an approval. The approval stays pending for a finished run:
 * approvers are asked (and e-mailed) to approve an action that can never run, and an approval
 * given later is recorded as approved while nothing happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

test('a completed run leaves no approval pending for one of its steps', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'supervised' },
    async (ctx) => Promise.race([
      ctx.asset(app, 'tv').destroy({ target: 'A' }).then(() => 'contained'),
      ctx.asset(app, 'tv').echo({ value: 'x' }).then(() => 'looked up'),
    ]));
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: {} });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    const journal = await h.store.loadJournal(run!.id);
    const parked = journal.filter((e) => e.status === 'waiting' || e.status === 'started');
    const pending = await h.hitl!.policy.listApprovals({ status: 'pending' });
    assert.deepEqual({ parked: parked.map((e) => `${e.name}: ${e.detail}`), pending: pending.map((a) => `${a.action} ${a.status}`) },
      { parked: [], pending: [] }, 'run completed while a step of it is parked on a pending approval');
  } finally {
    await h.close();
  }
});
