import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOKENS, makeHarness, type Harness } from './harness.js';
import { CREDENTIAL_CACHE_MS } from '../../src/api/auth.js';

describe('credential cache of the API', () => {
  let h: Harness;
  let n = 0;
  beforeEach(async () => { h = await makeHarness(); });
  afterEach(async () => { await h.close(); });

  const postGeneric = (token: string) => h.app.inject({
    method: 'POST', url: '/api/v1/incidents',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    payload: JSON.stringify({ name: 'n', label: 'cache-test', severity: 'low', sourceId: `cache-${++n}`, artifacts: [{ name: 'a', cef: { suser: 'bob' } }] }),
  });
  const listWith = (token: string) => h.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: `Bearer ${token}` } });

  it('does not remember unknown tokens: a token created after a refused request works at once', async () => {
    const token = 'api-new-analyst-0123456789abcdef0123456789abcdef';
    assert.equal((await listWith(token)).statusCode, 401);
    await h.store.createApiToken({ name: 'late', role: 'analyst', token }, 'test');
    assert.equal((await listWith(token)).statusCode, 200);
  });

  it('remembers a source for a short time only: a source disabled in the database is refused after it', async () => {
    assert.equal((await postGeneric(TOKENS.generic)).statusCode, 201);
    h.store.db.prepare("UPDATE sources SET enabled = 0 WHERE name = 'webhook'").run();
    await sleep(CREDENTIAL_CACHE_MS + 50);
    const res = await postGeneric(TOKENS.generic);
    assert.equal(res.statusCode, 403, res.body);
    assert.equal((res.json() as { error: { code: string } }).error.code, 'source_disabled');
  });

  it('keeps the rules of each route for a cached token: a generic source token stays refused on the Splunk route', async () => {
    assert.equal((await postGeneric(TOKENS.generic)).statusCode, 201);
    const res = await h.app.inject({
      method: 'POST', url: `/api/v1/ingest/splunk?token=${TOKENS.generic}`, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ sid: 's1', search_name: null, app: 'a', owner: 'o', results_link: '', result: { user: 'bob' } }),
    });
    assert.equal(res.statusCode, 403, res.body);
    // An API token cached by a read stays refused where its role does not allow (viewer cannot ingest).
    assert.equal((await listWith(TOKENS.viewer)).statusCode, 200);
    assert.equal((await postGeneric(TOKENS.viewer)).statusCode, 403);
  });
});
