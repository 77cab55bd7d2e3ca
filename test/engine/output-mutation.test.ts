/**
 * Regression found in review: a step's outcome is handed to the playbook as the very object that is journaled, and the
 * journal write is lazy (serialised when the batch commits, ~10 ms later). A playbook that changes
 * the object it got (annotates, shift()s a list…) right after the await has the *changed* value
 * journaled as the step's outcome; the replay hands that back and the code changes it once more.
 * The steps after the park then act on a value the first execution never had: here a destructive
 * action goes to the wrong target, and no non-determinism is detected (it is a new step).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

test('a playbook that changes a step output in place replays with the output the vendor gave', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, async (ctx) => {
    const found = await ctx.asset(app, 'tv').echo({ value: 'host-7' });
    found.value = `${found.value}.corp`; // deterministic code: qualify the name it was given
    await ctx.sleep(200); // parks the run; replayed when the timer fires
    return ctx.asset(app, 'tv').destroy({ target: found.value });
  });
  const h = await makeHarness({ apps: [app], playbooks: [playbook], engine: { shortSleepMs: 50, pollIntervalMs: 20 } });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
    const [run] = await h.fire();
    assert.equal((await h.settle(run!.id)).status, 'waiting');
    for (const until = Date.now() + 5000; (await h.store.getRun(run!.id))!.status === 'waiting' && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await h.settle(run!.id)).status, 'completed');
    assert.deepEqual(vendor.applied.filter((a) => a.action === 'destroy').map((a) => a.input), [{ target: 'host-7.corp' }]);
    assert.deepEqual((await h.store.loadJournal(run!.id))[0]!.output, { value: 'host-7' }, 'the journal holds what the vendor answered');
  } finally {
    await h.close();
  }
});
