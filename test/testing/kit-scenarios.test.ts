/**
 * What a scenario decides, on small playbooks: successive approvals of one step name decided one
 * by one, an approval left to expire, a prompt answered or left to time out, the test's clock
 * (`now`), the playbook's trigger condition in `triggered`, and replay of a kit run against changed
 * code (a failure with another error is a divergence; an unfinished run is refused).
 */
import { test, after } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { loadPlaybook, runPlaybook } from '../../src/testing/index.js';
import { replayRun } from '../../src/testing/replay.js';
import { writePlaybookFile, type PlaybookSource } from '../support/sandbox-playbook.js';
import { tempDir } from '../support/temp-store.js';

const dir = tempDir('riposte-kit-scenarios-');
after(() => dir.remove());
let n = 0;
/** Each playbook in a folder of its own (writePlaybookFile names the file playbook.mjs). */
const load = (src: PlaybookSource) => {
  const sub = join(dir.dir, String(++n));
  mkdirSync(sub);
  return loadPlaybook(writePlaybookFile(sub, src));
};

const blockTwice = await load({
  id: 'block-twice', roles: { firewall: 'firewall' },
  body: `const out = [];
  for (const ip of ['198.51.100.1', '198.51.100.2']) {
    try { out.push((await ctx.roles.firewall.blockIp({ ip })).blocked); } catch (e) { out.push(e.record ? e.record.name : String(e)); }
  }
  return out;`,
});
const blocked = { 'firewall.blockIp': { output: { blocked: true, ip: 'x' } } };

test('successive approvals of one step name are decided in order', async () => {
  const run = await runPlaybook(blockTwice, { automation: 'supervised', actions: blocked, approvals: { 'firewall.blockIp': ['approve', 'deny'] } });
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.deepEqual(run.output, [true, 'ApprovalDenied']);
  assert.deepEqual(run.actions.map((a) => a.approval?.status), ['approved', 'denied']);
});

test('an approval left to expire: the test\'s clock passes its expiry, the step fails as expired', async () => {
  const run = await runPlaybook(blockTwice, { automation: 'supervised', actions: blocked, approvals: { 'firewall.blockIp': ['expire', 'approve'] } });
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.equal(run.actions[0]!.approval?.status, 'expired');
  assert.equal(run.actions[0]!.status, 'failed');
  assert.equal((run.output as unknown[])[1], true);
});

const ask = await load({
  id: 'ask', body: `const r = await ctx.prompt({ question: 'Go on?', to: { role: 'soc-lead' }, type: 'yesno', default: false, timeoutMs: 3600000 });
  return r;`,
});

test('a prompt answered, or left to time out (its default taken), or left open', async () => {
  const answered = await runPlaybook(ask, { prompts: { 'Go on?': true } });
  assert.equal(answered.status, 'completed');
  assert.deepEqual(answered.output, { answer: true, answeredBy: 'reviewer', timedOut: false });
  const timedOut = await runPlaybook(ask, { prompts: { 'Go on?': { timeout: true } } });
  assert.equal(timedOut.status, 'completed', JSON.stringify(timedOut.error));
  assert.deepEqual(timedOut.output, { answer: false, answeredBy: null, timedOut: true });
  const open = await runPlaybook(ask, {});
  assert.equal(open.status, 'waiting');
  assert.match(open.waitingOn[0]!, /^prompt:/);
});

const clock = await load({ id: 'clock', body: 'return new Date(ctx.now()).getUTCHours() < 18 ? "office hours" : "night";' });

test('the test\'s clock: `now` is what ctx.now says', async () => {
  assert.equal((await runPlaybook(clock, { now: '2026-11-30T12:00:00Z' })).output, 'office hours');
  assert.equal((await runPlaybook(clock, { now: '2026-11-30T22:00:00Z' })).output, 'night');
});

const conditional = await load({ id: 'conditional', triggers: { labels: ['test'], when: 'severity >= "high"' }, body: 'return 1;' });

test('`triggered` follows the trigger condition; the run goes ahead either way', async () => {
  assert.equal((await runPlaybook(conditional, { incident: { severity: 'high' } })).triggered, true);
  const low = await runPlaybook(conditional, { incident: { severity: 'low' } });
  assert.equal(low.triggered, false);
  assert.equal(low.status, 'completed');
});

test('replay of a kit run: another failure is a divergence; a run still waiting is refused', async () => {
  const fails = await load({ id: 'fails', body: "throw new Error('vendor said no');" });
  const failsOtherwise = await load({ id: 'fails', body: "throw new Error('a brand new bug');" });
  const recorded = await runPlaybook(fails, {});
  assert.equal(recorded.status, 'failed');
  assert.equal((await replayRun(recorded.run, recorded.journal, fails.loaded)).same, true);
  const other = await replayRun(recorded.run, recorded.journal, failsOtherwise.loaded);
  assert.equal(other.same, false);
  assert.match(other.divergence!, /vendor said no.*a brand new bug/);
  const waiting = await runPlaybook(ask, {});
  await assert.rejects(replayRun(waiting.run, waiting.journal, ask.loaded), /is waiting: only a completed or failed run can be replayed/);
});
