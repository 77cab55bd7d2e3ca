/**
 * Human in the loop over HTTP with the real server, lab simulators and a real SMTP server:
 * the founding playbook in supervised mode parks before the wipe and completes after approval;
 * ad-hoc actions through the API pass the same gate (four-eyes); e-mail approval links are
 * signed, single-use and refuse forgery; the CLI approves as its token's user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labOf } from '../support/lab.js';
import { startTempServer } from '../support/temp-server.js';
import { callApi as http, foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import type { RunRecord } from '../../src/store/records.js';
import type { ApprovalRecord } from '../../src/store/policy-records.js';
import { startMaildirSmtp } from '../support/maildir-smtp.js';
import { until } from '../support/wait.js';

const run = promisify(execFile);
const JDOE_IPHONE = '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
const ASMITH_PIXEL = '5e8a1c3b-7d2f-4a6e-b9c0-4d1e2f3a5b6c';
const BWONG_GALAXY = 'b6c7d8e9-0f1a-4b2c-8d3e-5f6a7b8c9d0e';
let n = 0;

function alert(user = 'jdoe@contoso.example', device = 'JDOE-IPHONE') {
  const sid = `scheduler__admin__search__RMD5hitl_at_${Date.now()}_${++n}`;
  const result = { dest_ip: '203.0.113.45', src_ip: '10.20.30.41', user, device_name: device, severity: 'high' };
  return foundingSearchAlert(sid, result, `http://splunk.example.local:8000/app/search/@go?sid=${sid}`);
}

test('human in the loop end to end', async (t) => {
  const smtp = await startMaildirSmtp();
  const srv = await startTempServer('riposte-hitl-', {
    lab: true, mail: { smtpUrl: `smtp://127.0.0.1:${smtp.port}`, from: 'riposte@contoso.example', publicUrl: '' },
  });
  try {
    const lab = labOf(srv);
    const admin = srv.credentials.adminToken;
    const policy = srv.store.policyStore();
    await policy.putUser({ name: 'admin', email: 'admin@contoso.example', roles: ['admin'], disabled: false }, 'test');
    await policy.putUser({ name: 'bob', email: 'bob@contoso.example', roles: ['soc-lead'], disabled: false }, 'test');
    const bob = 'rpa_test_bob_token_0123456789';
    await srv.store.createApiToken({ name: 'bob', role: 'analyst', token: bob }, 'test');
    const viewer = 'rpa_test_viewer_token_0123456789';
    await srv.store.createApiToken({ name: 'vera', role: 'viewer', token: viewer }, 'test');

    await t.test('supervised founding playbook parks before the wipe and completes after approval', async () => {
      const post = (body: unknown) => postSplunkAlert(srv, body).then((r) => r.json);
      const first = await post(alert());
      await until('first run', async () => (await srv.store.getRun(first.runs[0]))?.status === 'completed');
      const second = await post(alert());
      const runId = second.runs[0] as string;
      const parked = await until('parked run', async () => { const r = await srv.store.getRun(runId); return r?.status === 'waiting' ? r : undefined; });
      assert.match(parked.waitingOn ?? '', /^approval:/);
      const pending = await until('two approval requests', async () => {
        const { json } = await http(srv, 'GET', '/approvals?status=pending', admin);
        const mine = (json.approvals as ApprovalRecord[]).filter((a) => a.runId === runId);
        return mine.length === 2 ? mine : undefined;
      });
      assert.deepEqual(pending.map((a) => a.action).sort(), ['blockIp', 'wipeDevice']);
      assert.equal(lab.graph.wipeCount(JDOE_IPHONE), 0, 'nothing wiped before approval');
      assert.equal(lab.panos.isIpBlocked('10.20.30.41'), false);
      // A viewer may look but not decide.
      assert.equal((await http(srv, 'POST', `/approvals/${pending[0]!.id}/approve`, viewer, {})).status, 403);
      for (const a of pending) {
        const r = await http(srv, 'POST', `/approvals/${a.id}/approve`, bob, { comment: 'repeat offender confirmed' });
        assert.equal(r.status, 200, JSON.stringify(r.json));
      }
      const done = await until('completed run', async () => { const r = await srv.store.getRun(runId); return r?.status === 'completed' ? r : undefined; });
      assert.equal((done.output as any).outcome, 'contained');
      assert.equal(lab.graph.wipeCount(JDOE_IPHONE), 1);
      assert.equal(lab.panos.isIpBlocked('10.20.30.41'), true);
      const journal = await srv.store.loadJournal(runId);
      assert.match(journal.find((e) => e.name === 'mdm.wipeDevice')!.detail ?? '', /approved by bob \(api\)/);
    });

    await t.test('ad-hoc action through the API: same gate, and the requester cannot approve it', async () => {
      const incidentId = (await srv.store.listIncidents({ limit: 1 }))[0]!.id;
      const r = await http(srv, 'POST', '/actions', admin, { incidentId, asset: 'intune-lab', action: 'wipeDevice', params: { deviceId: ASMITH_PIXEL } });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      const runId = r.json.run.id as string;
      const approval = await until('ad-hoc approval', async () => (await policy.listApprovals({ runId }))[0]);
      assert.equal(approval.requestedBy, 'user:admin');
      const self = await http(srv, 'POST', `/approvals/${approval.id}/approve`, admin, {});
      assert.equal(self.status, 403);
      assert.equal(self.json.error.code, 'four_eyes');
      assert.equal(lab.graph.wipeCount(ASMITH_PIXEL), 0);
      // The CLI approves as its token's user.
      const cli = await run(process.execPath, ['bin/riposte.js', 'approvals', 'approve', '--run', runId, '--url', srv.url, '--token', bob], { env: { ...process.env, RIPOSTE_DATA_DIR: srv.dataDir } });
      assert.match(cli.stdout, /wipeDevice on intune-lab is now approved/);
      await until('ad-hoc run completes', async () => (await srv.store.getRun(runId))?.status === 'completed');
      assert.equal(lab.graph.wipeCount(ASMITH_PIXEL), 1);
      const a = (await policy.getApproval(approval.id))!;
      assert.equal(a.decisions[0]!.via, 'cli');
    });

    await t.test('e-mail links: sent over real SMTP, signed, single-use; forged and reused links fail with a clear page', async () => {
      const incidentId = (await srv.store.listIncidents({ limit: 1 }))[0]!.id;
      const r = await http(srv, 'POST', '/actions', admin, { incidentId, asset: 'intune-lab', action: 'wipeDevice', params: { deviceId: BWONG_GALAXY } });
      const runId = r.json.run.id as string;
      const approval = await until('approval', async () => (await policy.listApprovals({ runId }))[0]);
      const mail = await until('approval e-mail to bob', async () => smtp.messages().find((m) => m.includes('To: bob@contoso.example') && m.includes(approval.id)));
      assert.ok(!smtp.messages().some((m) => m.includes('To: admin@contoso.example') && m.includes(approval.id)), 'the requester is not asked (four-eyes)');
      const links = [...mail.replace(/=\r?\n/g, '').matchAll(/\/approvals\/email\/([A-Za-z0-9_\-.]+)/g)].map((m) => m[1]!);
      assert.equal(links.length, 2);
      const [approveToken] = links;
      const page = await fetch(`${srv.url}/approvals/email/${approveToken}`);
      assert.equal(page.status, 200);
      // The page is a credential's view and decides: never cached, framed or leaked in a Referer.
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      assert.match(await page.text(), /<form method="post">/);
      assert.equal(lab.graph.wipeCount(BWONG_GALAXY), 0, 'opening the link decides nothing');
      // Forged: change the decision inside the payload, keep the signature.
      const [body, mac] = approveToken!.split('.');
      const payload = JSON.parse(Buffer.from(body!, 'base64url').toString());
      const forged = `${Buffer.from(JSON.stringify({ ...payload, u: 'admin' })).toString('base64url')}.${mac}`;
      const f = await fetch(`${srv.url}/approvals/email/${forged}`, { method: 'POST' });
      assert.equal(f.status, 400);
      assert.match(await f.text(), /not valid/);
      const ok = await fetch(`${srv.url}/approvals/email/${approveToken}`, { method: 'POST' });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('cache-control'), 'no-store');
      assert.match(await ok.text(), /now <b>approved<\/b>/);
      const again = await fetch(`${srv.url}/approvals/email/${approveToken}`, { method: 'POST' });
      assert.equal(again.status, 410);
      assert.match(await again.text(), /already been used/);
      await until('e-mail-approved run completes', async () => (await srv.store.getRun(runId))?.status === 'completed');
      assert.equal(lab.graph.wipeCount(BWONG_GALAXY), 1);
      assert.equal((await policy.getApproval(approval.id))!.decisions[0]!.via, 'email');
    });

    await t.test('automation level is changed at run time by an admin, audited', async () => {
      assert.equal((await http(srv, 'PUT', '/playbooks/mobile-unauthorized-ip/automation', bob, { level: 'autonomous' })).status, 403);
      const r = await http(srv, 'PUT', '/playbooks/mobile-unauthorized-ip/automation', admin, { level: 'manual' });
      assert.equal(r.status, 200);
      assert.equal(r.json.settings.automation, 'manual');
      const audit = await srv.store.listAudit({ limit: 1000 });
      assert.ok(audit.some((e) => e.action === 'playbook.settings' && e.actor === 'user:admin'));
      assert.equal((await srv.store.verifyAudit()).ok, true);
    });
  } finally {
    await srv.stop();
    await smtp.stop();
  }
});
