import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS, assertError, foundingAlert, makeHarness, throwingStore, type Harness } from './harness.js';

interface CaseJson { id: number; key: string; status: string; priority: string; labels: string[]; incidentId: number | null; resolvedAt: string | null; title: string }
interface CommentJson { id: number; author: string; text: string; marker: string | null }

describe('case routes', () => {
  let h: Harness;
  let incidentId = 0;

  const get = (url: string, token: string | null = TOKENS.viewer) =>
    h.app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const send = (method: 'POST' | 'PATCH', url: string, payload: unknown, token: string | null = TOKENS.analyst) =>
    h.app.inject({
      method, url, payload: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    });
  const auditCount = async () => (await h.store.verifyAudit()).entries;

  before(async () => {
    h = await makeHarness();
    const res = await h.app.inject({
      method: 'POST', url: `/api/v1/ingest/splunk?token=${TOKENS.splunk}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(foundingAlert()),
    });
    incidentId = (res.json() as { incidentId: number }).incidentId;
  });
  after(async () => { await h.close(); });

  it('POST /cases creates once per dedupeKey: 201 then 200 with the same case', async () => {
    const body = { dedupeKey: 'incident-1', incidentId, title: 'Phone of alice reached 203.0.113.66', description: 'Wiped.', priority: 'high', labels: ['mobile'] };
    const first = await send('POST', '/api/v1/cases', body);
    assert.equal(first.statusCode, 201, first.body);
    const c = (first.json() as { case: CaseJson; created: boolean });
    assert.equal(c.created, true);
    assert.equal(c.case.key, 'CASE-1');
    assert.equal(c.case.incidentId, incidentId);
    assert.equal(first.headers['location'], '/api/v1/cases/CASE-1');
    const n = await auditCount();
    const again = await send('POST', '/api/v1/cases', { ...body, title: 'other title' }, TOKENS.admin);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json(), { case: c.case, created: false });
    assert.equal(await auditCount(), n, 'a repeat writes nothing');
    const audit = (await h.store.listAudit({ limit: 500 })).find((e) => e.action === 'case.create');
    assert.equal(audit?.actor, 'token:analyst');
  });

  it('applies defaults and validates the body, naming fields', async () => {
    const res = await send('POST', '/api/v1/cases', { dedupeKey: 'minimal', title: 'Minimal' });
    assert.equal(res.statusCode, 201, res.body);
    const c = (res.json() as { case: CaseJson }).case;
    assert.deepEqual([c.priority, c.labels, c.incidentId], ['medium', [], null]);

    const bad = assertError(await send('POST', '/api/v1/cases', { title: '', priority: 'urgent', labels: 'x', extra: 1 }), 400, 'invalid_body');
    assert.deepEqual(bad.error.details?.map((d) => d.path).sort(), ['dedupeKey', 'extra', 'labels', 'priority', 'title']);
    const noInc = assertError(await send('POST', '/api/v1/cases', { dedupeKey: 'x', title: 't', incidentId: 999 }), 400, 'invalid_body');
    assert.deepEqual(noInc.error.details, [{ path: 'incidentId', code: 'not_found', message: 'incident 999 does not exist' }]);
    assert.equal(await h.store.getCase('CASE-3'), null, 'nothing was created');
  });

  it('needs a token; writing needs admin or analyst', async () => {
    assertError(await get('/api/v1/cases', null), 401, 'unauthorized');
    assertError(await get('/api/v1/cases', TOKENS.ingest), 403, 'forbidden');
    assertError(await send('POST', '/api/v1/cases', { dedupeKey: 'v', title: 't' }, TOKENS.viewer), 403, 'forbidden');
    assertError(await send('POST', '/api/v1/cases', { dedupeKey: 'v', title: 't' }, null), 401, 'unauthorized');
    assertError(await send('PATCH', '/api/v1/cases/CASE-1', { status: 'closed' }, TOKENS.ingest), 403, 'forbidden');
    assertError(await send('POST', '/api/v1/cases/CASE-1/comments', { text: 'x' }, 'nope'), 401, 'unauthorized');
  });

  it('GET /cases lists newest first with status filter and pagination', async () => {
    for (const k of ['p1', 'p2', 'p3']) await send('POST', '/api/v1/cases', { dedupeKey: k, title: k });
    let res = await get('/api/v1/cases?limit=2');
    const page = res.json() as { cases: CaseJson[]; nextBefore: number | null };
    assert.deepEqual(page.cases.map((c) => c.key), ['CASE-5', 'CASE-4']);
    assert.equal(page.nextBefore, 4);
    res = await get(`/api/v1/cases?limit=2&before=${page.nextBefore}`);
    assert.deepEqual((res.json() as { cases: CaseJson[] }).cases.map((c) => c.key), ['CASE-3', 'CASE-2']);
    res = await get('/api/v1/cases?status=resolved');
    assert.deepEqual((res.json() as { cases: CaseJson[] }).cases, []);
    assertError(await get('/api/v1/cases?status=done'), 400, 'invalid_query');
    assertError(await get('/api/v1/cases?limit=0'), 400, 'invalid_query');
  });

  it('GET /cases/:idOrKey finds by key or id; 404 and 400 otherwise', async () => {
    for (const ref of ['CASE-1', 'case-1', '1']) {
      const res = await get(`/api/v1/cases/${ref}`);
      assert.equal(res.statusCode, 200, ref);
      assert.equal((res.json() as { case: CaseJson }).case.key, 'CASE-1');
    }
    assert.equal(assertError(await get('/api/v1/cases/case-404'), 404, 'not_found').error.message, 'case CASE-404 does not exist');
    assertError(await get('/api/v1/cases/SEC-1'), 400, 'invalid_params');
  });

  it('comments are idempotent per marker and attributed to the token', async () => {
    const first = await send('POST', '/api/v1/cases/CASE-1/comments', { text: 'Device wiped.', marker: 'run-1:5' });
    assert.equal(first.statusCode, 201, first.body);
    const c1 = (first.json() as { comment: CommentJson }).comment;
    assert.equal(c1.author, 'token:analyst');
    const again = await send('POST', '/api/v1/cases/CASE-1/comments', { text: 'Device wiped.', marker: 'run-1:5' });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), { comment: c1, created: false });
    assert.equal((await send('POST', '/api/v1/cases/1/comments', { text: 'unmarked' })).statusCode, 201);
    const detail = (await get('/api/v1/cases/CASE-1')).json() as { case: CaseJson & { comments: CommentJson[] } };
    assert.deepEqual(detail.case.comments.map((c) => c.text), ['Device wiped.', 'unmarked']);
    assertError(await send('POST', '/api/v1/cases/CASE-99/comments', { text: 'x' }), 404, 'not_found');
    assertError(await send('POST', '/api/v1/cases/CASE-1/comments', { text: '   ' }), 400, 'invalid_body');
  });

  it('PATCH /cases/:idOrKey changes the status once; a repeat is a no-op', async () => {
    const res = await send('PATCH', '/api/v1/cases/CASE-1', { status: 'resolved' });
    assert.equal(res.statusCode, 200, res.body);
    const b = res.json() as { case: CaseJson; changed: boolean };
    assert.equal(b.changed, true);
    assert.equal(b.case.status, 'resolved');
    assert.ok(b.case.resolvedAt);
    const n = await auditCount();
    const again = (await send('PATCH', '/api/v1/cases/CASE-1', { status: 'resolved' })).json() as { case: CaseJson; changed: boolean };
    assert.equal(again.changed, false);
    assert.equal(again.case.resolvedAt, b.case.resolvedAt);
    assert.equal(await auditCount(), n);
    assertError(await send('PATCH', '/api/v1/cases/CASE-1', { status: 'done' }), 400, 'invalid_body');
    assertError(await send('PATCH', '/api/v1/cases/CASE-1', {}), 400, 'invalid_body');
    assertError(await send('PATCH', '/api/v1/cases/CASE-77', { status: 'open' }), 404, 'not_found');
    assertError(await h.app.inject({ method: 'DELETE', url: '/api/v1/cases/CASE-1', headers: { authorization: `Bearer ${TOKENS.admin}` } }), 405, 'method_not_allowed');
  });
});

describe('case routes when the store fails', () => {
  it('answer a generic 500 without internals', async () => {
    const h = await makeHarness({ wrapStore: throwingStore('createCase') });
    try {
      const res = await h.app.inject({
        method: 'POST', url: '/api/v1/cases', payload: JSON.stringify({ dedupeKey: 'k', title: 't' }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.admin}` },
      });
      assertError(res, 500, 'internal');
      assert.ok(!res.body.includes('SQLITE') && !res.body.includes('secret-path'));
    } finally {
      await h.close();
    }
  });
});
