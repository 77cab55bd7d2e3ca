/**
 * `riposte approvals approve|deny` as a child process against the API served from this process:
 * it shows what it is about to decide, refuses ambiguous run prefixes and unconfirmed bulk
 * decisions (stdin/stdout are pipes here, not a terminal), and never prints raw escape sequences.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS } from '../api/harness.js';
import { block, makeApprovalsApi, wipe, type ApprovalsApi } from '../support/approvals-api.js';
import type { ApprovalRecord } from '../../src/store/policy-records.js';
import { cliAsync, cliInTerminal, scriptCommand } from './fixture.js';

const RUN_X1 = '0197aa00-1111-7000-8000-000000000001';
const RUN_X2 = '0197aa00-2222-7000-8000-000000000002';
const RUN_Y = '0197aa01-3333-7000-8000-000000000003';
const RUN_Z = '0197aa02-4444-7000-8000-000000000004';
const RUN_I1 = '0197aa03-5555-7000-8000-000000000005';
const RUN_I2 = '0197aa04-6666-7000-8000-000000000006';
const RUN_IDS = '0197aa05-7777-7000-8000-000000000007';
const RUN_TTY = '0197aa06-8888-7000-8000-000000000008';

// An ANSI "red" sequence and a C1 CSI in a parameter an alert could carry.
const HOSTILE = 'dev-\u001b[31mRED\u001b[0m-\u009b2J';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u001b\u009b]/;

describe('riposte approvals approve|deny', () => {
  let api: ApprovalsApi;
  let url = '';
  let incident = 0;
  const x: ApprovalRecord[] = [];
  const y: ApprovalRecord[] = [];
  const z: ApprovalRecord[] = [];
  const inc: ApprovalRecord[] = [];
  const byIds: ApprovalRecord[] = [];

  const riposte = (...args: string[]) => cliAsync(null, {}, ...args, '--url', url, '--token', TOKENS.analyst);
  const statuses = async (list: ApprovalRecord[]) =>
    Promise.all(list.map(async (a) => (await api.hitl.policy.getApproval(a.id))!.status));
  const noRawControl = (r: { stdout: string; stderr: string }) => {
    assert.doesNotMatch(r.stdout, RAW_CONTROL, 'stdout has no raw escape sequence');
    assert.doesNotMatch(r.stderr, RAW_CONTROL, 'stderr has no raw escape sequence');
  };

  before(async () => {
    api = await makeApprovalsApi();
    url = await api.h.app.listen({ port: 0, host: '127.0.0.1' });
    await api.incidentWithRuns([RUN_X1, RUN_X2, RUN_Y, RUN_Z, RUN_IDS, RUN_TTY]);
    incident = await api.incidentWithRuns([RUN_I1, RUN_I2]);
    x.push(await api.request(RUN_X1, 1, wipe('dev-x1')), await api.request(RUN_X2, 1, wipe('dev-x2')));
    y.push(await api.request(RUN_Y, 3, wipe(HOSTILE)), await api.request(RUN_Y, 4, block('10.20.30.41')));
    z.push(await api.request(RUN_Z, 2, wipe('dev-z')));
    inc.push(await api.request(RUN_I1, 1, wipe('dev-i1')), await api.request(RUN_I2, 1, block('10.9.9.9')));
    byIds.push(await api.request(RUN_IDS, 1, wipe('dev-ids-1')), await api.request(RUN_IDS, 2, wipe('dev-ids-2')));
  });
  after(() => api.close());

  it('--run with an ambiguous prefix decides nothing, exits 1 and lists the matching runs', async () => {
    const r = await riposte('approvals', 'approve', '--run', '0197aa00', '--yes');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: run id prefix "0197aa00" is ambiguous: it matches 2 runs: /);
    assert.ok(r.stderr.includes(RUN_X1) && r.stderr.includes(RUN_X2), r.stderr);
    assert.match(r.stderr, /\[ambiguous_run\]/);
    assert.doesNotMatch(r.stdout, /is now/);
    assert.deepEqual(await statuses(x), ['pending', 'pending']);
  });

  it('several approvals without --yes and without a terminal: shows them, refuses, decides nothing', async () => {
    const r = await riposte('approvals', 'approve', '--run', '0197aa01');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    noRawControl(r);
    assert.match(r.stdout, /^About to approve these 2 approval requests:\n/);
    assert.match(r.stdout, /APPROVAL +ACTION +ASSET +PARAMETERS +RUN +STEP/);
    const wipeLine = r.stdout.split('\n').find((l) => l.startsWith(y[0]!.id)) ?? '';
    assert.match(wipeLine, /microsoft-intune\.wipeDevice +intune-lab +/);
    assert.ok(wipeLine.includes('{"deviceId":"dev-\\u001b[31mRED\\u001b[0m-\\u009b2J"}'), wipeLine);
    assert.match(wipeLine, new RegExp(`${RUN_Y} +3$`), 'the full run id and the step');
    const blockLine = r.stdout.split('\n').find((l) => l.startsWith(y[1]!.id)) ?? '';
    assert.match(blockLine, /^\S+ +palo-alto-panos\.blockIp +panos-lab +\{"ip":"10\.20\.30\.41"\} +/);
    assert.ok(blockLine.endsWith(`${RUN_Y}  4`), blockLine);
    assert.match(r.stderr, /^error: refusing to approve 2 approvals without confirmation: .*--yes/);
    assert.match(r.stderr, /nothing was decided\n$/);
    assert.deepEqual(await statuses(y), ['pending', 'pending']);
  });

  it('--yes decides them all through the bulk route, printing each outcome', async () => {
    const r = await riposte('approvals', 'approve', '--run', '0197aa01', '--yes', '--comment', 'repeat offender');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    noRawControl(r);
    assert.match(r.stdout, new RegExp(`${y[0]!.id}: wipeDevice on intune-lab is now approved`));
    assert.match(r.stdout, new RegExp(`${y[1]!.id}: blockIp on panos-lab is now approved`));
    assert.deepEqual(await statuses(y), ['approved', 'approved']);
    const a = (await api.hitl.policy.getApproval(y[0]!.id))!;
    assert.deepEqual(a.decisions.map((d) => [d.user, d.via, d.comment]), [['analyst', 'cli', 'repeat offender']]);
    // Nothing left: a clear message, exit 1.
    const again = await riposte('approvals', 'approve', '--run', RUN_Y, '--yes');
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`run ${RUN_Y} has no pending approvals`));
  });

  it('one approval (by --run or by its id) needs no confirmation, and is shown first', async () => {
    const r = await riposte('approvals', 'deny', '--run', RUN_Z);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^About to deny this approval request:\n/);
    assert.match(r.stdout, new RegExp(`${z[0]!.id}: wipeDevice on intune-lab is now denied`));
    assert.deepEqual(await statuses(z), ['denied']);

    const one = await riposte('approvals', 'approve', byIds[0]!.id);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.match(one.stdout, /microsoft-intune\.wipeDevice +intune-lab +\{"deviceId":"dev-ids-1"\}/);
    assert.match(one.stdout, new RegExp(`${byIds[0]!.id}: wipeDevice on intune-lab is now approved`));
    assert.deepEqual(await statuses(byIds), ['approved', 'pending']);
  });

  it('several approval ids need --yes too; a decided one is refused before anything is sent', async () => {
    const r = await riposte('approvals', 'approve', byIds[1]!.id, z[0]!.id, '--yes');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`approval ${z[0]!.id} is already denied; nothing was decided`));
    const extra = await api.request(RUN_IDS, 3, wipe('dev-ids-3'));
    const refused = await riposte('approvals', 'approve', byIds[1]!.id, extra.id);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to approve 2 approvals without confirmation/);
    assert.deepEqual(await statuses([byIds[1]!, extra]), ['pending', 'pending']);
    const ok = await riposte('approvals', 'approve', byIds[1]!.id, extra.id, '--yes');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(await statuses([byIds[1]!, extra]), ['approved', 'approved']);
  });

  it('--incident takes the pending approvals of every run of the incident', async () => {
    const r = await riposte('approvals', 'deny', '--incident', String(incident));
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`${RUN_I1} +1`));
    assert.match(r.stdout, new RegExp(`${RUN_I2} +1`));
    assert.deepEqual(await statuses(inc), ['pending', 'pending']);
    const ok = await riposte('approvals', 'deny', '--incident', `#${incident}`, '--yes');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(await statuses(inc), ['denied', 'denied']);
    const none = await riposte('approvals', 'deny', '--incident', '999');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /incident 999 does not exist/);
  });

  it('refuses unclear requests with one line', async () => {
    const none = await riposte('approvals', 'approve');
    assert.match(none.stderr, /nothing to approve: give approval ids, --run <run id> or --incident <number>/);
    const both = await riposte('approvals', 'approve', x[0]!.id, '--run', RUN_X1);
    assert.match(both.stderr, /give approval ids, --run or --incident, not several/);
    const notId = await riposte('approvals', 'approve', 'abc\u001b[2J');
    noRawControl(notId);
    assert.match(notId.stderr, /"abc\\u001b\[2J" is not an approval id/);
    // Any error message quoting the user's input is shown terminal-safe (main.ts).
    const bad = await riposte('approvals', 'approve', '--incident', '7\u001b[2J');
    noRawControl(bad);
    assert.match(bad.stderr, /--incident must be a positive integer, got "7\\u001b\[2J"/);
    const short = await riposte('approvals', 'approve', '--run', '0197aa0');
    assert.match(short.stderr, /at least 8 characters/);
    assert.deepEqual(await statuses(x), ['pending', 'pending']);
  });

  const noPty = scriptCommand() === null && 'util-linux script is not installed';
  it('at a terminal, several approvals are decided only after the person types yes', { skip: noPty }, async () => {
    const a = [await api.request(RUN_TTY, 1, wipe('dev-tty')), await api.request(RUN_TTY, 2, block('10.7.7.7'))];
    const args = ['approvals', 'approve', '--run', RUN_TTY, '--url', url, '--token', TOKENS.analyst];
    const no = await cliInTerminal('Type yes to approve these 2 approvals: ', 'no', ...args);
    assert.equal(no.code, 1, no.stdout);
    assert.match(no.stdout, /About to approve these 2 approval requests:/);
    assert.match(no.stdout, /error: not confirmed; nothing was decided/);
    assert.deepEqual(await statuses(a), ['pending', 'pending']);
    const yes = await cliInTerminal('Type yes to approve these 2 approvals: ', 'yes', ...args);
    assert.equal(yes.code, 0, yes.stdout);
    assert.match(yes.stdout, new RegExp(`${a[0]!.id}: wipeDevice on intune-lab is now approved`));
    assert.deepEqual(await statuses(a), ['approved', 'approved']);
  });

  it('approvals list prints full run ids', async () => {
    const r = await riposte('approvals', 'list', '--status', 'all');
    assert.equal(r.code, 0, r.stderr);
    noRawControl(r);
    assert.ok(r.stdout.includes(RUN_X1) && r.stdout.includes(RUN_X2) && r.stdout.includes(RUN_Y), r.stdout);
    assert.ok(r.stdout.includes('dev-\\u001b[31mRED'), r.stdout);
  });
});
