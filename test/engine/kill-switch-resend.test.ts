/**
 * Regression found in review: the kill switch must stop every destructive send. An action whose outcome became unknown
 * (timeout, lost reply, crash after the intent) is re-sent by the step service after a reconcile
 * said "not applied" (or blindly, when idempotent) — without passing the policy gate again, so an
 * engaged kill switch does not stop it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import type { Hitl } from '../../src/policy/hitl.js';

async function setup(): Promise<{ h: Harness; hitl: Hitl; vendor: TestVendor }> {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'autonomous' },
    async (ctx) => ctx.asset(app, 'tv').destroy({ target: 'A' }));
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: {} });
  await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
  return { h, hitl: h.hitl!, vendor };
}

test('kill switch engaged, then the process restarts with an intent in the journal: the action is not sent', async () => {
  const { h, hitl, vendor } = await setup();
  try {
    await h.engine.stop();
    const [run] = await h.fire();
    // The state a crash leaves right after the intent committed (before or during the send).
    await h.store.putJournal({
      runId: run!.id, seq: 0, kind: 'action', name: 'tv.destroy', asset: 'tv', app: 'test-vendor', action: 'destroy', status: 'started',
      input: { target: 'A' }, output: null, error: null, attempts: 0, startedAt: new Date().toISOString(), finishedAt: null,
      wakeAt: null, detail: null, resolution: null,
    });
    await h.store.patchRun(run!.id, { status: 'running', startedAt: new Date().toISOString() });
    // The operator stops all automation, then the server comes back.
    await hitl.setKillSwitch(true, 'user:alice', 'automation is misbehaving');
    await h.restart();
    const r = await h.settle(run!.id);
    assert.equal(vendor.count('destroy'), 0, 'a destructive action was sent while the kill switch was engaged');
    assert.notEqual(r.status, 'completed');
  } finally {
    await h.close();
  }
});

test('kill switch engaged while a send hangs: the reconcile round does not send it again', async () => {
  const { h, hitl, vendor } = await setup();
  try {
    vendor.script.push('hang'); // times out (200 ms): outcome unknown; reconcile says "not applied"
    vendor.onCall = () => {
      vendor.onCall = undefined;
      void hitl.setKillSwitch(true, 'user:alice', 'automation is misbehaving');
    };
    const [run] = await h.fire();
    const r = await h.settle(run!.id);
    assert.equal(vendor.count('destroy'), 0, 'a destructive action was sent while the kill switch was engaged');
    assert.notEqual(r.status, 'completed');
  } finally {
    await h.close();
  }
});
