import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_TOKEN_VALUES, TOKENS, assertError, assertNothingWritten, makeHarness, throwingStore, type Harness,
} from './harness.js';
import { MAX_ARTIFACTS, MAX_CEF_FIELDS } from '../../src/ingest/generic.js';

const URL = '/api/v1/incidents';

function incident(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Phone reached a C2 address',
    label: 'mobile-unauthorized-ip',
    severity: 'high',
    description: 'from the EDR',
    sourceId: 'edr-alert-1',
    tags: ['mobile'],
    artifacts: [{
      name: 'connection',
      cef: { destinationAddress: '203.0.113.9', suser: 'bob', deviceCustomId: 'abc' },
      contains: { deviceCustomId: ['device id'], suser: ['user name', 'email'] },
    }],
    ...overrides,
  };
}

describe('POST /api/v1/incidents (generic ingest)', () => {
  let h: Harness;
  beforeEach(async () => { h = await makeHarness(); });
  afterEach(async () => { await h.close(); });

  const post = (payload: unknown, token: string | null = TOKENS.ingest, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST', url: URL,
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('stores the incident with default and explicit contains types, answers 201 with the runs', async () => {
    const res = await post(incident());
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { incidentId: number; created: boolean; runs: string[] };
    assert.equal(body.created, true);
    assert.equal(body.runs.length, 1);
    assert.equal(h.waker.wakes, 1);
    const inc = await h.store.getIncident(body.incidentId);
    assert.ok(inc);
    assert.equal(inc.source, 'token:ingest');
    assert.equal(inc.sourceId, 'edr-alert-1');
    assert.deepEqual(inc.tags, ['mobile']);
    assert.equal(inc.description, 'from the EDR');
    // A field keeps the contains types its value passes: suser "bob" is a user name, not an e-mail.
    assert.deepEqual(inc.artifacts[0]?.contains, {
      destinationAddress: ['ip'], suser: ['user name'], deviceCustomId: ['device id'],
    });
    const audit = await h.store.listAudit({ after: 0, limit: 500 });
    assert.ok(audit.some((e) => e.actor === 'token:ingest'));
  });

  it('accepts admin, analyst and ingest API tokens and the token of a generic source', async () => {
    for (const [i, token] of [TOKENS.admin, TOKENS.analyst, TOKENS.ingest, TOKENS.generic].entries()) {
      const res = await post(incident({ sourceId: `id-${i}` }), token);
      assert.equal(res.statusCode, 201, res.body);
    }
    const sources = (await h.store.listIncidents({})).map((i) => i.source).sort();
    assert.deepEqual(sources, ['token:admin', 'token:analyst', 'token:ingest', 'webhook']);
  });

  it('dedupes on sourceId per sender: 200 created:false with repeatCount', async () => {
    const first = await post(incident());
    const second = await post(incident());
    assert.equal(second.statusCode, 200, second.body);
    assert.deepEqual(second.json(), { incidentId: (first.json() as { incidentId: number }).incidentId, created: false, repeatCount: 1 });
    const third = await post(incident());
    assert.equal((third.json() as { repeatCount: number }).repeatCount, 2);
    assert.equal((await h.store.listIncidents({})).length, 1);
    assert.equal((await h.store.listRuns({})).length, 1);
    // Another sender's sourceId namespace is its own.
    assert.equal((await post(incident(), TOKENS.generic)).statusCode, 201);
  });

  it('does not dedupe incidents without a sourceId', async () => {
    const { sourceId: _s, ...noId } = incident();
    assert.equal((await post(noId)).statusCode, 201);
    assert.equal((await post(noId)).statusCode, 201);
    assert.equal((await h.store.listIncidents({})).length, 2);
  });

  it('starts runs only for a label a playbook triggers on', async () => {
    const res = await post(incident({ label: 'phishing', sourceId: 'p-1' }));
    assert.equal(res.statusCode, 201);
    assert.deepEqual((res.json() as { runs: string[] }).runs, []);
    assert.equal(h.waker.wakes, 0);
    assert.equal((await h.store.listRuns({})).length, 0);
  });

  it('accepts the maximum sizes: 500 artifacts, 200 CEF fields', async () => {
    const cef = Object.fromEntries(Array.from({ length: MAX_CEF_FIELDS }, (_, i) => [`cs${i}`, 'v']));
    const artifacts = Array.from({ length: MAX_ARTIFACTS }, (_, i) => ({ name: `a${i}`, cef: i === 0 ? cef : { sourceAddress: `10.0.${i >> 8}.${i & 255}` } }));
    const res = await post(incident({ artifacts }));
    assert.equal(res.statusCode, 201, res.body);
    const inc = await h.store.getIncident((res.json() as { incidentId: number }).incidentId);
    assert.equal(inc?.artifacts.length, MAX_ARTIFACTS);
  });

  describe('refuses bad requests and writes nothing', () => {
    it('401 without, with a malformed or with an unknown bearer token', async () => {
      assertError(await post(incident(), null), 401, 'unauthorized');
      assertError(await post(incident(), null, { authorization: `Basic ${TOKENS.ingest}` }), 401, 'unauthorized');
      assertError(await post(incident(), null, { authorization: 'Bearer' }), 401, 'unauthorized');
      const res = await post(incident(), 'nope');
      assertError(res, 401, 'unauthorized');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      await assertNothingWritten(h);
    });
    it('403 for a viewer token and for a splunk source token', async () => {
      assertError(await post(incident(), TOKENS.viewer), 403, 'forbidden');
      assertError(await post(incident(), TOKENS.splunk), 403, 'forbidden');
      await assertNothingWritten(h);
    });
    it('400 invalid_json, 415 for text/plain, 413 over the limit', async () => {
      assertError(await post('{"name":'), 400, 'invalid_json');
      assertError(await post('[1,2'), 400, 'invalid_json');
      assertError(await post('{"__proto__":{"admin":true},"name":"x"}'), 400, 'invalid_json');
      assertError(await post(JSON.stringify(incident()), TOKENS.ingest, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      const huge = incident({ description: 'x'.repeat(1024 * 1024 + 10) });
      assertError(await post(huge), 413, 'body_too_large');
      await assertNothingWritten(h);
    });
    it('400 invalid_body naming each problem', async () => {
      const cases: Array<[Record<string, unknown>, string[]]> = [
        [incident({ artifacts: undefined }), ['artifacts']],
        [incident({ artifacts: [] }), ['artifacts']],
        [incident({ artifacts: Array.from({ length: MAX_ARTIFACTS + 1 }, () => ({ name: 'a', cef: {} })) }), ['artifacts']],
        [incident({ artifacts: [{ name: 'a', cef: Object.fromEntries(Array.from({ length: MAX_CEF_FIELDS + 1 }, (_, i) => [`k${i}`, 'v'])) }] }), ['artifacts[0].cef']],
        [incident({ artifacts: [{ name: 'a', cef: { sourceAddress: 10 } }] }), ['artifacts[0].cef.sourceAddress']],
        [incident({ artifacts: [{ name: 'a', cef: { 'bad key': 'v' } }] }), ['artifacts[0].cef["bad key"]']],
        [incident({ artifacts: [{ cef: {} }] }), ['artifacts[0].name']],
        [incident({ severity: 'urgent' }), ['severity']],
        [incident({ name: '' }), ['name']],
        [incident({ name: 'n'.repeat(501) }), ['name']],
        [incident({ label: undefined, severity: undefined }), ['label', 'severity']],
        [incident({ tags: 'mobile' }), ['tags']],
        [incident({ sevrity: 'high' }), ['sevrity']],
        [incident({ artifacts: [{ name: 'a', cef: {}, lable: 'x' }] }), ['artifacts[0].lable']],
      ];
      for (const [body, paths] of cases) {
        const e = assertError(await post(body), 400, 'invalid_body');
        assert.deepEqual(e.error.details?.map((d) => d.path), paths, JSON.stringify(e.error));
      }
      const e = assertError(await post(incident({ sevrity: 'high' })), 400, 'invalid_body');
      assert.match(e.error.message, /sevrity/, 'an unknown key is named');
      await assertNothingWritten(h);
    });
    it('405 for PUT on the collection', async () => {
      const res = await h.app.inject({ method: 'PUT', url: URL, headers: { authorization: `Bearer ${TOKENS.admin}` } });
      assertError(res, 405, 'method_not_allowed');
      assert.equal(res.headers['allow'], 'GET, HEAD, POST');
      await assertNothingWritten(h);
    });
  });

  it('never writes bearer tokens to the log', async () => {
    await post(incident());
    await post(incident(), 'bogus-token-value-999');
    await post('{x', TOKENS.admin);
    const log = h.logs.join('');
    for (const t of [...ALL_TOKEN_VALUES, 'bogus-token-value-999']) assert.ok(!log.includes(t), `token ${t} leaked into the log`);
  });
});

describe('POST /api/v1/incidents with a small body limit', () => {
  let h: Harness;
  before(async () => { h = await makeHarness({ bodyLimitBytes: 1024 }); });
  after(async () => { await h.close(); });

  it('honours bodyLimitBytes', async () => {
    const res = await h.app.inject({
      method: 'POST', url: URL, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.ingest}` },
      payload: JSON.stringify(incident({ description: 'd'.repeat(2000) })),
    });
    assertError(res, 413, 'body_too_large');
    await assertNothingWritten(h);
  });
});

describe('POST /api/v1/incidents when the store fails', () => {
  let h: Harness;
  before(async () => { h = await makeHarness({ wrapStore: throwingStore('ingest') }); });
  after(async () => { await h.close(); });

  it('answers a generic 500 without internals', async () => {
    const res = await h.app.inject({
      method: 'POST', url: URL, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.ingest}` },
      payload: JSON.stringify(incident()),
    });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: { code: 'internal', message: 'internal error' } });
    assert.doesNotMatch(res.body, /SQLITE|secret-path/);
    await assertNothingWritten(h);
  });
});
