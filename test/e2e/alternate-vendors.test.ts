/**
 * The founding playbook pointed at other vendors by configuration alone — Jamf Pro (lab
 * simulator), a REAL OpenLDAP, REAL nftables in a network namespace and a REAL Request Tracker —
 * with no change to the playbook: only assets and role bindings differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTempServer } from '../support/temp-server.js';
import { foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import { JamfSimulator } from '../../lab/jamf-sim.js';
import { FOUNDING_SPLUNK_MAPPING } from '../../lab/founding-mapping.js';
import { requirePrograms, requireRoot } from '../support/real-server.js';

const SERVICES = process.env.RIPOSTE_SERVICES_DIR ?? '/tmp/riposte-services';
const NS = `rp-cfg-${process.pid % 100000}`;
const PLAYBOOK = 'mobile-unauthorized-ip';

test('founding playbook on Jamf + LDAP + nftables + Request Tracker, by configuration alone', async () => {
  requireRoot('the alternate-vendors test');
  requirePrograms('the alternate-vendors test', [{ program: 'nft', packages: 'nftables' }, { program: 'ip', packages: 'iproute2' }]);
  const rtToken = (() => {
    try { return readFileSync(join(SERVICES, 'rt', 'token'), 'utf8').trim(); } catch { throw new Error('Request Tracker is not running: bash scripts/services/rt.sh install && bash scripts/services/rt.sh start'); }
  })();
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  execFileSync('ip', ['netns', 'add', NS]);
  const jamfSeed = JamfSimulator.demoSeed();
  const jamf = new JamfSimulator(jamfSeed);
  await jamf.start();
  const srv = await startTempServer('riposte-alt-');
  try {
    const s = srv.store;
    await s.putAsset({ egressAllow: ['loopback'], name: 'jamf', appId: 'jamf-pro', config: { url: jamf.url, clientId: jamfSeed.clientId }, secrets: { clientSecret: jamfSeed.clientSecret } }, 'test');
    await s.putAsset({ egressAllow: ['loopback'], name: 'corp-ldap', appId: 'ldap-directory', config: { url: 'ldap://127.0.0.1:38901', bindDN: 'cn=riposte,ou=service-accounts,dc=contoso,dc=example', baseDN: 'dc=contoso,dc=example' }, secrets: { bindPassword: 'riposte-secret' } }, 'test');
    await s.putAsset({ egressAllow: ['loopback'], name: 'edge-nft', appId: 'linux-nftables', config: { netns: NS, hook: 'input' }, secrets: {} }, 'test');
    await s.putAsset({ egressAllow: ['loopback'], name: 'rt', appId: 'request-tracker', config: { url: 'http://127.0.0.1:38902', queue: 'Incidents' }, secrets: { token: rtToken } }, 'test');
    await s.putPlaybookSettings({ playbookId: PLAYBOOK, enabled: true, automation: 'autonomous', bindings: { mdm: 'jamf', directory: 'corp-ldap', firewall: 'edge-nft', ticketing: 'rt' } }, 'test');
    await s.createList('allowed-destinations', null, 'test');
    await s.addListItems('allowed-destinations', ['198.51.100.0/24'], 'test');
    // The founding search must be mapped to the playbook's label: by default no search is.
    await s.setSourceMapping('splunk', FOUNDING_SPLUNK_MAPPING, 'test');

    const src = '10.66.0.7';
    const fire = async (n: number) => {
      const sid = `scheduler__admin__search__RMD5alt_at_${Date.now()}_${n}`;
      const result = { dest_ip: '203.0.113.9', src_ip: src, user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE' };
      const res = await postSplunkAlert(srv, foundingSearchAlert(sid, result, 'http://splunk/x'));
      const json = res.json as { runs: string[] };
      const end = Date.now() + 20_000;
      for (;;) {
        const r = (await s.getRun(json.runs[0]!))!;
        if (!['queued', 'running', 'waiting'].includes(r.status)) return r;
        if (Date.now() > end) throw new Error(`run ${r.id} still ${r.status}`);
        await new Promise((res2) => setTimeout(res2, 20));
      }
    };
    const first = await fire(1);
    assert.equal(first.status, 'completed', first.attentionReason ?? JSON.stringify(first.error));
    assert.equal((first.output as any).outcome, 'first-offence');
    const second = await fire(2);
    assert.equal(second.status, 'completed', second.attentionReason ?? JSON.stringify(second.error));
    assert.deepEqual({ outcome: (second.output as any).outcome, wiped: (second.output as any).wiped, blocked: (second.output as any).blocked }, { outcome: 'contained', wiped: true, blocked: true });

    // What each real or simulated vendor received.
    const journal = await s.loadJournal(second.id);
    const assetOf = (name: string) => journal.find((e) => e.name === name)?.asset;
    assert.deepEqual(['mdm.findDevice', 'directory.getUser', 'mdm.wipeDevice', 'firewall.blockIp', 'ticketing.createTicket'].map(assetOf), ['jamf', 'corp-ldap', 'jamf', 'edge-nft', 'rt']);
    const user = journal.find((e) => e.name === 'directory.getUser')!.output as any;
    assert.equal(user.user.displayName, 'John Doe'); // from the real slapd
    const wipes = jamf.calls.filter((c) => c.method === 'POST' && c.path === '/api/v2/mdm/commands' && c.body.includes('ERASE_DEVICE'));
    assert.equal(wipes.length, 1);
    const set = JSON.parse(execFileSync('ip', ['netns', 'exec', NS, 'nft', '-j', 'list', 'set', 'inet', 'riposte', 'blocked4'], { encoding: 'utf8' }));
    assert.ok(JSON.stringify(set).includes(src), `nftables set has ${src}`);
    const ticket = journal.find((e) => e.name === 'ticketing.createTicket')!.output as { id: string };
    const rt = await fetch(`http://127.0.0.1:38902/REST/2.0/ticket/${ticket.id}`, { headers: { authorization: `token ${rtToken}` } });
    assert.equal(rt.status, 200);
    const t = (await rt.json()) as { Subject: string; Queue: { id: string } };
    assert.match(t.Subject, /Recover and examine wiped device JDOE-IPHONE/);
  } finally {
    await srv.stop();
    await jamf.stop();
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  }
});
