/**
 * Fixtures checked against a playbook: a fixture of another playbook, or one whose recorded
 * answers do not cover what the playbook asks, is refused naming the problem, and nothing is sent;
 * a path that differs is reported at its first difference, with both sides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPlaybook } from '../../src/testing/index.js';
import { checkFixture, type Fixture } from '../../src/testing/fixture.js';
import { ScenarioError } from '../../src/testing/scenario.js';

const playbook = await loadPlaybook(fileURLToPath(new URL('../../playbooks/mobile-unauthorized-ip.js', import.meta.url)));

const benign: Fixture = {
  playbook: 'mobile-unauthorized-ip',
  scenario: {
    snapshot: {
      id: 4711, name: 'Mobile device reached unauthorized IP', label: 'mobile-unauthorized-ip', severity: 'high', status: 'new',
      sourceId: 'sid-1', createdAt: '2026-11-30T10:00:00.000Z',
      artifacts: [{ name: 'a', cef: { destinationAddress: '198.51.100.9', sourceUserName: 'jdoe' } }],
    },
    lists: { 'allowed-destinations': ['198.51.100.9'] },
  },
  expect: {
    status: 'completed', actions: [], output: { outcome: 'benign', destination: '198.51.100.9' },
    notes: ['Destination 198.51.100.9 is on the access list "allowed-destinations": benign.'], incidentStatus: 'closed',
  },
};

test('a fixture that matches: no differences; the playbook sees the recorded incident, ids included', async () => {
  const { report, differences } = await checkFixture(playbook, benign);
  assert.deepEqual(differences, []);
  assert.equal((report.journal.length > 0), true);
});

test('a fixture of another playbook is refused, naming both', async () => {
  await assert.rejects(checkFixture(playbook, { ...benign, playbook: 'phishing-triage' }),
    (e: unknown) => e instanceof ScenarioError && /for playbook phishing-triage, not mobile-unauthorized-ip/.test(e.message));
});

test('a malformed fixture is refused, naming the bad part', async () => {
  await assert.rejects(checkFixture(playbook, { ...benign, expect: { status: 'completed', actionz: [] } }), /expect: Unrecognized key: "actionz"/);
  await assert.rejects(checkFixture(playbook, { playbook: 'mobile-unauthorized-ip' }), /scenario: .*expected object|scenario/);
});

test('a path that differs is reported at its first difference, both sides shown', async () => {
  const notAllowed = { ...benign, scenario: { ...benign.scenario, lists: { 'allowed-destinations': [] } } };
  await assert.rejects(checkFixture(playbook, notAllowed), /mdm\.findDevice\(\{"deviceName":|the test gives no answer for mdm\.findDevice/);
  const { differences } = await checkFixture(playbook, { ...benign, expect: { ...benign.expect, notes: ['something else'] } });
  assert.equal(differences.length, 1);
  assert.match(differences[0]!, /^note 1: expected "something else", got "Destination 198\.51\.100\.9 is on the access list/);
  const moreActions = await checkFixture(playbook, { ...benign, expect: { ...benign.expect, actions: [{ name: 'mdm.findDevice' }] } });
  assert.match(moreActions.differences[0]!, /^action 1: expected mdm\.findDevice\(undefined\), the playbook called nothing more/);
});
