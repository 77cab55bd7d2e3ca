/**
 * Issue 10's first finding, as a regression test: two parallel branches of two steps each, then a
 * park. Whichever branch finishes first, the run must complete after the park and after an engine
 * restart, with each note written once — not park as non-determinism.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../support/harness.js';
import { startDirectoryServer, testDirectoryApp } from '../support/directory-app.js';
import { branchPlaybook, BRANCH_PLAYBOOK_ID } from '../support/branch-playbook.js';

for (const [which, latency] of [
  ['the directory answers first', 0],
  ['the sleep ends first', 450],
] as const) {
  for (const restart of [false, true]) {
    test(`branch example: ${which}; parked, ${restart ? 'engine restarted, ' : ''}replayed → completed`, async () => {
      const dir = await startDirectoryServer(() => latency);
      const h = await makeHarness({
        apps: [testDirectoryApp],
        playbooks: [branchPlaybook(600)],
        engine: { shortSleepMs: 400, pollIntervalMs: 20 },
      });
      try {
        await h.store.putAsset({ egressAllow: ['loopback'], name: 'dir', appId: 'test-directory', config: { url: dir.url }, secrets: {} }, 'test');
        await h.store.putPlaybookSettings(
          { playbookId: BRANCH_PLAYBOOK_ID, enabled: true, automation: null, bindings: { directory: 'dir' } },
          'test',
        );
        const [run] = await h.fire({ label: 'branch' });
        const parked = await h.settle(run!.id, 10_000);
        assert.equal(parked.status, 'waiting', parked.attentionReason ?? '');
        assert.equal(parked.waitingOn, 'timer');
        if (restart) await h.restart();
        let done = parked;
        for (const until = Date.now() + 10_000; done.status === 'waiting' && Date.now() < until;) {
          await new Promise((r) => setTimeout(r, 20));
          done = (await h.store.getRun(run!.id))!;
        }
        done = await h.settle(run!.id, 10_000);
        assert.equal(done.status, 'completed', done.attentionReason ?? '');
        assert.deepEqual(done.output, { found: true });
        const notes = (await h.store.listNotes(done.incidentId)).map((n) => n.text);
        assert.deepEqual([...notes].sort(), ['A', 'B', 'after the park']);
        assert.equal(dir.calls, 1, 'the recorded lookup was not asked again');
        const journal = await h.store.loadJournal(run!.id);
        assert.deepEqual(
          journal.map((e) => e.resolution !== null),
          [true, true, true, true, true, true],
        );
        const firstNote = latency === 0 ? 'B' : 'A';
        assert.equal(
          (journal.find((e) => e.seq === 2)!.input as { text: string }).text,
          firstNote,
          'the third step is the note of the branch that finished first',
        );
      } finally {
        await h.close();
        await dir.close();
      }
    });
  }
}
