import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { intuneApp } from '../../src/apps/intune/index.js';
import { clearGraphTokenCache } from '../../src/apps/graph/graph-client.js';
import { GraphSimulator, type SimDevice } from '../../lab/graph-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const seed = GraphSimulator.demoSeed();
const JDOE_IPHONE = '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
const ASMITH_PIXEL = '5e8a1c3b-7d2f-4a6e-b9c0-4d1e2f3a5b6c';
const BWONG_GALAXY = 'b6c7d8e9-0f1a-4b2c-8d3e-5f6a7b8c9d0e';
const JDOE_LAPTOP = '2d4e6f80-1a3b-4c5d-9e7f-8a9b0c1d2e3f';

// Five devices of one kiosk account, so a lookup by UPN spans three pages of two; the most
// recently synced one is on the last page.
const kiosk: SimDevice[] = [0, 1, 2, 3, 4].map((i) => ({
  id: `00000000-0000-4000-8000-00000000000${i}`,
  deviceName: `KIOSK-${i}`,
  serialNumber: `KSK${i}`,
  operatingSystem: 'iPadOS',
  userPrincipalName: 'kiosk@contoso.example',
  lastSyncDateTime: new Date(Date.now() - (10 - i) * 60_000).toISOString(),
}));
const quoted: SimDevice = { id: '11111111-2222-4333-8444-555555555555', deviceName: "O'BRIEN-IPAD", serialNumber: 'DMPQ1234' };

const sim = new GraphSimulator({ ...seed, devices: [...seed.devices, ...kiosk, quoted], pageSize: 2 });
let config: ReturnType<typeof intuneApp.config.parse>;
const a = intuneApp.actions;

const ctx = () => actionContext(config, 'run-1:step-1', { timeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function find(input: Parameters<typeof a.findDevice.input.parse>[0]) {
  const out = await a.findDevice.handler(a.findDevice.input.parse(input), ctx());
  capabilities.mdm.findDevice.output.parse(out);
  return a.findDevice.output.parse(out);
}

async function wipe(deviceId: string) {
  const out = await a.wipeDevice.handler(a.wipeDevice.input.parse({ deviceId }), ctx());
  return capabilities.mdm.wipeDevice.output.parse(out);
}

function reconcile(deviceId: string, intentAt: Date) {
  return a.wipeDevice.reconcile!(a.wipeDevice.input.parse({ deviceId }), { ...ctx(), intentAt });
}

before(async () => {
  const url = await sim.start(0);
  config = intuneApp.config.parse({ tenantId: seed.tenantId, clientId: seed.clientId, clientSecret: seed.clientSecret, authorityUrl: url, graphUrl: url });
});
after(() => sim.stop());
beforeEach(() => {
  sim.resetRecords();
  sim.setThrottle(undefined);
  clearGraphTokenCache();
});

describe('intune app: declaration', () => {
  it('declares kinds, idempotency and config defaults', () => {
    assert.equal(a.findDevice.kind, 'investigate');
    assert.equal(a.findDevice.readOnly && a.findDevice.idempotent, true);
    assert.equal(a.getDevice.kind, 'investigate');
    assert.equal(a.wipeDevice.kind, 'contain');
    assert.equal(a.wipeDevice.readOnly, false);
    assert.equal(a.wipeDevice.idempotent, false);
    assert.equal(typeof a.wipeDevice.reconcile, 'function');
    assert.deepEqual(intuneApp.secrets, ['clientSecret']);
    const c = intuneApp.config.parse({ tenantId: 't', clientId: 'c', clientSecret: 's' });
    assert.equal(c.authorityUrl, 'https://login.microsoftonline.com');
    assert.equal(c.graphUrl, 'https://graph.microsoft.com');
  });
});

describe('intune app: findDevice', () => {
  it('finds by device name, through a $filter', async () => {
    const out = await find({ deviceName: 'JDOE-IPHONE' });
    assert.equal(out.found, true);
    assert.equal(out.device?.id, JDOE_IPHONE);
    assert.equal(out.device?.serialNumber, 'F2LXK3ABHG7F');
    assert.equal(out.device?.os, 'iOS 17.5.1');
    assert.equal(out.device?.userPrincipalName, 'jdoe@contoso.example');
    const [call] = sim.callsTo('GET', '/v1.0/deviceManagement/managedDevices');
    assert.equal(call?.query.$filter, "deviceName eq 'JDOE-IPHONE'");
  });

  it('finds by serial number (case-insensitive) and by id', async () => {
    assert.equal((await find({ serialNumber: 'f2lxk3abhg7f' })).device?.name, 'JDOE-IPHONE');
    const byId = await find({ deviceId: ASMITH_PIXEL });
    assert.equal(byId.device?.name, 'ASMITH-PIXEL');
    assert.equal(sim.callsTo('GET', `/v1.0/deviceManagement/managedDevices/${ASMITH_PIXEL}`).length, 1);
  });

  it('escapes quotes in filter literals', async () => {
    const out = await find({ deviceName: "O'BRIEN-IPAD" });
    assert.equal(out.device?.id, quoted.id);
    assert.equal(sim.calls[sim.calls.length - 1]?.query.$filter, "deviceName eq 'O''BRIEN-IPAD'");
  });

  it('by user returns the most recently synced of several devices', async () => {
    const out = await find({ userPrincipalName: 'jdoe@contoso.example' });
    assert.equal(out.matchCount, 2);
    assert.equal(out.device?.id, JDOE_IPHONE);
  });

  it('follows @odata.nextLink across pages', async () => {
    const out = await find({ userPrincipalName: 'kiosk@contoso.example' });
    assert.equal(out.matchCount, 5);
    assert.equal(out.device?.name, 'KIOSK-4');
    const pages = sim.callsTo('GET', '/v1.0/deviceManagement/managedDevices');
    assert.equal(pages.length, 3);
    assert.equal(pages[0]?.query.$skiptoken, undefined);
    assert.ok(pages[1]?.query.$skiptoken && pages[2]?.query.$skiptoken);
    assert.equal(pages[2]?.query.$filter, "userPrincipalName eq 'kiosk@contoso.example'");
  });

  it('combines criteria; a deviceId lookup honours the others', async () => {
    assert.equal((await find({ userPrincipalName: 'jdoe@contoso.example', deviceName: 'JDOE-LT01' })).device?.id, JDOE_LAPTOP);
    assert.deepEqual(await find({ deviceId: JDOE_IPHONE, serialNumber: 'WRONG' }), { found: false, matchCount: 0 });
  });

  it('returns found:false when nothing matches', async () => {
    assert.deepEqual(await find({ deviceName: 'NO-SUCH-DEVICE' }), { found: false, matchCount: 0 });
    assert.deepEqual(await find({ deviceId: '00000000-dead-4bee-8f00-000000000000' }), { found: false, matchCount: 0 });
  });

  it('refuses a lookup without criteria', async () => {
    await rejects(find({}), TerminalError);
  });

  it('refuses to follow a nextLink to another origin (the token would leak)', async () => {
    sim.injectFault({ method: 'GET', pathPrefix: '/v1.0/deviceManagement/managedDevices', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: [], '@odata.nextLink': 'http://evil.example/v1.0/x' }) });
    const err = await rejects(find({ deviceName: 'JDOE-IPHONE' }), TerminalError);
    assert.match(err.message, /outside/);
  });
});

