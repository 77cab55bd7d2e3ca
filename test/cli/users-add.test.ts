/**
 * `riposte users add`: every option is checked before anything is written, and the user and its
 * API token are written together — a refused option leaves no user, no token and no audit entry.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { cli, removeDir, tempDir } from './fixture.js';

interface Snapshot { users: string[]; tokens: Array<{ name: string; role: string }>; audit: number }

describe('riposte users add', () => {
  let dir: string;
  before(async () => {
    dir = tempDir();
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    await store.close();
  });
  after(() => removeDir(dir));

  async function withStore<T>(fn: (s: SqliteStore) => Promise<T>): Promise<T> {
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    try { return await fn(store); } finally { await store.close(); }
  }
  const snapshot = () => withStore(async (s): Promise<Snapshot> => ({
    users: (await s.policyStore().listUsers()).map((u) => u.name),
    tokens: s.db.prepare('SELECT name, role FROM api_tokens ORDER BY id').all() as Snapshot['tokens'],
    audit: (await s.listAudit({ limit: 1000 })).length,
  }));

  const refusals: Array<{ what: string; args: string[]; error: RegExp }> = [
    { what: 'a token role that is not an API role', args: ['--token-role', 'superuser'],
      error: /^error: invalid API token role "superuser": use admin, analyst, ingest, viewer\n$/ },
    { what: 'an e-mail that is not an address', args: ['--email', 'mallory at contoso'],
      error: /^error: e-mail "mallory at contoso" of user "mallory" is not an address like name@example\.com\n$/ },
    { what: 'a role name with a space', args: ['--role', 'soc lead'],
      error: /^error: role "soc lead" of user "mallory" must be letters, digits, \. _ - \(max 64\), e\.g\. soc-lead\n$/,
    },
    { what: 'an empty role name', args: ['--role', 'analyst', '--role', ''],
      error: /^error: role "" of user "mallory" must be/ },
  ];
  for (const { what, args, error } of refusals) {
    it(`refuses ${what} and writes nothing`, async () => {
      const before = await snapshot();
      const r = cli(dir, 'users', 'add', 'mallory', '--email', 'mallory@contoso.example', ...args);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, error);
      assert.equal(r.stdout, '', 'no token was shown');
      assert.deepEqual(await snapshot(), before, 'no user, no token, no audit entry');
    });
  }

  it('refuses a user name with a control character, escaped in the message', async () => {
    const before = await snapshot();
    const r = cli(dir, 'users', 'add', 'eve\u001b[2J', '--token-role', 'viewer');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: user name "eve\\u001b[2J" must be letters, digits, . _ @ - (max 128)\n');
    assert.deepEqual(await snapshot(), before);
  });

  it('writes the user and its token, both audited, and the token works', async () => {
    const before = await snapshot();
    const r = cli(dir, 'users', 'add', 'carol', '--email', 'carol@contoso.example',
      '--role', 'soc-lead', '--role', 'analyst', '--token-role', 'viewer');
    assert.equal(r.code, 0, r.stderr);
    const token = /^user carol saved\. API token \(shown once\): (rpa_\S+)$/.exec(r.stdout.trim())?.[1];
    assert.ok(token, r.stdout);
    await withStore(async (s) => {
      const user = await s.policyStore().getUser('carol');
      assert.deepEqual({ ...user, createdAt: undefined }, {
        name: 'carol', email: 'carol@contoso.example', roles: ['analyst', 'soc-lead'], disabled: false,
        createdAt: undefined,
      });
      const rec = await s.findApiToken(token);
      assert.deepEqual([rec?.name, rec?.role], ['carol', 'viewer']);
      const added = (await s.listAudit({ limit: 1000 })).slice(before.audit);
      assert.deepEqual(added.map((a) => a.action), ['user.put', 'api_token.create']);
      assert.ok(added.every((a) => a.actor.startsWith('cli:')), 'audited as the CLI user');
      assert.equal((await s.verifyAudit()).ok, true);
    });
  });

  it('--no-token writes the user only', async () => {
    const before = await snapshot();
    const r = cli(dir, 'users', 'add', 'dave', '--no-token');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'user dave saved\n');
    const now = await snapshot();
    assert.deepEqual(now.tokens, before.tokens);
    assert.ok(now.users.includes('dave'));
    assert.equal(now.audit, before.audit + 1);
  });
});
