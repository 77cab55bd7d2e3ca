/**
 * The founding scenario end to end over HTTP: a Splunk webhook alert → incident → the
 * mobile-unauthorized-ip playbook → Graph (Intune + Entra ID), PAN-OS and Jira simulators.
 * Assertions are made on what the simulators really received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { labOf } from '../support/lab.js';
import type { RunningServer } from '../../src/server/server.js';
import { startTempServer } from '../support/temp-server.js';
import { foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import type { RunRecord } from '../../src/store/records.js';
import { runIn } from '../support/wait.js';

const JDOE_IPHONE = '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
let sidCounter = 0;

function alert(over: Record<string, string> = {}, sid = `scheduler__admin__search__RMD5e2e_at_${Date.now()}_${++sidCounter}`) {
  return foundingSearchAlert(sid, {
    dest_ip: '203.0.113.45', src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE',
    src_mac: '3c:22:fb:12:34:56', dest_port: '443', severity: 'high', ...over,
  }, `http://splunk.example.local:8000/app/search/@go?sid=${sid}`);
}

const post = (srv: RunningServer, body: unknown) => postSplunkAlert(srv, body, { 'user-agent': 'Splunk' });

async function api(srv: RunningServer, path: string): Promise<any> {
  const res = await fetch(`${srv.url}/api/v1${path}`, { headers: { authorization: `Bearer ${srv.credentials.adminToken}` } });
  assert.equal(res.status, 200, `GET ${path} → ${res.status}`);
  return res.json();
}

const settled = (srv: RunningServer, runId: string): Promise<RunRecord> => runIn(srv.store, runId);

test('founding scenario: first offence, duplicate delivery, repeat offender, allowed destination', async () => {
  const srv = await startTempServer('riposte-e2e-', { lab: true });
  try {
    const lab = labOf(srv);
    // This test is about the scenario itself; approvals are covered in human-in-the-loop.test.ts.
    const settings = (await srv.store.getPlaybookSettings('mobile-unauthorized-ip'))!;
    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'test');

    // 1. First offence: profile lookups and a low-priority ticket, no wipe, no block.
    const first = alert();
    const r1 = await post(srv, first);
    assert.equal(r1.status, 201, JSON.stringify(r1.json));
    assert.equal(r1.json.created, true);
    assert.equal(r1.json.runs.length, 1);
    const run1 = await settled(srv, r1.json.runs[0]);
    assert.equal(run1.status, 'completed', run1.attentionReason ?? JSON.stringify(run1.error));
    assert.equal((run1.output as any).outcome, 'first-offence');
    assert.equal(lab.graph.wipeCount(JDOE_IPHONE), 0);
    assert.equal(lab.panos.isIpBlocked('10.20.30.41'), false);
    const inc1 = await api(srv, `/incidents/${r1.json.incidentId}`);
    assert.equal(inc1.incident.status, 'resolved');
    assert.equal(inc1.runs.length, 1);
    assert.equal(lab.jira.issues().length, 1);

    // 2. Splunk delivers the same alert again: no second incident, no second run.
    const dup = await post(srv, first);
    assert.equal(dup.status, 200);
    assert.equal(dup.json.created, false);
    assert.equal(dup.json.incidentId, r1.json.incidentId);
    assert.equal(dup.json.repeatCount, 1);

    // 3. A new alert for the same user: repeat offender → wipe + block in parallel, high-priority ticket.
    const r2 = await post(srv, alert());
    assert.equal(r2.status, 201);
    const run2 = await settled(srv, r2.json.runs[0]);
    assert.equal(run2.status, 'completed', run2.attentionReason ?? JSON.stringify(run2.error));
    assert.deepEqual({ outcome: (run2.output as any).outcome, wiped: (run2.output as any).wiped, blocked: (run2.output as any).blocked }, { outcome: 'contained', wiped: true, blocked: true });
    assert.equal(lab.graph.wipeCount(JDOE_IPHONE), 1);
    assert.equal(lab.panos.isIpBlocked('10.20.30.41'), true);
    const issues = lab.jira.issues();
    assert.equal(issues.length, 2);
    const inc2 = await srv.store.getIncident(r2.json.incidentId);
    assert.equal(inc2!.status, 'contained');
    const notes = await srv.store.listNotes(r2.json.incidentId);
    assert.ok(notes.some((n) => /Repeat offender \(1 earlier incident/.test(n.text)), notes.map((n) => n.text).join(' | '));
    assert.ok(notes.some((n) => /Ticket SEC-\d+ opened/.test(n.text)));

    // The run shows every step with its asset; the MDM and directory lookups, and the wipe and
    // block, overlapped in time (they ran in parallel).
    const journal = await srv.store.loadJournal(run2.id);
    const names = journal.map((e) => e.name);
    assert.deepEqual(names, ['lists.contains', 'setStatus', 'mdm.findDevice', 'directory.getUser', 'related', 'mdm.wipeDevice', 'firewall.blockIp', 'note', 'ticketing.createTicket', 'note', 'setStatus']);
    const byName = (n: string) => journal.find((e) => e.name === n)!;
    assert.equal(byName('mdm.wipeDevice').asset, 'intune-lab');
    assert.equal(byName('firewall.blockIp').asset, 'panos-lab');
    const overlaps = (a: string, b: string) => Date.parse(byName(a).startedAt) <= Date.parse(byName(b).finishedAt!) && Date.parse(byName(b).startedAt) <= Date.parse(byName(a).finishedAt!);
    assert.ok(overlaps('mdm.findDevice', 'directory.getUser'));
    assert.ok(overlaps('mdm.wipeDevice', 'firewall.blockIp'));
    const runView = await api(srv, `/runs/${run2.id}`);
    assert.ok(JSON.stringify(runView).includes('mdm.wipeDevice'));

    // 4. An allowed destination: benign, closed, no vendor touched.
    const graphCalls = lab.graph.calls.length;
    const r3 = await post(srv, alert({ dest_ip: '198.51.100.7', user: 'asmith@contoso.example', device_name: 'ASMITH-PIXEL' }));
    const run3 = await settled(srv, r3.json.runs[0]);
    assert.equal((run3.output as any).outcome, 'benign');
    assert.equal((await srv.store.getIncident(r3.json.incidentId))!.status, 'closed');
    assert.equal(lab.graph.calls.length, graphCalls);

    // Secrets never reach the vendors' records in clear text headers, and the audit chain holds.
    assert.equal((await srv.store.verifyAudit()).ok, true);
  } finally {
    await srv.stop();
  }
});
