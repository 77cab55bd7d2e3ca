/**
 * Regression found in review: a step the playbook starts and awaits later (or never) that fails is a rejected promise
 * nobody handles yet when its outcome is handed over (each outcome is handed from a macrotask of
 * its own). Node's default for an unhandled rejection kills the server; on restart the replay
 * hands the same recorded failure back in the same place — a crash loop that stops every run.
 * The engine must not let a playbook's unhandled step rejection reach the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, ActionFailedError } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

test('a failed step awaited later is not an unhandled rejection of the process', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, async (ctx) => {
    const lookup = ctx.asset(app, 'tv').echo({ value: 'x' }); // started now, awaited below
    await ctx.sleep(50); // the lookup fails meanwhile
    try {
      return await lookup;
    } catch {
      return 'lookup failed, handled';
    }
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => { unhandled.push(reason); };
  // Node's default handler would end the process: observe instead (this listener replaces it).
  process.on('unhandledRejection', onUnhandled);
  const h = await makeHarness({ apps: [app], playbooks: [playbook], engine: { shortSleepMs: 1000 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    vendor.script.push('terminal');
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.output, 'lookup failed, handled');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled.map((e) => (e instanceof ActionFailedError ? `ActionFailedError: ${e.message}` : String(e))), [],
      'an unhandled rejection reached the process (by default: the server exits)');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
  }
});
