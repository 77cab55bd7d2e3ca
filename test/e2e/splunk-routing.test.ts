/**
 * Which Splunk alerts reach a playbook, through the real server and the shipped playbooks: as
 * installed (the product's default mapping), none — every search lands as `splunk-unmapped` and
 * starts no run, the wipe playbook included; with the demo (`--lab`), only the founding searches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { serveConfig } from '../../src/config.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { loadBuiltinPlaybooks } from '../../src/server/builtin-playbooks.js';
import { UNMAPPED_LABEL } from '../../src/ingest/mapping.js';
import { FOUNDING_SPLUNK_MAPPING } from '../../lab/founding-mapping.js';
import { tempDir } from '../support/temp-store.js';
import { postSplunkAlert } from '../support/server-http.js';

let n = 0;
function alert(searchName: string | null) {
  const sid = `scheduler__admin__search__routing_${Date.now()}_${++n}`;
  return {
    sid, search_name: searchName, app: 'search', owner: 'admin', results_link: '',
    result: {
      dest_ip: '203.0.113.45', src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE',
    },
  };
}

interface Posted { status: number; json: { incidentId: number; runs: string[] } }

const post = (srv: RunningServer, body: unknown): Promise<Posted> => postSplunkAlert(srv, body);

async function withServer(lab: boolean, dir: string, fn: (srv: RunningServer) => Promise<void>): Promise<void> {
  const srv = await startServer(serveConfig({ dataDir: dir, port: 0, lab, labPort: 0, logLevel: 'warn' }, {}));
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

const mappingChanges = async (srv: RunningServer) =>
  (await srv.store.listAudit({ limit: 1000 })).filter((e) => e.action === 'source.mapping');

test('no shipped playbook triggers on splunk-unmapped', async () => {
  const sandbox = new Sandbox();
  const registry = new PlaybookRegistry(await loadBuiltinPlaybooks(sandbox));
  sandbox.close();
  assert.ok(registry.matching('mobile-unauthorized-ip').length > 0, 'the check can see a match');
  assert.deepEqual(registry.matching(UNMAPPED_LABEL), []);
});

test('as installed: "Brute force on VPN" becomes a splunk-unmapped incident naming the search, no run', async () => {
  using tmp = tempDir('riposte-routing-');
  await withServer(false, tmp.dir, async (srv) => {
    const vpn = await post(srv, alert('Brute force on VPN'));
    assert.equal(vpn.status, 201, JSON.stringify(vpn.json));
    assert.deepEqual(vpn.json.runs, []);
    const inc = (await srv.store.getIncident(vpn.json.incidentId))!;
    assert.equal(inc.label, 'splunk-unmapped');
    assert.deepEqual(inc.tags, ['unmapped-search']);
    assert.match(inc.description ?? '', /No label is mapped for Splunk search "Brute force on VPN"/);
    // Without the demo's mapping not even the founding search starts the wipe playbook.
    const founding = await post(srv, alert('Mobile device reached unauthorized IP'));
    assert.equal(founding.status, 201);
    assert.deepEqual(founding.json.runs, []);
    assert.deepEqual(await srv.store.listRuns({}), []);
  });
});

test('with --lab: the founding search starts its playbook, another does not; a restart writes nothing', async () => {
  using tmp = tempDir('riposte-routing-lab-');
  let auditAfterFirst = 0;
  await withServer(true, tmp.dir, async (srv) => {
    const splunk = (await srv.store.listSources()).find((s) => s.name === 'splunk')!;
    assert.deepEqual(splunk.mapping, FOUNDING_SPLUNK_MAPPING);
    const set = await mappingChanges(srv);
    assert.deepEqual(set.map((e) => [e.actor, e.target]), [['system:lab', 'source:splunk']]);

    const founding = await post(srv, alert('Mobile device reached unauthorized IP'));
    assert.equal(founding.status, 201, JSON.stringify(founding.json));
    assert.equal(founding.json.runs.length, 1);
    assert.equal((await srv.store.getRun(founding.json.runs[0]!))?.playbookId, 'mobile-unauthorized-ip');

    const vpn = await post(srv, alert('Brute force on VPN'));
    assert.equal(vpn.status, 201);
    assert.deepEqual(vpn.json.runs, []);
    assert.equal((await srv.store.getIncident(vpn.json.incidentId))?.label, UNMAPPED_LABEL);
    auditAfterFirst = (await mappingChanges(srv)).length;
  });
  await withServer(true, tmp.dir, async (srv) => {
    const set = await mappingChanges(srv);
    assert.equal(set.length, auditAfterFirst, 'the mapping was already the demo\'s: not written again');
  });
});
