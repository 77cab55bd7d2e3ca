/**
 * `riposte tokens create|list|revoke` and `riposte users disable|enable`, run as a separate process
 * against a running server's data directory: a revocation or a disabled user is refused by that
 * server on the very next request (the CLI and the server share only the database file).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, startCliServer } from './fixture.js';
import { callApi } from '../support/server-http.js';
import type { RunningServer } from '../../src/server/server.js';
import { parseExpiry } from '../../src/cli/commands/tokens.js';

describe('riposte tokens and users disable against a running server', () => {
  let srv: { server: RunningServer; dataDir: string; stop(): Promise<void> };
  before(async () => { srv = await startCliServer(); });
  after(async () => { await srv.stop(); });
  const run = (...args: string[]) => cliAsync(srv.dataDir, {}, ...args);
  const issued = (stdout: string) => /API token \(shown once\): (rpa_\S+)$/.exec(stdout.trim())?.[1];

  it('issues a token with an expiry, lists it without the token, and revokes it: refused at once', async () => {
    const c = await run('tokens', 'create', 'erin', '--role', 'viewer', '--expires', '30d');
    assert.equal(c.code, 0, c.stderr);
    const token = issued(c.stdout);
    assert.ok(token, c.stdout);
    assert.match(c.stdout, /^token (\d+) issued to erin \(role viewer, expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\./);
    const id = /^token (\d+)/.exec(c.stdout)![1]!;
    assert.equal((await callApi(srv.server, 'GET', '/incidents', token)).status, 200);

    const l = await run('tokens', 'list', '--json');
    assert.equal(l.code, 0, l.stderr);
    assert.ok(!l.stdout.includes(token), 'the token is never listed');
    const rec = (JSON.parse(l.stdout) as Array<Record<string, unknown>>).find((t) => String(t.id) === id)!;
    assert.equal(rec.state, 'active');
    assert.ok(typeof rec.expiresAt === 'string' && Date.parse(rec.expiresAt) > Date.now() + 29 * 86_400_000);
    const table = await run('tokens', 'list');
    assert.match(table.stdout, /ID\s+NAME\s+ROLE\s+STATE\s+CREATED\s+EXPIRES\s+REVOKED\s+LAST USED/);

    const r = await run('tokens', 'revoke', id, '--reason', 'laptop stolen');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `token ${id} of erin (role viewer) revoked\n`);
    const refused = await callApi(srv.server, 'GET', '/incidents', token);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.message, 'this token was revoked');
    const again = await run('tokens', 'revoke', id);
    assert.equal(again.stdout, `${id}: already revoked, nothing to do\n`);

    const audit = (await srv.server.store.listAudit({ limit: 1000 })).filter((a) => a.target === `api_token:${id}`);
    assert.deepEqual(audit.map((a) => a.action), ['api_token.create', 'api_token.revoke']);
    assert.ok(audit.every((a) => a.actor.startsWith('cli:')));
    assert.equal((audit[1]!.detail as { reason: string }).reason, 'laptop stolen');
  });

  it('revokes every token of a user by name; an unknown name is an error', async () => {
    const a = issued((await run('tokens', 'create', 'frank', '--role', 'viewer')).stdout)!;
    const b = issued((await run('tokens', 'create', 'frank', '--role', 'analyst')).stdout)!;
    const r = await run('tokens', 'revoke', 'frank');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 2);
    for (const t of [a, b]) assert.equal((await callApi(srv.server, 'GET', '/incidents', t)).status, 401);
    const unknown = await run('tokens', 'revoke', 'nobody');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'error: no API token with id or name "nobody"\n');
  });

  it('refuses a bad --expires or name and issues nothing', async () => {
    const before = (await srv.server.store.listApiTokens()).length;
    for (const [args, error] of [
      [['--expires', 'soon'], /^error: --expires takes a duration \(90m, 12h, 30d, 4w\) or a date/],
      [['--expires', '2020-01-01'], /^error: --expires 2020-01-01 is not in the future\n$/],
      [['--role', 'root'], /^error: invalid API token role "root"/],
    ] as const) {
      const r = await run('tokens', 'create', 'gina', ...args);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, error);
      assert.equal(r.stdout, '');
    }
    const bad = await run('tokens', 'create', 'x\u001b[2J');
    assert.equal(bad.stderr, 'error: user name "x\\u001b[2J" must be letters, digits, . _ @ - (max 128)\n');
    assert.equal((await srv.server.store.listApiTokens()).length, before);
  });

  it('disables a user: their tokens are refused at once; users add does not enable them again', async () => {
    const added = await run('users', 'add', 'hank', '--token-role', 'analyst', '--token-expires', '12h');
    assert.equal(added.code, 0, added.stderr);
    const token = /\(shown once\): (rpa_\S+)/.exec(added.stdout)![1]!;
    assert.equal((await callApi(srv.server, 'GET', '/incidents', token)).status, 200);
    const d = await run('users', 'disable', 'hank');
    assert.equal(d.stdout, 'user hank disabled\n', d.stderr);
    const refused = await callApi(srv.server, 'GET', '/incidents', token);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'user_disabled');
    assert.equal((await run('users', 'add', 'hank', '--no-token', '--email', 'hank@contoso.example')).code, 0);
    assert.equal((await callApi(srv.server, 'GET', '/incidents', token)).status, 403, 'still disabled');
    assert.equal((await run('users', 'enable', 'hank')).stdout, 'user hank enabled\n');
    assert.equal((await callApi(srv.server, 'GET', '/incidents', token)).status, 200);
    const missing = await run('users', 'disable', 'nobody');
    assert.equal(missing.stderr, 'error: no user named "nobody" (see riposte users list)\n');
  });
});

describe('--expires', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it('takes durations and dates', () => {
    assert.equal(parseExpiry('90m', now), '2026-03-01T13:30:00.000Z');
    assert.equal(parseExpiry('30d', now), '2026-03-31T12:00:00.000Z');
    assert.equal(parseExpiry('2026-12-31', now), '2026-12-31T00:00:00.000Z');
    assert.equal(parseExpiry('2026-12-31T18:00:00+02:00', now), '2026-12-31T16:00:00.000Z');
    assert.throws(() => parseExpiry('1y', now), /--expires takes a duration/);
    assert.throws(() => parseExpiry('0m', now), /is not in the future/);
  });
});
