/**
 * Regression found in review: `riposte runs resolve` (Store.resolveStep, from another process) sets the run to
 * 'running'. The live engine's poll fetches only queued and woken runs ('running' ones once, at
 * start), so the resolved run is never resumed until the server restarts: it hangs in 'running'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

test('a step resolved by an operator resumes the run on the running engine', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} },
    async (ctx) => ctx.asset(app, 'tv').destroyBlind({ target: 'A' }));
  const h = await makeHarness({ apps: [app], playbooks: [playbook], engine: { pollIntervalMs: 20 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    vendor.script.push('lost-reply');
    const [run] = await h.fire();
    assert.equal((await h.settle(run!.id)).status, 'needs_attention');
    // What `riposte runs resolve <run> 0 --applied` does, from the CLI's own process.
    await h.store.resolveStep(run!.id, 0, { applied: true, output: { destroyed: 'A' } }, 'cli:operator');
    let done = (await h.store.getRun(run!.id))!;
    assert.equal(done.status, 'waiting', 'due now: the running engine picks it up');
    for (const until = Date.now() + 3000; done.status !== 'completed' && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 10));
      done = (await h.store.getRun(run!.id))!;
    }
    assert.equal(done.status, 'completed');
    assert.equal(vendor.count('destroyBlind'), 1);
  } finally {
    await h.close();
  }
});
