/**
 * The authoring kit (`riposte/testing`) on the shipped founding playbook, loaded from its source
 * file into the real sandbox: the paths it takes (benign, first offence, repeat offender with its
 * approvals approved, denied or left pending), what it reports, and how a scenario that does not
 * fit the playbook is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPlaybook, runPlaybook, ScenarioError, type Scenario } from '../../src/testing/index.js';

// The compiled file, as the server loads the shipped playbook (it imports the SDK by path).
const FILE = fileURLToPath(new URL('../../playbooks/mobile-unauthorized-ip.js', import.meta.url));
const playbook = await loadPlaybook(FILE);

const device = { id: 'dev-1', name: 'PHONE-7' };
const alert = (extra: Record<string, string> = {}): Scenario['incident'] => ({
  label: 'mobile-unauthorized-ip', severity: 'high',
  artifacts: [{ cef: { destinationAddress: '203.0.113.9', sourceUserName: 'jdoe', deviceHostname: 'PHONE-7', sourceAddress: '10.1.2.3', ...extra } }],
});
const lookups: Scenario['actions'] = {
  'mdm.findDevice': { output: { found: true, device } },
  'directory.getUser': { output: { found: true, user: { id: 'u1', userName: 'jdoe' } } },
  'ticketing.createTicket': { output: { id: '10001', key: 'SEC-1', created: true } },
};
const repeat: Scenario['history'] = [{ label: 'mobile-unauthorized-ip', artifacts: [{ cef: { sourceUserName: 'jdoe' } }] }];

test('a destination on the access list is benign: closed, nothing sent', async () => {
  const run = await runPlaybook(playbook, { incident: alert(), lists: { 'allowed-destinations': ['203.0.113.0/24'] } });
  assert.equal(run.status, 'completed');
  assert.equal(run.triggered, true);
  assert.deepEqual(run.actions, []);
  assert.deepEqual(run.output, { outcome: 'benign', destination: '203.0.113.9' });
  assert.equal(run.incident.status, 'closed');
  assert.match(run.notes[0]!, /access list/);
});

test('first offence: lookups and a ticket, no wipe or block, resolved', async () => {
  const run = await runPlaybook(playbook, { incident: alert(), lists: { 'allowed-destinations': [] }, actions: lookups });
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.deepEqual(run.actions.map((a) => a.name).sort(), ['directory.getUser', 'mdm.findDevice', 'ticketing.createTicket']);
  assert.deepEqual(run.actions.find((a) => a.name === 'mdm.findDevice')!.input, { deviceName: 'PHONE-7' });
  assert.equal(run.incident.status, 'resolved');
  assert.ok(run.notes.some((n) => n.includes('SEC-1')));
});

const containment: Scenario['actions'] = {
  ...lookups,
  'mdm.wipeDevice': { output: { accepted: true } },
  'firewall.blockIp': { output: { blocked: true, ip: '10.1.2.3' } },
};

test('repeat offender, approvals granted: wipe and block sent after approval, contained', async () => {
  const run = await runPlaybook(playbook, { incident: alert(), lists: { 'allowed-destinations': [] }, history: repeat, actions: containment });
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  const wipe = run.actions.find((a) => a.name === 'mdm.wipeDevice')!;
  assert.deepEqual(wipe.input, { deviceId: 'dev-1' });
  assert.equal(wipe.approval?.status, 'approved');
  assert.match(wipe.approval!.reasons.join(' '), /supervised/);
  assert.equal(run.actions.find((a) => a.name === 'firewall.blockIp')!.approval?.status, 'approved');
  assert.equal(run.incident.status, 'contained');
});

test('repeat offender, wipe denied: the block goes on, the wipe fails as denied', async () => {
  const run = await runPlaybook(playbook, {
    incident: alert(), lists: { 'allowed-destinations': [] }, history: repeat, actions: containment,
    approvals: { 'mdm.wipeDevice': 'deny' },
  });
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  const wipe = run.actions.find((a) => a.name === 'mdm.wipeDevice');
  assert.ok(wipe, JSON.stringify(run.steps.map((s) => [s.name, s.status]).concat(run.notes as never)));
  assert.equal(wipe.approval?.status, 'denied');
  assert.equal(wipe.status, 'failed');
  assert.equal((run.output as { blocked: boolean }).blocked, true);
});

test('approvals left pending: the run waits on them, nothing destructive sent', async () => {
  const run = await runPlaybook(playbook, {
    incident: alert(), lists: { 'allowed-destinations': [] }, history: repeat, actions: containment, approvals: 'pending',
  });
  assert.equal(run.status, 'waiting');
  assert.equal(run.waitingOn.length > 0, true);
  assert.ok(run.actions.filter((a) => a.name === 'mdm.wipeDevice').every((a) => a.status !== 'completed'));
});

test('autonomous: no approval asked', async () => {
  const run = await runPlaybook(playbook, {
    incident: alert(), lists: { 'allowed-destinations': [] }, history: repeat, actions: containment, automation: 'autonomous',
  });
  assert.equal(run.status, 'completed');
  assert.ok(run.actions.every((a) => a.approval === null));
});

test('a dry run records the wipe instead of sending it', async () => {
  const run = await runPlaybook(playbook, {
    incident: alert(), lists: { 'allowed-destinations': [] }, history: repeat, actions: lookups, automation: 'autonomous', dryRun: true,
  });
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.equal(run.actions.find((a) => a.name === 'mdm.wipeDevice')!.dryRun, true);
});

test('a vendor failure answered by the test fails the step as the vendor would', async () => {
  const run = await runPlaybook(playbook, {
    incident: alert(), lists: { 'allowed-destinations': [] },
    actions: { ...lookups, 'ticketing.createTicket': { fail: { message: 'project SEC does not exist', status: 404 } } },
  });
  assert.equal(run.status, 'failed');
  assert.match(run.error!.message, /project SEC does not exist/);
});

test('an answer that does not fit the action\'s output schema fails the step, naming it', async () => {
  const run = await runPlaybook(playbook, {
    incident: alert(), lists: { 'allowed-destinations': [] },
    actions: { ...lookups, 'mdm.findDevice': { output: { found: 'yes' } } },
  });
  assert.notEqual(run.status, 'completed');
  const find = run.actions.find((a) => a.name === 'mdm.findDevice')!;
  assert.equal(find.status, 'failed');
  assert.match(find.error!.message, /found/);
});

test('a call the scenario gives no answer for is the test\'s mistake, named', async () => {
  await assert.rejects(
    runPlaybook(playbook, { incident: alert(), lists: { 'allowed-destinations': [] }, actions: { 'mdm.findDevice': lookups['mdm.findDevice']! } }),
    (err: unknown) => err instanceof ScenarioError && /directory\.getUser\(\{"user":"jdoe"\}\)/.test(err.message),
  );
});

test('a scenario that does not fit the playbook is refused before anything runs', async () => {
  await assert.rejects(runPlaybook(playbook, { actions: { 'edr.isolate': { output: {} } } }), /no role "edr"/);
  await assert.rejects(runPlaybook(playbook, { actions: { 'mdm.isolate': { output: {} } } }), /role mdm \(mdm\) has no action "isolate"/);
  await assert.rejects(runPlaybook(playbook, { apps: { mdm: 'atlassian-jira' } }), /does not implement the mdm capability/);
  await assert.rejects(runPlaybook(playbook, { incident: { severity: 'urgent' } } as never), /incident\.severity/);
  await assert.rejects(runPlaybook(playbook, { actions: { wipe: { output: {} } } }), /must be <role>\.<action>/);
});