describe('intune app: getDevice', () => {
  it('returns the record and raw action results', async () => {
    const out = a.getDevice.output.parse(await a.getDevice.handler({ deviceId: BWONG_GALAXY }, ctx()));
    assert.equal(out.device.name, 'BWONG-GALAXY');
    assert.equal(out.device.complianceState, 'noncompliant');
    assert.deepEqual(out.deviceActionResults, []);
  });

  it('404 is a TerminalError carrying Intune\'s message', async () => {
    const err = await rejects(a.getDevice.handler({ deviceId: 'nope' }, ctx()), TerminalError);
    assert.equal(err.status, 404);
    assert.equal(err.vendorCode, 'ResourceNotFound');
    assert.equal(err.applied, 'no');
    assert.match(err.message, /HTTP 404: An error has occurred/);
  });
});

describe('intune app: wipeDevice', () => {
  it('sends one wipe (204); the action goes pending → done', async () => {
    const before = sim.wipeCount(JDOE_IPHONE);
    assert.deepEqual(await wipe(JDOE_IPHONE), { accepted: true, state: 'pending' });
    const [call] = sim.callsTo('POST', `/v1.0/deviceManagement/managedDevices/${JDOE_IPHONE}/wipe`);
    assert.equal(call?.status, 204);
    assert.deepEqual(JSON.parse(call!.body), { keepEnrollmentData: false, keepUserData: false });
    const pending = await a.getDevice.handler({ deviceId: JDOE_IPHONE }, ctx());
    assert.equal(pending.deviceActionResults[0]?.actionName, 'wipe');
    assert.equal(pending.deviceActionResults[0]?.actionState, 'pending');
    await sleep(80);
    const done = await a.getDevice.handler({ deviceId: JDOE_IPHONE }, ctx());
    assert.equal(done.deviceActionResults[0]?.actionState, 'done');
    assert.equal(sim.wipeCount(JDOE_IPHONE), before + 1);
  });

  it('reconcile: applied when a wipe started after the intent, not applied otherwise; never re-sends', async () => {
    const intentAt = new Date();
    await wipe(ASMITH_PIXEL);
    const count = sim.wipeCount(ASMITH_PIXEL);
    const yes = await reconcile(ASMITH_PIXEL, intentAt);
    assert.equal(yes.applied, true);
    assert.ok(yes.applied === true && yes.output.accepted && ['pending', 'done'].includes(yes.output.state ?? ''));
    // An older wipe (well before the intent, beyond clock skew) does not count.
    assert.deepEqual(await reconcile(ASMITH_PIXEL, new Date(Date.now() + 60_000)), { applied: false });
    assert.deepEqual(await reconcile(BWONG_GALAXY, intentAt), { applied: false });
    const unknown = await reconcile('00000000-dead-4bee-8f00-000000000000', intentAt);
    assert.equal(unknown.applied, 'unknown');
    assert.equal(sim.wipeCount(ASMITH_PIXEL), count);
    assert.equal(sim.callsTo('POST', '/v1.0/').length, 1); // only the wipe above
  });

  it('lost reply: RetryableError applied unknown, and reconcile finds the wipe', async () => {
    const intentAt = new Date();
    const before = sim.wipeCount(JDOE_LAPTOP);
    sim.injectFault({ method: 'POST', pathPrefix: `/v1.0/deviceManagement/managedDevices/${JDOE_LAPTOP}/wipe`, dropReply: true });
    const err = await rejects(wipe(JDOE_LAPTOP), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.equal(sim.wipeCount(JDOE_LAPTOP), before + 1);
    const r = await reconcile(JDOE_LAPTOP, intentAt);
    assert.equal(r.applied, true);
    assert.equal(sim.wipeCount(JDOE_LAPTOP), before + 1);
  });

  it('429 with Retry-After: RetryableError, applied no, nothing wiped', async () => {
    const before = sim.wipeCount(BWONG_GALAXY);
    sim.injectFault({
      method: 'POST', pathPrefix: '/v1.0/deviceManagement/managedDevices/', status: 429, headers: { 'retry-after': '7', 'content-type': 'application/json' },
      body: JSON.stringify({ error: { code: 'TooManyRequests', message: 'Too many requests.', innerError: {} } }),
    });
    const err = await rejects(wipe(BWONG_GALAXY), RetryableError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 7000);
    assert.equal(err.applied, 'no');
    assert.equal(err.vendorCode, 'TooManyRequests');
    assert.equal(sim.wipeCount(BWONG_GALAXY), before);
  });

  it('500: RetryableError, applied unknown', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/v1.0/deviceManagement/managedDevices/', status: 500, body: '{"error":{"code":"InternalServerError","message":"boom"}}' });
    const err = await rejects(wipe(BWONG_GALAXY), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.equal(err.status, 500);
    assert.match(err.message, /boom/);
  });

  it('404: TerminalError', async () => {
    const err = await rejects(wipe('00000000-dead-4bee-8f00-000000000000'), TerminalError);
    assert.equal(err.status, 404);
  });

  it('a failing token endpoint means the wipe was never sent (applied no)', async () => {
    const before = sim.wipeCount(BWONG_GALAXY);
    sim.injectFault({ method: 'POST', pathPrefix: `/${seed.tenantId}/oauth2`, status: 500, body: '' });
    const err = await rejects(wipe(BWONG_GALAXY), RetryableError);
    assert.equal(err.applied, 'no');
    sim.injectFault({ method: 'POST', pathPrefix: `/${seed.tenantId}/oauth2`, dropReply: true });
    assert.equal((await rejects(wipe(BWONG_GALAXY), RetryableError)).applied, 'no');
    assert.equal(sim.wipeCount(BWONG_GALAXY), before);
  });
});

describe('intune app: throttling, auth and secrets', () => {
  it('the simulator\'s configured rate limit yields 429 with Retry-After', async () => {
    sim.setThrottle({ limit: 1, windowMs: 60_000, retryAfterSeconds: 3 });
    await find({ deviceName: 'JDOE-IPHONE' });
    const err = await rejects(find({ deviceName: 'JDOE-IPHONE' }), RetryableError);
    assert.equal(err.retryAfterMs, 3000);
    assert.equal(err.applied, 'no');
  });

  it('bad client secret: TerminalError with the AADSTS message, without the secret', async () => {
    await find({ deviceName: 'JDOE-IPHONE' }); // a good token is cached for the right secret
    const secret = 'wrong-secret-value-42';
    const bad = { ...ctx(), config: { ...config, clientSecret: secret } };
    const err = await rejects(a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, bad), TerminalError);
    assert.equal(err.status, 401);
    assert.equal(err.vendorCode, 'invalid_client');
    assert.match(err.message, /AADSTS7000215: Invalid client secret provided/);
    assert.ok(!err.message.includes(secret) && !err.message.includes(seed.clientSecret));
    assert.ok(!/Trace ID/.test(err.message));
  });

  it('an expired token is refreshed once, transparently (even for a wipe)', async () => {
    await find({ deviceName: 'JDOE-IPHONE' });
    sim.expireTokens();
    const before = sim.wipeCount(BWONG_GALAXY);
    await wipe(BWONG_GALAXY);
    const wipes = sim.callsTo('POST', `/v1.0/deviceManagement/managedDevices/${BWONG_GALAXY}/wipe`);
    assert.deepEqual(wipes.map((c) => c.status), [401, 204]);
    assert.equal(sim.wipeCount(BWONG_GALAXY), before + 1);
    assert.equal(sim.callsTo('POST', `/${seed.tenantId}/oauth2/v2.0/token`).length, 2);
  });

  it('tokens are cached and refreshed before they expire', async () => {
    const short = new GraphSimulator({ ...seed, tokenLifetimeMs: 600 });
    const url = await short.start(0);
    try {
      const c = { ...ctx(), config: { ...config, authorityUrl: url, graphUrl: url } };
      await a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, c);
      await a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, c);
      assert.equal(short.callsTo('POST', '/').length, 1);
      await sleep(650);
      await a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, c);
      assert.equal(short.callsTo('POST', '/').length, 2);
      assert.ok(short.calls.every((c) => c.status !== 401));
    } finally {
      await short.stop();
    }
  });

  it('concurrent actions with a cold cache share one token request; one caller giving up fails no other', async () => {
    const fresh = new GraphSimulator(seed);
    const url = await fresh.start(0);
    try {
      const c = { ...ctx(), config: { ...config, authorityUrl: url, graphUrl: url } };
      fresh.injectFault({ method: 'POST', pathPrefix: `/${seed.tenantId}/oauth2`, delayMs: 150 });
      const impatient = a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, { ...c, signal: AbortSignal.timeout(30) });
      const others = Array.from({ length: 8 }, () => a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, c));
      const err = await rejects(impatient, RetryableError);
      assert.equal(err.applied, 'no');
      assert.match(err.message, /timed out/);
      for (const out of await Promise.all(others)) assert.equal(out.found, true);
      assert.equal(fresh.callsTo('POST', `/${seed.tenantId}/oauth2/v2.0/token`).length, 1);
      assert.equal(fresh.callsTo('GET', '/v1.0/deviceManagement/managedDevices').length, 8);
    } finally {
      await fresh.stop();
    }
  });

  it('when every waiter gives up, the shared token request is abandoned and the next caller starts a new one', async () => {
    const fresh = new GraphSimulator(seed);
    const url = await fresh.start(0);
    try {
      const c = { ...ctx(), config: { ...config, authorityUrl: url, graphUrl: url } };
      fresh.injectFault({ method: 'POST', pathPrefix: `/${seed.tenantId}/oauth2`, delayMs: 300 });
      const gaveUp = await Promise.allSettled([1, 2].map(() => a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, { ...c, signal: AbortSignal.timeout(30) })));
      assert.ok(gaveUp.every((r) => r.status === 'rejected' && r.reason instanceof RetryableError && r.reason.applied === 'no'));
      assert.equal((await a.findDevice.handler({ deviceName: 'JDOE-IPHONE' }, c)).found, true);
      await sleep(350); // the abandoned request is recorded once the simulator's delay is over
      assert.equal(fresh.callsTo('POST', `/${seed.tenantId}/oauth2/v2.0/token`).length, 2);
    } finally {
      await fresh.stop();
    }
  });

  it('Graph without a valid token is 401 InvalidAuthenticationToken', async () => {
    const res = await fetch(`${sim.url}/v1.0/deviceManagement/managedDevices`, { headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: { code: string; innerError: Record<string, string> } };
    assert.equal(body.error.code, 'InvalidAuthenticationToken');
    assert.ok(body.error.innerError['request-id'] && body.error.innerError.date);
  });

  it('testConnectivity gets a token and reads one device', async () => {
    assert.equal((await intuneApp.testConnectivity!(ctx())).ok, true);
    assert.equal(sim.callsTo('GET', '/v1.0/deviceManagement/managedDevices')[0]?.query.$top, '1');
  });

  it('recorded calls never carry the secret or the token in headers', async () => {
    await find({ deviceName: 'JDOE-IPHONE' });
    await wipe(BWONG_GALAXY);
    assert.ok(sim.calls.length >= 3);
    for (const c of sim.calls) {
      assert.ok(!('authorization' in c.headers));
      assert.ok(!JSON.stringify(c.headers).includes(seed.clientSecret));
      if (!c.path.endsWith('/oauth2/v2.0/token')) assert.ok(!c.body.includes(seed.clientSecret));
    }
    // The token request body does carry it (so never print recorded bodies).
    assert.ok(sim.callsTo('POST', `/${seed.tenantId}/oauth2/v2.0/token`).every((c) => c.body.includes('client_secret=')));
  });
});
