/**
 * Regression found in review: a run that ends while a branch is parked journals that step as abandoned
 * with no `resolution` (StepService.abandon). The playbook never saw that failure. If the run is
 * executed again — the process died after the execution's writes committed and before the run was
 * marked completed, so it is still `running` and is taken over at the next start — the replay
 * takes the abandoned entry for "an outcome recorded but never handed over" and hands the failure
 * to the losing branch as a live outcome: its `.catch` runs code the first execution never ran,
 * here a note on the incident.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { runIn } from '../support/wait.js';

test('a step abandoned when its run ended is not handed to the playbook when the run is taken over', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const meta = { id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'supervised' as const };
  const playbook = definePlaybook(meta, async (ctx) =>
    Promise.race([
      ctx.asset(app, 'tv').destroy({ target: 'A' }).then(
        () => 'contained',
        () => ctx.note('containment failed').then(() => 'not contained'),
      ),
      ctx.asset(app, 'tv').echo({ value: 'x' }).then(() => 'looked up'),
    ]),
  );
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: {} });
  try {
    await putTvAsset(h.store);
    const [run] = await h.fire();
    const first = await runIn(h.store, run!.id);
    assert.equal(first.status, 'completed');
    const before = (await h.store.loadJournal(run!.id)).map((e) => `${e.seq}:${e.name}:${e.status}`);
    assert.deepEqual(before, ['0:tv.destroy:abandoned', '1:tv.echo:completed']);
    // The state a crash leaves between the execution's last write and the run's final state.
    await h.engine.stop();
    await h.store.patchRun(run!.id, { status: 'running', finishedAt: null, output: null });
    await h.restart();
    const again = await runIn(h.store, run!.id);
    assert.equal(again.status, 'completed', again.attentionReason ?? '');
    const notes = (await h.store.listNotes(run!.incidentId)).map((n) => n.text);
    const journal = (await h.store.loadJournal(run!.id)).map((e) => `${e.seq}:${e.name}:${e.status}`);
    assert.deepEqual({ notes, journal }, { notes: [], journal: before }, 'the replay ran code the run never ran');
  } finally {
    await h.close();
  }
});
