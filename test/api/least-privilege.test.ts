/**
 * Least privilege beyond the route table (issue 13): over-broad list entries need lists.admin,
 * per-list editors, ad-hoc actions that send data out need adhoc.run-egress, and the audit log
 * is redacted for callers without audit.read-full.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { makeHarness, TOKENS, type Harness } from './harness.js';
import { createHitl } from '../../src/policy/hitl.js';
import { registerHitlRoutes } from '../../src/api/routes/hitl.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { firstPartyCatalog } from '../../src/apps/catalog.js';
import adhocPlaybook from '../../src/engine/adhoc-playbook.js';

type Role = 'admin' | 'analyst' | 'viewer';

let h: Harness;
const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload: unknown, role: Role): Promise<LightMyRequestResponse> =>
  h.app.inject({
    method, url, payload: JSON.stringify(payload),
    headers: { authorization: `Bearer ${TOKENS[role]}`, 'content-type': 'application/json' },
  });
const get = (url: string, role: Role) => h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKENS[role]}` } });
const errorOf = (res: LightMyRequestResponse) => (res.json() as { error: { code: string; message: string } }).error;

before(async () => {
  h = await makeHarness({
    extraRoutes: (app, store) => {
      const hitl = createHitl({ policy: store.policyStore(), secretKey: randomBytes(32), wake: () => {} });
      registerHitlRoutes(app, {
        store, hitl, registry: new PlaybookRegistry([adhocPlaybook]), catalog: firstPartyCatalog(), wake: () => {},
      });
    },
  });
  await h.store.createList('allowed-destinations', 'access list', 'test');
});
after(async () => { await h?.close(); });

describe('allow-list guard: over-broad entries need lists.admin', () => {
  const url = '/api/v1/lists/allowed-destinations/items';

  it('an analyst cannot add 0.0.0.0/0 (every later alert would close as benign); nothing is added', async () => {
    const res = await send('POST', url, { items: ['198.51.100.7', '0.0.0.0/0'] }, 'analyst');
    assert.equal(res.statusCode, 403);
    const e = errorOf(res);
    assert.equal(e.code, 'broad_entry');
    assert.match(e.message, /"0\.0\.0\.0\/0" is over-broad \(it covers every IPv4 address\).*lists\.admin/);
    assert.deepEqual(await h.store.getListItems('allowed-destinations'), []);
  });

  for (const item of ['::/0', '10.0.0.0/4', '::ffff:0:0/96', '2001::/16', '*', '*.com']) {
    it(`an analyst cannot add ${item}`, async () => {
      const res = await send('POST', url, { items: [item] }, 'analyst');
      assert.equal(res.statusCode, 403, item);
      assert.equal(errorOf(res).code, 'broad_entry');
      assert.ok(errorOf(res).message.includes(`"${item}"`));
    });
  }

  it('an analyst may add specific entries; an admin may add 0.0.0.0/0', async () => {
    let res = await send('POST', url, { items: ['10.0.0.0/8', '203.0.113.0/24', '2001:db8::/32', '*.example.com'] }, 'analyst');
    assert.equal(res.statusCode, 200, res.body);
    res = await send('POST', url, { items: ['0.0.0.0/0'] }, 'admin');
    assert.equal(res.statusCode, 200, res.body);
    assert.ok((await h.store.getListItems('allowed-destinations'))!.includes('0.0.0.0/0'));
  });

  it('the threshold is the operator\'s: with /16 as the shortest, an analyst\'s /12 is refused', async () => {
    await h.store.policyStore().putSetting('lists.guard', { minIpv4Prefix: 16, minIpv6Prefix: 32 }, 'test', 'lists.guard');
    try {
      const res = await send('POST', url, { items: ['172.16.0.0/12'] }, 'analyst');
      assert.equal(res.statusCode, 403);
      assert.match(errorOf(res).message, /shorter than \/16/);
    } finally {
      await h.store.policyStore().putSetting('lists.guard', null, 'test', 'lists.guard');
    }
  });
});

describe('per-list editors', () => {
  it('only an admin names editors; then only they (and lists.admin) edit the list', async () => {
    await h.store.createList('vip-users', null, 'test');
    let res = await send('PUT', '/api/v1/lists/vip-users/editors', { users: ['alice'] }, 'analyst');
    assert.equal(res.statusCode, 403);
    res = await send('POST', '/api/v1/lists/vip-users/items', { items: ['ceo'] }, 'analyst');
    assert.equal(res.statusCode, 200, 'without editors of its own, lists.edit suffices');

    res = await send('PUT', '/api/v1/lists/vip-users/editors', { users: ['alice'], roles: ['soc-lead'] }, 'admin');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { name: 'vip-users', editors: { users: ['alice'], roles: ['soc-lead'] }, restricted: true });
    res = await send('POST', '/api/v1/lists/vip-users/items', { items: ['cfo'] }, 'analyst');
    assert.equal(res.statusCode, 403);
    assert.equal(errorOf(res).code, 'not_list_editor');
    res = await send('DELETE', '/api/v1/lists/vip-users/items', { items: ['ceo'] }, 'analyst');
    assert.equal(res.statusCode, 403);
    assert.deepEqual(await h.store.getListItems('vip-users'), ['ceo']);

    // The analyst's user account gets the editors' role: allowed again.
    await h.store.policyStore().putUser({ name: 'analyst', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    res = await send('POST', '/api/v1/lists/vip-users/items', { items: ['cfo'] }, 'analyst');
    assert.equal(res.statusCode, 200, res.body);
    res = await send('POST', '/api/v1/lists/vip-users/items', { items: ['cto'] }, 'admin');
    assert.equal(res.statusCode, 200);
    assert.equal((await get('/api/v1/lists/vip-users/editors', 'viewer')).statusCode, 200);
    const audit = await h.store.listAudit({ after: 0, limit: 500 });
    assert.ok(audit.some((e) => e.action === 'list.editors' && e.target === 'setting:list.editors:vip-users'));
  });
});

describe('ad-hoc actions that send data out need adhoc.run-egress', () => {
  let incidentId: number;
  before(async () => {
    await h.store.putAsset({ name: 'mail', appId: 'smtp-email', config: {}, secrets: {} }, 'test');
    await h.store.putAsset({ name: 'chat', appId: 'slack-webhook', config: {}, secrets: {} }, 'test');
    await h.store.putAsset({ name: 'siem', appId: 'splunk', config: {}, secrets: {} }, 'test');
    await h.store.putAsset({ name: 'mdm', appId: 'microsoft-intune', config: {}, secrets: {} }, 'test');
    const { incident } = await h.store.ingest({
      name: 'test', label: 'test', severity: 'low', source: 'test', artifacts: [],
    }, [], 'test');
    incidentId = incident.id;
  });

  const cases = [
    ['mail', 'sendEmail', { to: ['anyone@elsewhere.example'], subject: 'x', text: 'incident data' }],
    ['chat', 'postMessage', { text: 'incident data' }],
    ['siem', 'runSearch', { search: 'search index=* | head 1' }],
    ['siem', 'sendEvent', { event: {} }],
  ] as const;
  for (const [asset, action, params] of cases) {
    it(`an analyst is refused ${asset}.${action} ad hoc and nothing runs`, async () => {
      const before = (await h.store.listRuns({ incidentId })).length;
      const res = await send('POST', '/api/v1/actions', { incidentId, asset, action, params }, 'analyst');
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(errorOf(res).code, 'egress_not_permitted');
      assert.match(errorOf(res).message, /adhoc\.run-egress/);
      assert.equal((await h.store.listRuns({ incidentId })).length, before);
    });
  }

  it('an analyst may still run an action that sends nothing out; an admin may send e-mail', async () => {
    let res = await send('POST', '/api/v1/actions', { incidentId, asset: 'mdm', action: 'getDevice', params: { deviceId: 'd1' } }, 'analyst');
    assert.equal(res.statusCode, 202, res.body);
    res = await send('POST', '/api/v1/actions', { incidentId, asset: 'mail', action: 'sendEmail', params: {} }, 'admin');
    assert.equal(res.statusCode, 202, res.body);
  });

  it('every first-party action of a chat, e-mail, SIEM search/event or HTTP app is marked egress', () => {
    const catalog = firstPartyCatalog();
    const expected: Array<[string, string]> = [
      ['smtp-email', 'sendEmail'], ['smtp-email', 'sendMessage'], ['slack-webhook', 'postMessage'],
      ['slack-webhook', 'sendMessage'], ['splunk', 'runSearch'], ['splunk', 'sendEvent'],
    ];
    for (const [app, action] of expected) assert.equal(catalog.action(app, action)?.egress, true, `${app}.${action}`);
    assert.notEqual(catalog.action('microsoft-intune', 'wipeDevice')?.egress, true);
  });
});

describe('audit log: redacted for viewers and analysts, full with audit.read-full', () => {
  before(async () => {
    await h.store.policyStore().putUser({ name: 'bob', email: 'bob.secret@contoso.example', roles: ['soc-lead'], disabled: false }, 'user:carol@contoso.example');
    await h.store.createCase({ dedupeKey: 'k1', title: 'Phone of Jane Doe wiped', description: '', priority: 'high', labels: [] }, 'token:admin');
  });

  it('a viewer sees who did what, not e-mail addresses, user names in detail or free text', async () => {
    const res = await get('/api/v1/audit?limit=500', 'viewer');
    assert.equal(res.statusCode, 200);
    const body = res.json() as { redacted: boolean; entries: Array<Record<string, unknown>> };
    assert.equal(body.redacted, true);
    assert.ok(!res.body.includes('bob.secret@contoso.example'), 'e-mail address in detail');
    assert.ok(!res.body.includes('carol@contoso.example'), 'e-mail address as actor');
    assert.ok(!res.body.includes('Jane Doe'), 'free text');
    const user = body.entries.find((e) => e.action === 'user.put' && e.target === 'user:bob')!;
    assert.ok(user, 'the user change is still listed');
    assert.match(String(user.actor), /^user:email:[0-9a-f]{8}$/);
    assert.deepEqual(user.detail, { email: '[redacted]', roles: ['soc-lead'], disabled: false });
    assert.ok(body.entries.every((e) => !('hash' in e) && !('prevHash' in e)));
    const created = body.entries.find((e) => e.action === 'case.create');
    assert.equal(created?.actor, 'token:admin');
  });

  it('an analyst gets the redacted view too; an admin the entries as stored', async () => {
    const analyst = await get('/api/v1/audit?limit=500', 'analyst');
    assert.ok(!analyst.body.includes('bob.secret@contoso.example'));
    const admin = await get('/api/v1/audit?limit=500', 'admin');
    assert.equal((admin.json() as { redacted: boolean }).redacted, false);
    assert.ok(admin.body.includes('bob.secret@contoso.example'));
    assert.ok(admin.body.includes('Jane Doe'));
  });
});
