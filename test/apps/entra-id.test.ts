import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entraIdApp, userPath } from '../../src/apps/entra-id/index.js';
import { clearGraphTokenCache, getToken } from '../../src/apps/graph/graph-client.js';
import { GraphSimulator } from '../../lab/graph-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const seed = GraphSimulator.demoSeed();
const jdoe = seed.users.find((u) => u.userPrincipalName === 'jdoe@contoso.example')!;
const extra = [
  { id: '0a0b0c0d-1111-4222-8333-444455556666', userPrincipalName: '$svc-backup@contoso.example', displayName: 'Backup service' },
  { id: '6f5e4d3c-2b1a-4098-8765-43210fedcba9', userPrincipalName: 'ext_bob_gmail.com#EXT#@contoso.example', displayName: 'Bob (guest)' },
];
const sim = new GraphSimulator({ ...seed, users: [...seed.users, ...extra] });
let config: ReturnType<typeof entraIdApp.config.parse>;
const a = entraIdApp.actions;

const ctx = () => actionContext(config, 'run-7:step-2', { timeoutMs: 5000 });

async function getUser(user: string) {
  return capabilities.directory.getUser.output.parse(await a.getUser.handler({ user }, ctx()));
}

before(async () => {
  const url = await sim.start(0);
  config = entraIdApp.config.parse({ tenantId: seed.tenantId, clientId: seed.clientId, clientSecret: seed.clientSecret, authorityUrl: url, graphUrl: url });
});
after(() => sim.stop());
beforeEach(() => {
  sim.resetRecords();
  clearGraphTokenCache();
});

describe('entra-id app: declaration', () => {
  it('declares kinds, idempotency and the undo pair', () => {
    assert.equal(a.getUser.kind, 'investigate');
    assert.equal(a.revokeSessions.kind, 'contain');
    assert.equal(a.disableUser.kind, 'contain');
    assert.equal(a.enableUser.kind, 'correct');
    for (const name of ['revokeSessions', 'disableUser', 'enableUser'] as const) {
      assert.equal(a[name].idempotent, true);
      assert.equal(a[name].readOnly, false);
    }
    assert.equal(a.disableUser.undo, 'enableUser');
    assert.equal(a.enableUser.undo, 'disableUser');
    assert.deepEqual(entraIdApp.implements, ['directory']);
  });
});

