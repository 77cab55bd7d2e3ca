/**
 * What a run is credited, and what a dry run leaves alone: a completed founding run earns its 45
 * minutes; a run that could not do its work (no destination: "incomplete") earns none; a dry run
 * earns none and changes no incident state (status, notes) while its journal shows what it would
 * have done.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/server.js';
import { startTempServer } from '../support/temp-server.js';
import { foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import { labOf } from '../support/lab.js';
import type { RunRecord } from '../../src/store/records.js';
import { runIn } from '../support/wait.js';

let n = 0;
async function fire(srv: RunningServer, result: Record<string, string>): Promise<string> {
  const sid = `minutes_${Date.now()}_${++n}`;
  const res = await postSplunkAlert(srv, foundingSearchAlert(sid, result));
  const body = res.json as { runs: string[] };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.runs[0]!;
}

const settled = (srv: RunningServer, runId: string): Promise<RunRecord> => runIn(srv.store, runId);

test('minutes saved are credited only for real work; a dry run changes no incident state', async () => {
  const srv = await startTempServer('riposte-minutes-', { lab: true });
  try {
    const settings = (await srv.store.getPlaybookSettings('mobile-unauthorized-ip'))!;
    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'test');
    const phone = { src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE', severity: 'high' };

    const real = await settled(srv, await fire(srv, { ...phone, dest_ip: '203.0.113.45' }));
    assert.equal(real.status, 'completed');
    assert.equal(real.minutesSaved, 45);

    const incomplete = await settled(
      srv,
      await fire(srv, { src_ip: '10.20.30.41', user: 'jdoe@contoso.example', severity: 'high' }),
    );
    assert.equal(incomplete.status, 'completed');
    assert.equal((incomplete.output as { outcome: string }).outcome, 'incomplete');
    assert.equal(incomplete.minutesSaved, 0, 'a run that did nothing earns nothing');

    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous', dryRun: true }, 'test');
    const dry = await settled(srv, await fire(srv, { ...phone, dest_ip: '203.0.113.45' }));
    assert.equal(dry.status, 'completed', dry.attentionReason ?? '');
    assert.equal(dry.minutesSaved, 0, 'a dry run earns nothing');
    const incident = (await srv.store.getIncident(dry.incidentId))!;
    assert.equal(incident.status, 'new', 'a dry run changes no incident status');
    assert.deepEqual(await srv.store.listNotes(dry.incidentId), [], 'a dry run adds no note');
    const journal = await srv.store.loadJournal(dry.id);
    const status = journal.filter((e) => e.kind === 'status');
    assert.ok(status.length > 0);
    for (const e of status) assert.match(e.detail ?? '', /dry run: recorded, the incident was not changed/);
    const wipe = journal.find((e) => e.name === 'mdm.wipeDevice');
    assert.ok(wipe, 'the repeat offender path would have wiped');
    assert.equal(wipe.attempts, 0);
    assert.equal(labOf(srv).graph.wipeCount('9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f'), 0, 'the dry run wiped nothing');
  } finally {
    await srv.stop();
  }
});
