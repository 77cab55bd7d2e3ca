/**
 * Issue 13 finding: with a bad source address, the founding playbook's repeat-offender path wiped
 * the phone, then the block failed and failed the run — no ticket, no note, incident left open.
 * Now the bad address arrives as untrusted text (the Splunk source's default), never reaches the
 * firewall as an IP, and the run records the wipe, notes what was and was not done, opens the
 * ticket and leaves the incident `partially_contained`. The same when the firewall itself fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labOf } from '../support/lab.js';
import { startTempServer } from '../support/temp-server.js';
import { foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import type { RunningServer } from '../../src/server/server.js';
import { runIn } from '../support/wait.js';

const JDOE_IPHONE = '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
let n = 0;
const alert = (over: Record<string, string> = {}) => foundingSearchAlert(`partial_${Date.now()}_${++n}`, {
  dest_ip: '203.0.113.45', src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE',
  src_mac: '3c:22:fb:12:34:56', dest_port: '443', severity: 'high', ...over,
});

async function repeatRun(srv: RunningServer, over: Record<string, string>) {
  const r = await postSplunkAlert(srv, alert(over));
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const run = await runIn(srv.store, r.json.runs[0]);
  const incidentId = r.json.incidentId as number;
  return { run, incidentId, notes: (await srv.store.listNotes(incidentId)).map((x) => x.text) };
}

test('founding playbook: a bad source address → wipe recorded, note, ticket, partially contained', async () => {
  const srv = await startTempServer('riposte-e2e-partial-', { lab: true });
  try {
    const lab = labOf(srv);
    const settings = (await srv.store.getPlaybookSettings('mobile-unauthorized-ip'))!;
    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'test');
    const first = await repeatRun(srv, {});
    assert.equal((first.run.output as any).outcome, 'first-offence');
    const tickets = lab.jira.issues().length;
    const panosCalls = lab.panos.calls.length;

    const { run, incidentId, notes } = await repeatRun(srv, { src_ip: 'not-an-ip' });
    assert.equal(run.status, 'completed', run.attentionReason ?? JSON.stringify(run.error));
    assert.equal((run.output as any).outcome, 'partially-contained');
    assert.deepEqual((run.output as any).notDone, ['block']);
    // The wipe went out and is in the run's record; nothing reached the firewall.
    assert.equal(lab.graph.wipeCount(JDOE_IPHONE), 1);
    const journal = (await srv.store.loadJournal(run.id)).map((e) => e.name);
    assert.ok(journal.includes('mdm.wipeDevice'));
    assert.ok(!journal.includes('firewall.blockIp'), journal.join(', '));
    assert.equal(lab.panos.calls.slice(panosCalls).filter((c) => c.body.includes('not-an-ip')).length, 0);
    assert.ok(notes.some((t) => /Wipe of JDOE-IPHONE/.test(t) && /Block NOT done: .*"not-an-ip" is not a valid address/.test(t)
      && /PARTIALLY CONTAINED: wipe done, block NOT done/.test(t)), notes.join(' | '));
    assert.equal(lab.jira.issues().length, tickets + 1);
    assert.ok(notes.some((t) => /Ticket SEC-\d+ opened/.test(t)));
    const inc = await srv.store.getIncident(incidentId);
    assert.equal(inc!.status, 'partially_contained');
    // The artifact keeps the raw value, marked untrusted; the run's view did not have it as an IP.
    assert.equal(inc!.artifacts[0]!.cef['sourceAddress'], 'not-an-ip');
    assert.match(inc!.artifacts[0]!.untrusted['sourceAddress']!, /not an IP address/);
    const view = run.input as any;
    assert.equal(view.artifacts[0].cef.sourceAddress, undefined);
    assert.equal(view.artifacts[0].untrusted.sourceAddress.value, 'not-an-ip');
  } finally {
    await srv.stop();
  }
});

test('founding playbook: the firewall fails after the wipe → still noted, ticketed, partially contained', async () => {
  const srv = await startTempServer('riposte-e2e-partial-fw-', { lab: true });
  try {
    const lab = labOf(srv);
    const settings = (await srv.store.getPlaybookSettings('mobile-unauthorized-ip'))!;
    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'test');
    await repeatRun(srv, {});
    const tickets = lab.jira.issues().length;
    lab.panos.injectFault({ status: 400, body: '<response status="error"><msg>refused</msg></response>', times: 50 });

    const { run, incidentId, notes } = await repeatRun(srv, {});
    assert.equal(run.status, 'completed', run.attentionReason ?? JSON.stringify(run.error));
    assert.equal((run.output as any).outcome, 'partially-contained');
    assert.equal(lab.graph.wipeCount(JDOE_IPHONE), 1);
    assert.equal(lab.panos.isIpBlocked('10.20.30.41'), false);
    assert.ok(notes.some((t) => /Block NOT done: failed/.test(t) && /PARTIALLY CONTAINED/.test(t)), notes.join(' | '));
    assert.equal(lab.jira.issues().length, tickets + 1);
    assert.equal((await srv.store.getIncident(incidentId))!.status, 'partially_contained');
  } finally {
    await srv.stop();
  }
});