describe('entra-id app: getUser', () => {
  it('by UPN: maps to UserRecord, accountEnabled via $select', async () => {
    const out = await getUser('jdoe@contoso.example');
    assert.deepEqual(out, {
      found: true,
      user: { id: jdoe.id, userName: 'jdoe@contoso.example', displayName: 'John Doe', email: 'jdoe@contoso.example', department: 'Finance', jobTitle: 'Financial Analyst', enabled: true },
    });
    const [call] = sim.callsTo('GET', '/v1.0/users/');
    assert.equal(call?.path, '/v1.0/users/jdoe@contoso.example');
    assert.match(call?.query.$select ?? '', /accountEnabled/);
  });

  it('by object id', async () => {
    assert.equal((await getUser(jdoe.id)).user?.userName, 'jdoe@contoso.example');
  });

  it('unknown user: found false', async () => {
    assert.deepEqual(await getUser('nobody@contoso.example'), { found: false });
    assert.equal(sim.calls[sim.calls.length - 1]?.status, 404);
  });

  it('UPNs starting with $ use users(\'…\'); # is percent-encoded', async () => {
    assert.equal(userPath('$svc-backup@contoso.example'), "/v1.0/users('%24svc-backup@contoso.example')");
    assert.equal((await getUser('$svc-backup@contoso.example')).user?.id, extra[0]!.id);
    assert.equal((await getUser('ext_bob_gmail.com#EXT#@contoso.example')).user?.id, extra[1]!.id);
  });

  it('the simulator returns accountEnabled only when selected', async () => {
    const token = await getToken(config, AbortSignal.timeout(5000));
    const plain = (await (await fetch(`${sim.url}/v1.0/users/jdoe@contoso.example`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>;
    assert.equal('accountEnabled' in plain, false);
    assert.equal('department' in plain, false);
    assert.equal(plain.displayName, 'John Doe');
    const sel = (await (await fetch(`${sim.url}/v1.0/users/jdoe@contoso.example?$select=id,accountEnabled`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(sel).sort(), ['@odata.context', 'accountEnabled', 'id']);
  });

  it('429 with Retry-After: RetryableError, applied no', async () => {
    sim.injectFault({ method: 'GET', pathPrefix: '/v1.0/users', status: 429, headers: { 'retry-after': '2' }, body: '{"error":{"code":"TooManyRequests","message":"Too many requests."}}' });
    const err = await rejects(getUser('jdoe@contoso.example'), RetryableError);
    assert.equal(err.retryAfterMs, 2000);
    assert.equal(err.applied, 'no');
  });
});

describe('entra-id app: containment', () => {
  it('disableUser and enableUser PATCH accountEnabled (204), idempotently', async () => {
    assert.deepEqual(await a.disableUser.handler({ user: 'asmith@contoso.example' }, ctx()), { user: 'asmith@contoso.example', enabled: false });
    await a.disableUser.handler({ user: 'asmith@contoso.example' }, ctx());
    assert.equal(sim.user('asmith@contoso.example')?.accountEnabled, false);
    assert.equal((await getUser('asmith@contoso.example')).user?.enabled, false);
    const patches = sim.callsTo('PATCH', '/v1.0/users/');
    assert.deepEqual(patches.map((c) => c.status), [204, 204]);
    assert.deepEqual(JSON.parse(patches[0]!.body), { accountEnabled: false });
    await a.enableUser.handler({ user: 'asmith@contoso.example' }, ctx());
    assert.equal(sim.user('asmith@contoso.example')?.accountEnabled, true);
  });

  it('revokeSessions POSTs revokeSignInSessions (200, value true)', async () => {
    const before = sim.revokeCount('bwong@contoso.example');
    const out = await a.revokeSessions.handler({ user: 'bwong@contoso.example' }, ctx());
    assert.deepEqual(a.revokeSessions.output.parse(out), { user: 'bwong@contoso.example', revoked: true });
    assert.equal(sim.revokeCount('bwong@contoso.example'), before + 1);
    assert.equal(sim.callsTo('POST', '/v1.0/users/bwong@contoso.example/revokeSignInSessions')[0]?.status, 200);
  });

  it('unknown user: TerminalError with Graph\'s code and message', async () => {
    const err = await rejects(a.revokeSessions.handler({ user: 'nobody@contoso.example' }, ctx()), TerminalError);
    assert.equal(err.status, 404);
    assert.equal(err.vendorCode, 'Request_ResourceNotFound');
    assert.match(err.message, /does not exist/);
    await rejects(a.disableUser.handler({ user: 'nobody@contoso.example' }, ctx()), TerminalError);
  });

  it('500 on PATCH: RetryableError applied unknown', async () => {
    sim.injectFault({ method: 'PATCH', pathPrefix: '/v1.0/users/', status: 500, body: '{"error":{"code":"UnknownError","message":"transient"}}' });
    const err = await rejects(a.disableUser.handler({ user: 'jdoe@contoso.example' }, ctx()), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.equal(err.vendorCode, 'UnknownError');
  });

  it('lost reply on revoke: RetryableError applied unknown (the revoke happened)', async () => {
    const before = sim.revokeCount('jdoe@contoso.example');
    sim.injectFault({ method: 'POST', pathPrefix: '/v1.0/users/', dropReply: true });
    const err = await rejects(a.revokeSessions.handler({ user: 'jdoe@contoso.example' }, ctx()), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.equal(sim.revokeCount('jdoe@contoso.example'), before + 1);
  });
});

describe('entra-id app: auth and secrets', () => {
  it('bad client secret: TerminalError with AADSTS message, no secret', async () => {
    const secret = 'definitely-wrong-secret';
    const err = await rejects(a.getUser.handler({ user: 'jdoe@contoso.example' }, { ...ctx(), config: { ...config, clientSecret: secret } }), TerminalError);
    assert.match(err.message, /AADSTS7000215/);
    assert.ok(!err.message.includes(secret));
    assert.equal(err.applied, 'no');
  });

  it('wrong tenant: TerminalError AADSTS90002', async () => {
    const err = await rejects(a.getUser.handler({ user: 'jdoe@contoso.example' }, { ...ctx(), config: { ...config, tenantId: 'other.example' } }), TerminalError);
    assert.match(err.message, /AADSTS90002/);
  });

  it('expired token: refreshed once, transparently', async () => {
    await getUser('jdoe@contoso.example');
    sim.expireTokens();
    assert.equal((await getUser('jdoe@contoso.example')).found, true);
    assert.deepEqual(sim.callsTo('GET', '/v1.0/users/').map((c) => c.status), [200, 401, 200]);
  });

  it('a token that stays invalid after refresh surfaces as TerminalError (no loop)', async () => {
    const body = '{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}';
    sim.injectFault({ method: 'GET', pathPrefix: '/v1.0/users/', status: 401, body, times: 2 });
    const err = await rejects(getUser('jdoe@contoso.example'), TerminalError);
    assert.equal(err.status, 401);
    assert.equal(sim.callsTo('GET', '/v1.0/users/').length, 2);
  });

  it('testConnectivity and no secret in recorded headers', async () => {
    assert.equal((await entraIdApp.testConnectivity!(ctx())).ok, true);
    await a.disableUser.handler({ user: 'bwong@contoso.example' }, ctx());
    await a.enableUser.handler({ user: 'bwong@contoso.example' }, ctx());
    for (const c of sim.calls) {
      assert.ok(!('authorization' in c.headers));
      assert.ok(!JSON.stringify(c.headers).includes(seed.clientSecret));
    }
  });
});
