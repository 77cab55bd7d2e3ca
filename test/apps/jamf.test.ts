import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jamfApp } from '../../src/apps/jamf/index.js';
import { clearJamfTokenCache } from '../../src/apps/jamf/client.js';
import { JamfSimulator, JAMF_PRIVILEGES, type JamfSimMobileDevice } from '../../lab/jamf-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const seed = JamfSimulator.demoSeed();
const [JDOE_IPHONE, ASMITH_IPAD] = seed.mobileDevices;
const [JDOE_MBP, ASMITH_MBA] = seed.computers;
const kiosk: JamfSimMobileDevice[] = Array.from({ length: 5 }, (_, i) => ({
  id: String(10 + i), name: `KIOSK-${i}`, serialNumber: `KSK00${i}`, managementId: `00000000-0000-4000-8000-00000000001${i}`,
  username: 'kiosk', osVersion: '17.2', lastInventoryUpdateDate: new Date(Date.now() - (10 - i) * 60_000).toISOString(),
}));
const quoted: JamfSimMobileDevice = { id: '20', name: 'O"BRIEN-IPAD', serialNumber: 'DMPQ1234', managementId: '00000000-0000-4000-8000-000000000020', username: 'obrien' };

// Commands are acknowledged after 300 ms: long enough to observe PENDING on a loaded machine.
const ACK_MS = 300;
const sim = new JamfSimulator({ ...seed, mobileDevices: [...seed.mobileDevices, ...kiosk, quoted], commandAckAfterMs: ACK_MS });
const a = jamfApp.actions;
let config: ReturnType<typeof jamfApp.config.parse>;

