/**
 * Journals of real runs, recorded by earlier code (test/journals/*.json, see record.ts there),
 * replayed against today's code — as Temporal replays saved histories in CI. Every recorded step
 * must be handed back in its recorded order and the run must end as it ended when recorded,
 * without asking the host to perform anything: a change that would break the replay of runs in
 * flight fails the build here.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RunExecution } from '../../src/engine/execution.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import type { JournalEntry, RunRecord } from '../../src/store/records.js';
import type { RunHost } from '../../src/steps/protocol.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { loadBuiltinPlaybooks } from '../../src/server/builtin-playbooks.js';
import { branchPlaybook } from '../support/branch-playbook.js';
import type { RecordedJournal } from '../journals/recorded.js';

const DIR = fileURLToPath(new URL('../../../test/journals/', import.meta.url));
// The shipped playbooks as the server runs them: in the sandbox.
const sandbox = new Sandbox();
const registry = new PlaybookRegistry([...(await loadBuiltinPlaybooks(sandbox)), branchPlaybook(600)]);
after(() => sandbox.close());
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('recorded journals are present', () => {
  assert.ok(files.length >= 8, `only ${files.length} recorded journals in test/journals`);
});

for (const file of files) {
  test(`replay of the recorded journal ${file}`, async () => {
    const rec = JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as RecordedJournal;
    const reg = registry.get(rec.playbookId);
    assert.ok(reg, `playbook ${rec.playbookId} is not installed`);
    const asked: string[] = [];
    const written: JournalEntry[] = [];
    const host: RunHost = {
      async perform(req) {
        asked.push(`${req.kind} ${req.name} #${req.seq}`);
        return {
          status: 'attention',
          reason: `replay asked for step #${req.seq} ${req.name}, which the journal does not answer`,
        };
      },
      record: (e) => written.push(e),
      recordWithEffect: (e) => written.push(e),
      update: (seq) => written.push(rec.journal.find((e) => e.seq === seq)!),
      settle: async () => {},
      abandon: async (seqs) => {
        asked.push(`abandon ${seqs.join(',')}`);
      },
    };
    const run: RunRecord = {
      origin: null,
      ...rec.run,
      playbookId: rec.playbookId,
      playbookVersion: reg.config.version,
      playbookHash: rec.playbookHash,
      status: 'running',
      output: null,
      error: null,
      attentionReason: null,
      wakeAt: null,
      minutesSaved: null,
      createdAt: rec.recordedAt,
      startedAt: rec.recordedAt,
      updatedAt: rec.recordedAt,
      finishedAt: null,
      waitingOn: null,
      parentRunId: null,
      parentSeq: null,
      rerunOf: null,
      alsoCausedBy: [],
    };
    const exec = new RunExecution(run, reg.config, reg.executor, rec.playbookHash !== reg.hash, rec.journal, host, {
      now: () => Date.parse(rec.recordedAt),
      shortSleepMs: 0,
      dryRun: rec.run.dryRun,
    });
    const result = await exec.execute();
    assert.deepEqual(asked, [], 'the replay asked the host for steps the journal answers');
    assert.equal(result.status, rec.status, JSON.stringify(result));
    if (result.status === 'completed') assert.deepEqual(result.output, rec.output);
    assert.deepEqual(written, [], 'a full replay writes nothing');
  });
}
