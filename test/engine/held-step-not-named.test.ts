/**
 * Regression found in review: "a step parked by the gate (approval, kill switch) … is journaled as waiting with what
 * it waits for, so the run's timeline names every step it waits on" (docs/architecture.md). A
 * re-send held by the kill switch (recheck, 245f3ef) keeps its entry as the intent (`started`,
 * execution.ts onOutcome `holdsIntent`) and writes nothing else: when another branch sleeps, the run
 * is filed under its timer and `riposte runs show` names only the timer — not the destructive step
 * that waits for the kill switch to be released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { formatRunTimeline } from '../../src/cli/format.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { runIn } from '../support/wait.js';

test('runs show names a re-send held by the kill switch', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const meta = { id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'autonomous' as const };
  const playbook = definePlaybook(meta, async (ctx) =>
    Promise.all([ctx.asset(app, 'tv').destroy({ target: 'A' }), ctx.sleep(60 * 60_000)]),
  );
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: {} });
  try {
    await putTvAsset(h.store);
    vendor.script.push('hang'); // times out; reconcile says "not applied"; the re-send meets the kill switch
    vendor.onCall = () => {
      vendor.onCall = undefined;
      void h.hitl!.setKillSwitch(true, 'user:alice', 'stop');
    };
    const [run] = await h.fire();
    const parked = await runIn(h.store, run!.id);
    assert.equal(parked.status, 'waiting');
    const journal = await h.store.loadJournal(run!.id);
    const shown = formatRunTimeline({ run: parked, journal, actionResults: [] });
    const waitsFor = shown.split('\n').filter((l) => /waits for|^\s+#\d/.test(l));
    assert.match(waitsFor.join('\n'), /kill switch/, `runs show says:\n${waitsFor.join('\n')}`);
  } finally {
    await h.close();
  }
});