const ctx = (over: Partial<typeof config> = {}) =>
  actionContext({ ...config, ...over }, 'run-1:step-1', { timeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function find(input: Parameters<typeof a.findDevice.input.parse>[0]) {
  const out = await a.findDevice.handler(a.findDevice.input.parse(input), ctx());
  capabilities.mdm.findDevice.output.parse(out);
  return a.findDevice.output.parse(out);
}

async function wipe(deviceId: string, extra: { pin?: string } = {}) {
  const out = await a.wipeDevice.handler(a.wipeDevice.input.parse({ deviceId, ...extra }), ctx());
  return capabilities.mdm.wipeDevice.output.parse(out);
}

function reconcile(deviceId: string, intentAt: Date) {
  return a.wipeDevice.reconcile!(a.wipeDevice.input.parse({ deviceId }), { ...ctx(), intentAt });
}

before(async () => {
  const url = await sim.start(0);
  config = jamfApp.config.parse({ url: `${url}/`, clientId: seed.clientId, clientSecret: seed.clientSecret, pageSize: 2 });
});
after(() => sim.stop());
beforeEach(() => {
  sim.resetRecords();
  sim.setPrivileges();
  clearJamfTokenCache();
});

describe('jamf app: declaration', () => {
  it('declares kinds, idempotency, undo-less destructive actions and config defaults', () => {
    assert.equal(a.findDevice.readOnly && a.findDevice.idempotent && a.getDevice.readOnly, true);
    assert.equal(a.wipeDevice.kind, 'contain');
    assert.equal(a.wipeDevice.idempotent, false);
    assert.equal(typeof a.wipeDevice.reconcile, 'function');
    assert.equal(a.lockDevice.kind, 'contain');
    assert.equal(a.lockDevice.readOnly, false);
    assert.equal(a.lockDevice.idempotent, true);
    assert.deepEqual(jamfApp.implements, ['mdm']);
    assert.deepEqual(jamfApp.secrets, ['clientSecret']);
    assert.equal(jamfApp.config.parse({ url: 'https://x.jamfcloud.com', clientId: 'c', clientSecret: 's' }).pageSize, 100);
  });

  it('input validation names the field', () => {
    const r = a.wipeDevice.input.safeParse({ deviceId: 'mobile:1', pin: '12' });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ['pin']);
    assert.equal(a.findDevice.input.safeParse({ serialNumber: 7 }).error?.issues[0]?.path[0], 'serialNumber');
  });
});

describe('jamf app: findDevice', () => {
  it('finds a mobile device by serial (RSQL filter), completing the user from the detail record', async () => {
    const out = await find({ serialNumber: 'F2LXK3ABHG7F' });
    assert.equal(out.found, true);
    assert.equal(out.device?.id, 'mobile:1');
    assert.equal(out.device?.name, 'JDOE-IPHONE');
    assert.equal(out.device?.os, 'iOS 17.5.1');
    assert.equal(out.device?.model, 'iPhone 14');
    assert.equal(out.device?.userPrincipalName, 'jdoe@contoso.example');
    assert.equal(out.deviceType, 'mobile');
    assert.equal(out.managementId, JDOE_IPHONE!.managementId);
    const [list] = sim.callsTo('GET', '/api/v2/mobile-devices');
    assert.equal(list?.query.filter, 'serialNumber=="F2LXK3ABHG7F"');
    assert.equal(sim.callsTo('GET', '/api/v2/mobile-devices/1/detail').length, 1);
    assert.equal(sim.callsTo('GET', '/api/v1/computers-inventory').length, 0, 'a mobile match stops the search');
  });

  it('falls back to computers when no mobile device matches', async () => {
    const out = await find({ deviceName: 'jdoe-mbp' });
    assert.equal(out.device?.id, 'computer:1');
    assert.equal(out.device?.serialNumber, JDOE_MBP!.serialNumber);
    assert.equal(out.device?.os, 'macOS 14.5');
    assert.equal(out.device?.userPrincipalName, 'jdoe@contoso.example');
    const [inv] = sim.callsTo('GET', '/api/v1/computers-inventory');
    assert.equal(inv?.query.filter, 'general.name=="jdoe-mbp"');
  });

  it('by user matches the short name and pages through the results', async () => {
    const out = await find({ userPrincipalName: 'kiosk@contoso.example' });
    assert.equal(out.matchCount, 5);
    assert.equal(out.device?.name, 'KIOSK-4', 'the most recently seen');
    const pages = sim.callsTo('GET', '/api/v2/mobile-devices').filter((c) => c.path === '/api/v2/mobile-devices');
    assert.deepEqual(pages.map((c) => c.query.page), ['0', '1', '2']);
    assert.ok(pages.every((c) => c.query['page-size'] === '2'));
    assert.equal(pages[0]?.query.filter, '(username=="kiosk@contoso.example",username=="kiosk")');
  });

  it('by user on a person with a phone and a Mac returns the phone', async () => {
    const out = await find({ userPrincipalName: 'asmith@contoso.example' });
    assert.equal(out.device?.name, ASMITH_IPAD!.name);
    assert.equal(out.matchCount, 1);
  });

  it('by id: qualified ids pick an inventory; a bare id may match both', async () => {
    assert.equal((await find({ deviceId: 'computer:2' })).device?.name, ASMITH_MBA!.name);
    assert.equal((await find({ deviceId: '2' })).matchCount, 2);
    assert.deepEqual(await find({ deviceId: 'mobile:1', serialNumber: 'WRONG' }), { found: false, matchCount: 0 });
  });

  it('escapes quotes in RSQL literals', async () => {
    const out = await find({ deviceName: 'O"BRIEN-IPAD' });
    assert.equal(out.device?.id, 'mobile:20');
    assert.equal(sim.callsTo('GET', '/api/v2/mobile-devices')[0]?.query.filter, 'name=="O\\"BRIEN-IPAD"');
  });

  it('not found: searches both inventories and says so', async () => {
    assert.deepEqual(await find({ serialNumber: 'NOPE0000' }), { found: false, matchCount: 0 });
    assert.equal(sim.callsTo('GET', '/api/v1/computers-inventory').length, 1);
    assert.deepEqual(await find({ deviceId: 'mobile:999' }), { found: false, matchCount: 0 });
  });

  it('refuses a lookup without criteria or with a malformed id', async () => {
    await rejects(find({}), TerminalError);
    await rejects(find({ deviceId: '../etc' }), TerminalError);
  });
});

describe('jamf app: wipe, lock and their asynchronous state', () => {
  it('sends one ERASE_DEVICE; the command goes PENDING → ACKNOWLEDGED', async () => {
    const mid = ASMITH_IPAD!.managementId;
    const out = await wipe('mobile:2');
    assert.equal(out.accepted, true);
    assert.equal(out.state, 'pending');
    assert.equal(sim.eraseCount(mid), 1);
    assert.equal(out.commandId, sim.commandsFor(mid)[0]?.uuid);
    const [post] = sim.callsTo('POST', '/api/v2/mdm/commands');
    assert.equal(post?.status, 201);
    assert.deepEqual(JSON.parse(post!.body), { clientData: [{ managementId: mid }], commandData: { commandType: 'ERASE_DEVICE' } });
    const pending = a.getDevice.output.parse(await a.getDevice.handler({ deviceId: 'mobile:2' }, ctx()));
    assert.equal(pending.commands[0]?.commandState, 'PENDING');
    assert.equal(pending.commands[0]?.commandType, 'ERASE_DEVICE');
    await sleep(ACK_MS + 30);
    const done = await a.getDevice.handler({ deviceId: 'mobile:2' }, ctx());
    assert.equal(done.commands[0]?.commandState, 'ACKNOWLEDGED');
    assert.equal(sim.eraseCount(mid), 1);
  });

  it('passes the Find My pin for a Mac', async () => {
    await wipe('computer:2', { pin: '123456' });
    const body = JSON.parse(sim.callsTo('POST', '/api/v2/mdm/commands')[0]!.body);
    assert.deepEqual(body.commandData, { commandType: 'ERASE_DEVICE', pin: '123456' });
    assert.equal(sim.eraseCount(ASMITH_MBA!.managementId), 1);
  });

  it('a bare id that names two devices is refused before anything is sent', async () => {
    const err = await rejects(wipe('1'), TerminalError);
    assert.match(err.message, /mobile:1 or computer:1/);
    assert.equal(sim.callsTo('POST', '/api/v2/mdm/commands').length, 0);
  });

  it('reconcile: applied / not applied / unknown, never re-sending', async () => {
    const intentAt = new Date();
    await wipe('computer:1');
    const mid = JDOE_MBP!.managementId;
    const yes = await reconcile('computer:1', intentAt);
    assert.ok(yes.applied === true, JSON.stringify(yes));
    assert.equal(yes.output.commandId, sim.commandsFor(mid)[0]?.uuid);
    const [q] = sim.callsTo('GET', '/api/v2/mdm/commands');
    assert.match(q?.query.filter ?? '', new RegExp(`^clientManagementId=="${mid}";command==ERASE_DEVICE;dateSent=ge=`));
    assert.deepEqual(await reconcile('computer:1', new Date(Date.now() + 60_000)), { applied: false });
    assert.deepEqual(await reconcile('mobile:10', intentAt), { applied: false });
    assert.equal((await reconcile('mobile:999', intentAt)).applied, 'unknown');
    sim.injectFault({ method: 'GET', pathPrefix: '/api/v2/mdm/commands', status: 500, body: '' });
    const unknown = await reconcile('computer:1', intentAt);
    assert.ok(unknown.applied === 'unknown' && /HTTP 500/.test(unknown.reason));
    assert.equal(sim.eraseCount(mid), 1);
    assert.equal(sim.callsTo('POST', '/api/v2/').length, 1);
  });

  it('reconcile reports a command the device refused', async () => {
    const intentAt = new Date();
    sim.failCommandsFor(kiosk[1]!.managementId);
    await wipe('mobile:11');
    await sleep(ACK_MS + 30);
    const r = await reconcile('mobile:11', intentAt);
    assert.ok(r.applied === true && r.output.state === 'error');
  });

  it('lost reply: applied unknown, and reconcile finds the erase', async () => {
    const intentAt = new Date();
    const mid = kiosk[2]!.managementId;
    sim.injectFault({ method: 'POST', pathPrefix: '/api/v2/mdm/commands', dropReply: true });
    const err = await rejects(wipe('mobile:12'), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.equal(sim.eraseCount(mid), 1);
    const r = await reconcile('mobile:12', intentAt);
    assert.ok(r.applied === true);
    assert.equal(r.output.commandId, sim.commandsFor(mid)[0]?.uuid);
    assert.equal(sim.eraseCount(mid), 1);
  });

  it('429 with Retry-After: RetryableError applied no; nothing queued', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/api/v2/mdm/commands', status: 429, headers: { 'retry-after': '9', 'content-type': 'application/json' }, body: JSON.stringify({ httpStatus: 429, errors: [{ code: 'TOO_MANY_REQUESTS', description: 'Rate limit exceeded', id: '0', field: null }] }) });
    const err = await rejects(wipe('mobile:13'), RetryableError);
    assert.equal(err.retryAfterMs, 9000);
    assert.equal(err.applied, 'no');
    assert.equal(err.vendorCode, 'TOO_MANY_REQUESTS');
    assert.equal(sim.eraseCount(kiosk[3]!.managementId), 0);
  });

  it('500 on the command: applied unknown; 500 on the lookup before it: applied no', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/api/v2/mdm/commands', status: 500, body: '{"httpStatus":500,"errors":[{"code":"UNEXPECTED","description":"boom"}]}' });
    const err = await rejects(wipe('mobile:13'), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.match(err.message, /boom/);
    sim.injectFault({ method: 'GET', pathPrefix: '/api/v2/mobile-devices/13', status: 502, body: '' });
    const before = await rejects(wipe('mobile:13'), RetryableError);
    assert.equal(before.applied, 'no');
    assert.equal(sim.eraseCount(kiosk[3]!.managementId), 0);
  });

  it('404 and 403 are terminal, with Jamf\'s message', async () => {
    const missing = await rejects(wipe('mobile:999'), TerminalError);
    assert.equal(missing.applied, 'no');
    sim.setPrivileges(JAMF_PRIVILEGES.filter((p) => p !== 'Send Mobile Device Remote Wipe Command'));
    const denied = await rejects(wipe('mobile:14'), TerminalError);
    assert.equal(denied.status, 403);
    assert.equal(denied.vendorCode, 'INVALID_PRIVILEGE');
    assert.equal(sim.eraseCount(kiosk[4]!.managementId), 0);
  });

  it('lockDevice sends DEVICE_LOCK with its message', async () => {
    const out = capabilities.mdm.wipeDevice.output.parse(await a.lockDevice.handler(a.lockDevice.input.parse({ deviceId: 'mobile:1', message: 'Call the SOC', phoneNumber: '+1 206 555 0100' }), ctx()));
    assert.equal(out.accepted, true);
    assert.equal(sim.lockCount(JDOE_IPHONE!.managementId), 1);
    assert.equal(sim.eraseCount(JDOE_IPHONE!.managementId), 0);
    assert.deepEqual(JSON.parse(sim.callsTo('POST', '/api/v2/mdm/commands')[0]!.body).commandData, { commandType: 'DEVICE_LOCK', message: 'Call the SOC', phoneNumber: '+1 206 555 0100' });
  });
});

describe('jamf app: tokens, auth failures and secrets', () => {
  it('caches the token across actions', async () => {
    await find({ serialNumber: 'F2LXK3ABHG7F' });
    await find({ serialNumber: 'F2LXK3ABHG7F' });
    assert.equal(sim.callsTo('POST', '/api/oauth/token').length, 1);
  });

  it('an expired token is refreshed once, transparently, even for a lock command', async () => {
    await find({ serialNumber: 'F2LXK3ABHG7F' });
    sim.expireTokens();
    await a.lockDevice.handler(a.lockDevice.input.parse({ deviceId: 'computer:1', pin: '654321' }), ctx());
    const calls = sim.calls.filter((c) => !c.path.startsWith('/api/oauth'));
    assert.equal(calls.filter((c) => c.status === 401).length, 1, 'one 401 (the lookup), then a fresh token');
    assert.deepEqual(sim.callsTo('POST', '/api/v2/mdm/commands').map((c) => c.status), [201]);
    assert.equal(sim.callsTo('POST', '/api/oauth/token').length, 2);
  });

  it('bad client secret: TerminalError without the secret', async () => {
    const secret = 'wrong-jamf-secret-42';
    const err = await rejects(a.findDevice.handler({ serialNumber: 'F2LXK3ABHG7F' }, ctx({ clientSecret: secret })), TerminalError);
    assert.equal(sim.callsTo('POST', '/api/oauth/token').length, 1, 'a rejected secret is not retried');
    assert.equal(err.status, 401);
    assert.equal(err.vendorCode, 'invalid_client');
    assert.equal(err.applied, 'no');
    assert.ok(!err.message.includes(secret) && !err.message.includes(seed.clientSecret));
  });

  it('a failing token endpoint means the erase was never sent', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/api/oauth/token', status: 500, body: '' });
    assert.equal((await rejects(wipe('mobile:14'), RetryableError)).applied, 'no');
    assert.equal(sim.callsTo('POST', '/api/v2/mdm/commands').length, 0);
  });

  it('the API without a valid token is 401 with Jamf\'s error envelope', async () => {
    const res = await fetch(`${sim.url}/api/v2/mobile-devices`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { httpStatus: 401, errors: [{ code: 'INVALID_TOKEN', description: 'Unauthorized', id: '0', field: null }] });
  });

  it('the legacy Basic token endpoint issues a usable token', async () => {
    const basic = Buffer.from(`soc-api:${seed.accounts!['soc-api']}`).toString('base64');
    const bad = await fetch(`${sim.url}/api/v1/auth/token`, { method: 'POST', headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    assert.equal(bad.status, 401);
    const res = await fetch(`${sim.url}/api/v1/auth/token`, { method: 'POST', headers: { authorization: `Basic ${basic}` } });
    const tok = (await res.json()) as { token: string; expires: string };
    assert.ok(Date.parse(tok.expires) > Date.now());
    const inv = await fetch(`${sim.url}/api/v1/computers-inventory?section=HARDWARE&filter=hardware.serialNumber%3D%3D%22${JDOE_MBP!.serialNumber}%22`, { headers: { authorization: `Bearer ${tok.token}` } });
    const body = (await inv.json()) as { totalCount: number; results: Array<{ general: unknown; hardware: { serialNumber: string } }> };
    assert.equal(body.totalCount, 1);
    assert.equal(body.results[0]?.general, null, 'sections not asked for are null');
    assert.equal(body.results[0]?.hardware.serialNumber, JDOE_MBP!.serialNumber);
  });

  it('the commands listing requires a filter; unknown filter fields are 400', async () => {
    const tokenRes = await fetch(`${sim.url}/api/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: seed.clientId, client_secret: seed.clientSecret }) });
    const { access_token: t } = (await tokenRes.json()) as { access_token: string };
    const noFilter = await fetch(`${sim.url}/api/v2/mdm/commands`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(noFilter.status, 400);
    const badField = await fetch(`${sim.url}/api/v2/mdm/commands?filter=commandType%3D%3DERASE_DEVICE`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(badField.status, 400);
    assert.equal(((await badField.json()) as { errors: Array<{ field: string }> }).errors[0]?.field, 'filter');
  });

  it('testConnectivity reads one page of mobile devices', async () => {
    const r = await jamfApp.testConnectivity!(ctx());
    assert.equal(r.ok, true);
    assert.match(r.detail ?? '', /8 mobile devices/);
  });

  it('the secret travels only in the token request body, never in a URL or another body', async () => {
    await find({ userPrincipalName: 'jdoe@contoso.example' });
    await wipe('mobile:10');
    assert.ok(sim.calls.length >= 4);
    for (const c of sim.calls) {
      assert.ok(!JSON.stringify(c.query).includes(seed.clientSecret));
      if (c.path !== '/api/oauth/token') assert.ok(!c.body.includes(seed.clientSecret));
    }
    assert.ok(sim.callsTo('POST', '/api/oauth/token').every((c) => c.body.includes('client_secret=')));
  });
});
