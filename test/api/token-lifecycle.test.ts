/**
 * Issue 13, "API tokens cannot be revoked; a user marked disabled still authenticates": a revoked
 * or expired token, and a token whose user account is disabled, are refused on the very next
 * request — also while the 1-second credential cache holds them, and also when the change comes
 * from another connection to the database (the CLI while the server runs). Every use is noted as
 * last-used, at most once a minute.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS, assertError, makeHarness, type Harness } from './harness.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

describe('API token lifecycle', () => {
  let h: Harness;
  let n = 0;
  beforeEach(async () => { h = await makeHarness(); });
  afterEach(async () => { await h.close(); });

  const list = (token: string) =>
    h.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: `Bearer ${token}` } });
  const ingest = (token: string) => h.app.inject({
    method: 'POST', url: '/api/v1/incidents',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    payload: JSON.stringify({ name: 'n', label: 'lc', severity: 'low', sourceId: `lc-${++n}`,
      artifacts: [{ name: 'a', cef: { suser: 'bob' } }] }),
  });

  it('refuses a revoked token on the next request, though the cache had just seen it', async () => {
    assert.equal((await list(TOKENS.analyst)).statusCode, 200);
    const revoked = await h.store.revokeApiTokens('analyst', 'cli:root', 'left the team');
    assert.deepEqual(revoked.map((t) => t.name), ['analyst']);
    const body = assertError(await list(TOKENS.analyst), 401, 'unauthorized');
    assert.equal(body.error.message, 'this token was revoked');
    assertError(await ingest(TOKENS.analyst), 401, 'unauthorized');
    const audit = (await h.store.listAudit({ limit: 1000 })).filter((a) => a.action === 'api_token.revoke');
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, 'cli:root');
    assert.deepEqual(audit[0]!.detail, { name: 'analyst', role: 'analyst', reason: 'left the team' });
    // Revoking again changes nothing and writes nothing.
    assert.deepEqual(await h.store.revokeApiTokens('analyst', 'cli:root'), []);
    assert.equal((await h.store.listAudit({ limit: 1000 })).filter((a) => a.action === 'api_token.revoke').length, 1);
  });

  it('refuses at once a token revoked through another connection to the database (the CLI)', async () => {
    assert.equal((await ingest(TOKENS.ingest)).statusCode, 201);
    const other = new SqliteStore({ path: h.store.db.name, secretKey: h.secretKey });
    try {
      const [rec] = await other.listApiTokens().then((all) => all.filter((t) => t.name === 'ingest'));
      await other.revokeApiTokens(String(rec!.id), 'cli:ops');
    } finally {
      await other.close();
    }
    assertError(await ingest(TOKENS.ingest), 401, 'unauthorized');
  });

  it('refuses at once every token of a user disabled, on read routes and on ingestion', async () => {
    await h.store.policyStore().putUser({ name: 'analyst', email: null, roles: [], disabled: false }, 'test');
    assert.equal((await list(TOKENS.analyst)).statusCode, 200);
    assert.equal((await ingest(TOKENS.analyst)).statusCode, 201);
    await h.store.policyStore().putUser({ name: 'analyst', email: null, roles: [], disabled: true }, 'test');
    assertError(await list(TOKENS.analyst), 403, 'user_disabled');
    assertError(await ingest(TOKENS.analyst), 403, 'user_disabled');
    await h.store.policyStore().putUser({ name: 'analyst', email: null, roles: [], disabled: false }, 'test');
    assert.equal((await list(TOKENS.analyst)).statusCode, 200, 'enabled again');
  });

  it('refuses an expired token and accepts one that has not expired yet; the expiry is audited', async () => {
    const soon = 'api-expiring-0123456789abcdef0123456789abcdef';
    const past = 'api-expired-0123456789abcdef0123456789abcdef0';
    await h.store.createApiToken({ name: 'temp', role: 'viewer', token: soon, expiresAt: new Date(Date.now() + 400).toISOString() }, 'test');
    await h.store.createApiToken({ name: 'old', role: 'viewer', token: past, expiresAt: '2020-01-01T00:00:00Z' }, 'test');
    assert.equal((await list(soon)).statusCode, 200);
    assert.equal(assertError(await list(past), 401, 'unauthorized').error.message, 'this token has expired');
    await new Promise((r) => setTimeout(r, 450));
    assertError(await list(soon), 401, 'unauthorized');
    const created = (await h.store.listAudit({ limit: 1000 })).find((a) => a.action === 'api_token.create'
      && (a.detail as { name: string }).name === 'old');
    assert.deepEqual(created?.detail, { name: 'old', role: 'viewer', expiresAt: '2020-01-01T00:00:00.000Z' });
  });

  it('refuses an expiry that is not an instant, writing nothing', async () => {
    await assert.rejects(
      h.store.createApiToken({ name: 'x', role: 'viewer', token: 'api-x-0123456789', expiresAt: 'tomorrow' }, 'test'),
      { name: 'ValidationError', message: 'expiry "tomorrow" of an API token is not an ISO-8601 instant' });
    assert.equal((await h.store.listApiTokens()).some((t) => t.name === 'x'), false);
  });

  it('notes the last use of a token at most once a minute, without bumping the credential generation', async () => {
    const before = await h.store.credentialGeneration();
    assert.equal((await list(TOKENS.viewer)).statusCode, 200);
    h.store.writes.flushNow();
    const first = (await h.store.listApiTokens()).find((t) => t.name === 'viewer')!.lastUsedAt;
    assert.ok(first && Date.now() - Date.parse(first) < 5000, `last used: ${first}`);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await list(TOKENS.viewer)).statusCode, 200);
    h.store.writes.flushNow();
    assert.equal((await h.store.listApiTokens()).find((t) => t.name === 'viewer')!.lastUsedAt, first, 'not rewritten');
    assert.equal(await h.store.credentialGeneration(), before);
    await h.store.revokeApiTokens('viewer', 'test');
    assert.ok((await h.store.credentialGeneration()) > before, 'a revocation bumps it');
  });

  it('stores tokens only as hashes', async () => {
    const rows = h.store.db.prepare('SELECT * FROM api_tokens').all() as Array<Record<string, unknown>>;
    const dump = JSON.stringify(rows);
    for (const t of [TOKENS.admin, TOKENS.analyst, TOKENS.viewer, TOKENS.ingest]) assert.ok(!dump.includes(t));
  });
});
