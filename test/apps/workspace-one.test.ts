import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { workspaceOneApp } from '../../src/apps/workspace-one/index.js';
import { clearWs1TokenCache } from '../../src/apps/workspace-one/client.js';
import { WorkspaceOneSimulator, type Ws1SimDevice } from '../../lab/workspace-one-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const seed = WorkspaceOneSimulator.demoSeed();
const PASSWORD = seed.accounts['soc-api']!;
const kiosk: Ws1SimDevice[] = Array.from({ length: 5 }, (_, i) => ({
  id: 100 + i, friendlyName: `KIOSK-${i}`, serialNumber: `KSK00${i}`, udid: `udid-kiosk-${i}`, userName: 'kiosk', platform: 'Android',
  model: 'TC52', osVersion: '13', lastSeen: new Date(Date.now() - (10 - i) * 60_000).toISOString(),
}));
// Commands complete after 300 ms: long enough to observe "pending" on a loaded machine.
const DONE_MS = 300;
const sim = new WorkspaceOneSimulator({ ...seed, devices: [...seed.devices, ...kiosk], commandCompletesAfterMs: DONE_MS });
const a = workspaceOneApp.actions;
let config: ReturnType<typeof workspaceOneApp.config.parse>;

const ctx = (over: Partial<typeof config> = {}) =>
  actionContext({ ...config, ...over }, 'run-1:step-1', { timeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function find(input: Parameters<typeof a.findDevice.input.parse>[0], over: Partial<typeof config> = {}) {
  const out = await a.findDevice.handler(a.findDevice.input.parse(input), ctx(over));
  capabilities.mdm.findDevice.output.parse(out);
  return a.findDevice.output.parse(out);
}

async function wipe(deviceId: string, mode?: 'device' | 'enterprise') {
  const out = await a.wipeDevice.handler(a.wipeDevice.input.parse({ deviceId, mode }), ctx());
  return capabilities.mdm.wipeDevice.output.parse(out);
}

function reconcile(deviceId: string, intentAt: Date, mode?: 'device' | 'enterprise') {
  return a.wipeDevice.reconcile!(a.wipeDevice.input.parse({ deviceId, mode }), { ...ctx(), intentAt });
}

async function getDevice(deviceId: string) {
  return a.getDevice.output.parse(await a.getDevice.handler({ deviceId }, ctx()));
}

const searches = () => sim.callsTo('GET', '/API/mdm/devices/search');

before(async () => {
  const url = await sim.start(0);
  config = workspaceOneApp.config.parse({ url, tenantCode: seed.tenantCode, username: 'soc-api', password: PASSWORD, pageSize: 2 });
});
after(() => sim.stop());
beforeEach(() => {
  sim.resetRecords();
  clearWs1TokenCache();
});

describe('workspace one app: declaration', () => {
  it('declares kinds, idempotency, secrets and defaults', () => {
    assert.equal(a.findDevice.readOnly && a.findDevice.idempotent && a.getDevice.readOnly, true);
    assert.equal(a.wipeDevice.kind, 'contain');
    assert.equal(a.wipeDevice.idempotent, false);
    assert.equal(typeof a.wipeDevice.reconcile, 'function');
    assert.equal(a.lockDevice.idempotent, true);
    assert.equal(a.lockDevice.readOnly, false);
    assert.deepEqual(workspaceOneApp.implements, ['mdm']);
    assert.deepEqual(workspaceOneApp.secrets, ['tenantCode', 'password', 'clientSecret']);
    assert.equal(workspaceOneApp.config.parse({ url: 'https://as1.awmdm.com', tenantCode: 't' }).pageSize, 500);
  });

  it('input validation names the field', () => {
    assert.deepEqual(a.wipeDevice.input.safeParse({ deviceId: '15', mode: 'factory' }).error?.issues[0]?.path, ['mode']);
    assert.deepEqual(a.wipeDevice.input.safeParse({}).error?.issues[0]?.path, ['deviceId']);
  });
});

describe('workspace one app: findDevice', () => {
  it('finds by serial number with searchby=Serialnumber', async () => {
    const out = await find({ serialNumber: 'F2LXK3ABHG7F' });
    assert.equal(out.device?.id, '15');
    assert.equal(out.device?.name, 'JDOE-IPHONE');
    assert.equal(out.device?.os, 'iOS 17.5.1');
    assert.equal(out.device?.userPrincipalName, 'jdoe@contoso.example');
    assert.equal(out.device?.complianceState, 'Compliant');
    assert.match(out.device?.lastSyncAt ?? '', /Z$/);
    assert.equal(out.enrollmentStatus, 'Enrolled');
    const [call] = sim.callsTo('GET', '/API/mdm/devices');
    assert.deepEqual(call?.query, { searchby: 'Serialnumber', id: 'F2LXK3ABHG7F' });
  });

  it('finds by MAC address and IMEI', async () => {
    assert.equal((await find({ macAddress: '5c:8d:4e:21:a9:f0' })).device?.name, 'ASMITH-PIXEL');
    assert.equal(sim.calls[0]?.query.searchby, 'Macaddress');
    assert.equal((await find({ imei: '356728112345678' })).device?.id, '15');
  });

  it('by user: tries the UPN, then the short name (204 = nothing found), most recent wins', async () => {
    const out = await find({ userPrincipalName: 'jdoe@contoso.example' });
    assert.equal(out.matchCount, 2);
    assert.equal(out.device?.name, 'JDOE-IPHONE');
    assert.deepEqual(searches().map((c) => [c.query.user, c.status]), [['jdoe@contoso.example', 204], ['jdoe', 200]]);
  });

  it('pages through a search (0-based page, pagesize)', async () => {
    const out = await find({ userPrincipalName: 'kiosk' });
    assert.equal(out.matchCount, 5);
    assert.equal(out.device?.name, 'KIOSK-4');
    assert.deepEqual(searches().map((c) => c.query.page), ['0', '1', '2']);
    assert.ok(searches().every((c) => c.query.pagesize === '2'));
  });

  it('by name pages through every device (the search has no name filter)', async () => {
    const out = await find({ deviceName: 'bwong-galaxy' });
    assert.equal(out.device?.id, '18');
    assert.equal(out.device?.complianceState, 'NonCompliant');
    assert.equal(searches().length, 5);
    assert.equal(searches()[0]?.query.user, undefined);
  });

  it('by id, honouring the other criteria', async () => {
    assert.equal((await find({ deviceId: '16' })).device?.serialNumber, '3A281FDH200ABC');
    assert.deepEqual(await find({ deviceId: '16', userPrincipalName: 'jdoe@contoso.example' }), { found: false, matchCount: 0 });
  });

  it('not found: 404 lookups and unknown ids are found:false', async () => {
    assert.deepEqual(await find({ serialNumber: 'NOPE0000' }), { found: false, matchCount: 0 });
    assert.equal(sim.callsTo('GET', '/API/mdm/devices')[0]?.status, 404);
    assert.deepEqual(await find({ deviceId: '999' }), { found: false, matchCount: 0 });
    assert.deepEqual(await find({ deviceName: 'NO-SUCH-DEVICE' }), { found: false, matchCount: 0 });
  });

  it('refuses a lookup without criteria or with a non-numeric id', async () => {
    await rejects(find({}), TerminalError);
    await rejects(find({ deviceId: '../../system' }), TerminalError);
  });

  it('the simulator answers XML without Accept: application/json (the app always asks for JSON)', async () => {
    const auth = `Basic ${Buffer.from(`soc-api:${PASSWORD}`).toString('base64')}`;
    const res = await fetch(`${sim.url}/API/mdm/devices/15`, { headers: { authorization: auth, 'aw-tenant-code': seed.tenantCode } });
    assert.match(res.headers.get('content-type') ?? '', /xml/);
    assert.match(await res.text(), /<SerialNumber>F2LXK3ABHG7F<\/SerialNumber>/);
  });
});

describe('workspace one app: wipe, lock and their asynchronous state', () => {
  it('sends one DeviceWipe (202); the device goes DeviceWipePending → Unenrolled', async () => {
    assert.deepEqual(await wipe('100'), { accepted: true, state: 'pending' });
    const [post] = sim.callsTo('POST', '/API/mdm/devices/100/commands');
    assert.equal(post?.status, 202);
    assert.equal(post?.query.command, 'DeviceWipe');
    assert.equal(post?.body, '');
    assert.equal(sim.wipeCount(100), 1);
    const pending = await getDevice('100');
    assert.equal(pending.enrollmentStatus, 'DeviceWipePending');
    assert.equal(pending.commands[0]?.CommandName, 'DeviceWipe');
    assert.equal(pending.commands[0]?.Status, 'Pending');
    await sleep(DONE_MS + 30);
    const done = await getDevice('100');
    assert.equal(done.enrollmentStatus, 'Unenrolled');
    assert.equal(done.commands[0]?.Status, 'Completed');
    const again = await rejects(wipe('100'), TerminalError);
    assert.equal(again.status, 404);
    assert.match(again.message, /could not be found or not enrolled/);
    assert.equal(sim.wipeCount(100), 1);
  });

  it('enterprise mode sends EnterpriseWipe', async () => {
    await wipe('101', 'enterprise');
    assert.equal(sim.enterpriseWipeCount(101), 1);
    assert.equal(sim.wipeCount(101), 0);
    assert.equal((await getDevice('101')).enrollmentStatus, 'EnterpriseWipePending');
  });

  it('reconcile: applied / not applied / unknown, never re-sending', async () => {
    const intentAt = new Date();
    await wipe('102');
    const yes = await reconcile('102', intentAt);
    assert.ok(yes.applied === true, JSON.stringify(yes));
    assert.equal(yes.output.commandId, sim.commandsFor(102)[0]?.uuid);
    assert.ok(['pending', 'completed'].includes(yes.output.state ?? ''));
    assert.deepEqual(await reconcile('102', new Date(Date.now() + 60_000)), { applied: false });
    assert.deepEqual(await reconcile('102', intentAt, 'enterprise'), { applied: false }, 'a DeviceWipe is not an EnterpriseWipe');
    assert.deepEqual(await reconcile('16', intentAt), { applied: false });
    assert.equal((await reconcile('999', intentAt)).applied, 'unknown');
    sim.injectFault({ method: 'GET', pathPrefix: '/API/mdm/devices/102/commands', status: 500, body: '{"errorCode":500,"message":"boom"}' });
    const unknown = await reconcile('102', intentAt);
    assert.ok(unknown.applied === 'unknown' && /boom/.test(unknown.reason));
    assert.equal(sim.wipeCount(102), 1);
    assert.equal(sim.callsTo('POST', '/API/').length, 1);
  });

  it('lost reply: applied unknown, and reconcile finds the wipe', async () => {
    const intentAt = new Date();
    sim.injectFault({ method: 'POST', pathPrefix: '/API/mdm/devices/103/commands', dropReply: true });
    const err = await rejects(wipe('103'), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.equal(sim.wipeCount(103), 1);
    const r = await reconcile('103', intentAt);
    assert.equal(r.applied, true);
    assert.equal(sim.wipeCount(103), 1);
  });

  it('429 with Retry-After: RetryableError applied no; 500: applied unknown', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/API/mdm/devices/104', status: 429, headers: { 'retry-after': '4', 'content-type': 'application/json' }, body: '{"errorCode":429,"message":"Rate limit exceeded."}' });
    const throttled = await rejects(wipe('104'), RetryableError);
    assert.equal(throttled.applied, 'no');
    assert.equal(throttled.retryAfterMs, 4000);
    assert.equal(throttled.vendorCode, '429');
    assert.equal(sim.wipeCount(104), 0);
    sim.injectFault({ method: 'POST', pathPrefix: '/API/mdm/devices/104', status: 500, body: '{"errorCode":500,"message":"Internal error"}' });
    const failed = await rejects(wipe('104'), RetryableError);
    assert.equal(failed.applied, 'unknown');
    assert.match(failed.message, /Internal error/);
  });

  it('a non-numeric id is refused before anything is sent', async () => {
    const err = await rejects(wipe('15/commands?command=Lock&x='), TerminalError);
    assert.equal(err.applied, 'no');
    assert.equal(sim.calls.length, 0);
  });

  it('lockDevice sends Lock and leaves the enrollment alone', async () => {
    const out = capabilities.mdm.wipeDevice.output.parse(await a.lockDevice.handler({ deviceId: '17' }, ctx()));
    assert.equal(out.accepted, true);
    assert.equal(sim.lockCount(17), 1);
    assert.equal(sim.wipeCount(17), 0);
    assert.equal((await getDevice('17')).enrollmentStatus, 'Enrolled');
  });
});

describe('workspace one app: auth and secrets', () => {
  it('bad password: TerminalError 1005 without the password', async () => {
    const pw = 'wrong-ws1-password-42';
    const err = await rejects(find({ serialNumber: 'F2LXK3ABHG7F' }, { password: pw }), TerminalError);
    assert.equal(err.status, 401);
    assert.equal(err.vendorCode, '1005');
    assert.ok(!err.message.includes(pw) && !err.message.includes(PASSWORD));
  });

  it('wrong tenant code: TerminalError 1013 without the code', async () => {
    const code = 'wrong-tenant-code-42';
    const err = await rejects(find({ serialNumber: 'F2LXK3ABHG7F' }, { tenantCode: code }), TerminalError);
    assert.equal(err.vendorCode, '1013');
    assert.ok(!err.message.includes(code) && !err.message.includes(seed.tenantCode));
  });

  it('no credentials configured: TerminalError, nothing sent', async () => {
    await rejects(find({ serialNumber: 'F2LXK3ABHG7F' }, { username: undefined, password: undefined }), TerminalError);
    assert.equal(sim.calls.length, 0);
  });

  it('OAuth: a cached Bearer token, refreshed once when it expired', async () => {
    const oauth = { username: undefined, password: undefined, clientId: 'riposte-lab', clientSecret: seed.oauthClients!['riposte-lab']!, tokenUrl: `${sim.url}/connect/token` };
    await find({ serialNumber: 'F2LXK3ABHG7F' }, oauth);
    await find({ serialNumber: 'F2LXK3ABHG7F' }, oauth);
    assert.equal(sim.callsTo('POST', '/connect/token').length, 1);
    sim.expireTokens();
    assert.equal((await find({ serialNumber: 'F2LXK3ABHG7F' }, oauth)).device?.id, '15');
    assert.deepEqual(sim.callsTo('GET', '/API/mdm/devices').map((c) => c.status), [200, 200, 401, 200]);
    assert.equal(sim.callsTo('POST', '/connect/token').length, 2);
    const secret = 'wrong-oauth-secret-42';
    sim.resetRecords();
    const bad = await rejects(find({ serialNumber: 'F2LXK3ABHG7F' }, { ...oauth, clientSecret: secret }), TerminalError);
    assert.equal(sim.callsTo('POST', '/connect/token').length, 1);
    assert.equal(sim.callsTo('GET', '/API/').length, 0, 'no API call without a token');
    assert.equal(bad.vendorCode, 'invalid_client');
    assert.equal(bad.applied, 'no');
    assert.ok(!bad.message.includes(secret));
  });

  it('testConnectivity runs a one-device search', async () => {
    const r = await workspaceOneApp.testConnectivity!(ctx());
    assert.equal(r.ok, true);
    assert.match(r.detail ?? '', /9 devices visible/);
  });

  it('credentials travel in headers only, never in a URL or a body', async () => {
    await find({ userPrincipalName: 'asmith@contoso.example' });
    await a.lockDevice.handler({ deviceId: '16' }, ctx());
    assert.ok(sim.calls.length >= 2);
    for (const c of sim.calls) {
      const visible = `${c.path} ${JSON.stringify(c.query)} ${c.body}`;
      assert.ok(!visible.includes(PASSWORD) && !visible.includes(seed.tenantCode));
    }
  });
});
