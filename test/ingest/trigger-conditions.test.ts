/**
 * Trigger conditions at ingestion, through the real IngestService, engine and SQLite store: a
 * condition that holds starts the run, one that does not starts none and is named in the
 * incident's audit entry; custom lists (IP/CIDR items) are read in the ingest transaction; the
 * operator's condition replaces the playbook's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, type PlaybookDefinition } from '../../src/sdk/playbook.js';
import type { NewIncident } from '../../src/store/records.js';
import { makeHarness, type Harness } from '../support/harness.js';

function playbook(id: string, when?: string): PlaybookDefinition {
  const triggers = { labels: ['test'], ...(when !== undefined ? { when } : {}) };
  return definePlaybook({ id, version: 1, triggers, roles: {} }, async () => ({ ok: true }));
}

const alert = (over: Partial<NewIncident> & { cef?: Record<string, string> } = {}): NewIncident => {
  const { cef, ...rest } = over;
  return {
    name: 'alert', label: 'test', severity: 'medium', source: 'test',
    artifacts: [{ name: 'connection', cef: cef ?? { destinationAddress: '203.0.113.45', deviceExternalId: 'dev-1' } }],
    ...rest,
  };
};

describe('trigger conditions at ingestion', () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({
      apps: [],
      playbooks: [
        playbook('high-only', 'severity >= "high"'),
        playbook('unauthorized',
          'artifact.destinationAddress in list("unauthorized-ips") && has(artifact.deviceExternalId)'),
        playbook('unknown-list', 'artifact.destinationAddress in list("nope")'),
        playbook('broken', 'severity >= '),
        playbook('always'),
      ],
    });
    await h.store.createList('unauthorized-ips', null, 'test');
    await h.store.addListItems('unauthorized-ips', ['203.0.113.0/24'], 'test');
  });
  after(async () => { await h.close(); });

  const ingest = (over: Parameters<typeof alert>[0] = {}) =>
    h.ingest.ingest(alert(over), 'source:test');
  const started = (r: Awaited<ReturnType<typeof ingest>>) => r.runs.map((x) => x.playbookId).sort();

  it('starts the runs whose condition holds, and names the others with why', async () => {
    const r = await ingest({ severity: 'medium' });
    assert.deepEqual(started(r), ['always', 'unauthorized']);
    assert.deepEqual(r.notTriggered, [
      { playbookId: 'high-only', condition: 'severity >= "high"', from: 'playbook', reason: 'false' },
      { playbookId: 'unknown-list', condition: 'artifact.destinationAddress in list("nope")', from: 'playbook',
        reason: 'could not be decided: custom list "nope" does not exist' },
      { playbookId: 'broken', condition: 'severity >= ', from: 'playbook',
        reason: 'could not be decided: trigger condition: does not parse: '
          + 'Expected expression after >= at column 13: severity >= ▸' },
    ]);
    const entry = (await h.store.listAudit({ limit: 1000 })).find((e) => e.target === `incident:${r.incident.id}`)!;
    assert.equal(entry.action, 'incident.create');
    assert.deepEqual((entry.detail as { notTriggered: unknown }).notTriggered, r.notTriggered);
    for (const run of r.runs) assert.equal((await h.settle(run.id)).status, 'completed');

    const high = await ingest({ severity: 'critical' });
    assert.deepEqual(started(high), ['always', 'high-only', 'unauthorized']);
  });

  it('looks custom lists up as they are when the alert is written (CIDR items included)', async () => {
    const outside = await ingest({ cef: { destinationAddress: '192.0.2.10', deviceExternalId: 'dev-1' } });
    assert.ok(!started(outside).includes('unauthorized'));
    assert.equal(outside.notTriggered.find((n) => n.playbookId === 'unauthorized')?.reason, 'false');

    await h.store.addListItems('unauthorized-ips', ['192.0.2.0/28'], 'test');
    const nowListed = await ingest({ cef: { destinationAddress: '192.0.2.10', deviceExternalId: 'dev-1' } });
    assert.ok(started(nowListed).includes('unauthorized'));

    const noDevice = await ingest({ cef: { destinationAddress: '203.0.113.45' } });
    assert.ok(!started(noDevice).includes('unauthorized'), 'has(artifact.deviceExternalId) does not hold');
  });

  it("runs the operator's condition instead of the playbook's, until it is cleared", async () => {
    await h.store.setPlaybookTrigger('high-only', 'artifact.deviceExternalId == "dev-2"', 'user:admin');
    await h.store.setPlaybookTrigger('unknown-list', 'true', 'user:admin');
    const device = (id: string) => ({ destinationAddress: '203.0.113.45', deviceExternalId: id });
    const r = await ingest({ severity: 'critical', cef: device('dev-2') });
    assert.deepEqual(started(r), ['always', 'high-only', 'unauthorized', 'unknown-list']);
    const low = await ingest({ severity: 'low', cef: device('dev-3') });
    assert.deepEqual(low.notTriggered.find((n) => n.playbookId === 'high-only'),
      { playbookId: 'high-only', condition: 'artifact.deviceExternalId == "dev-2"', from: 'operator',
        reason: 'false' });

    await h.store.setPlaybookTrigger('high-only', null, 'user:admin');
    const cleared = await ingest({ severity: 'low', cef: device('dev-2') });
    assert.equal(cleared.notTriggered.find((n) => n.playbookId === 'high-only')?.from, 'playbook');
    await h.store.setPlaybookTrigger('unknown-list', null, 'user:admin');
  });

  it('a duplicate alert starts nothing and evaluates nothing; a disabled playbook is not named', async () => {
    const first = await ingest({ sourceId: 'sid-dup', severity: 'low' });
    assert.ok(first.notTriggered.length > 0);
    const again = await ingest({ sourceId: 'sid-dup', severity: 'low' });
    assert.deepEqual([again.created, again.runs, again.notTriggered], [false, [], []]);

    await h.store.putPlaybookSettings(
      { playbookId: 'high-only', enabled: false, automation: null, bindings: {} }, 'test');
    const r = await ingest({ severity: 'low' });
    assert.ok(!r.notTriggered.some((n) => n.playbookId === 'high-only'));
  });

  it('an alert no condition keeps out writes no notTriggered into its audit entry', async () => {
    await h.store.setPlaybookTrigger('unknown-list', 'true', 'user:admin');
    await h.store.setPlaybookTrigger('broken', 'true', 'user:admin');
    const r = await ingest({ severity: 'critical' });
    assert.deepEqual(r.notTriggered, []);
    const entry = (await h.store.listAudit({ limit: 1000 })).find((e) => e.target === `incident:${r.incident.id}`)!;
    assert.ok(!('notTriggered' in (entry.detail as object)));
  });
});
