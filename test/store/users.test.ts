/**
 * `Store.putUserWithToken`: a person and their API token in one transaction. Validation runs
 * before anything is written, and a failure inside the transaction (a token that already exists)
 * undoes the user and its audit entry too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConflictError, ValidationError } from '../../src/store/sqlite/index.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');

const user = (over: Record<string, unknown> = {}) =>
  ({ name: 'carol', email: 'carol@contoso.example', roles: ['soc-lead'], disabled: false, ...over });

async function state(s: SqliteStore) {
  return {
    users: (await s.policyStore().listUsers()).map((u) => u.name),
    tokens: (s.db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get() as { n: number }).n,
    audit: (await s.listAudit({ limit: 1000 })).length,
  };
}

test('putUserWithToken writes the user and the token, each audited, in one go', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  try {
    const carol = { role: 'analyst' as const, token: 'rpa_carol_0123456789' };
    const { user: u, token } = await s.putUserWithToken(user(), carol, 'cli:root');
    assert.deepEqual([u.name, u.email, u.roles], ['carol', 'carol@contoso.example', ['soc-lead']]);
    assert.deepEqual([token?.name, token?.role], ['carol', 'analyst']);
    assert.equal((await s.findApiToken('rpa_carol_0123456789'))?.name, 'carol');
    const audit = await s.listAudit({ limit: 10 });
    assert.deepEqual(audit.map((a) => [a.actor, a.action]),
      [['cli:root', 'user.put'], ['cli:root', 'api_token.create']]);
    const none = await s.putUserWithToken(user({ name: 'dave', email: null, roles: [] }), null, 'cli:root');
    assert.equal(none.token, null);
    assert.deepEqual(await state(s), { users: ['carol', 'dave'], tokens: 1, audit: 3 });
  } finally { await s.close(); }
});

test('putUserWithToken validates every field before writing anything', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  try {
    const token = { role: 'analyst' as const, token: 'rpa_x_0123456789' };
    type Case = [Parameters<SqliteStore['putUserWithToken']>[0], typeof token | { role: never; token: string }, RegExp];
    const cases: Case[] = [
      [user({ name: 'a b' }), token, /user name "a b" must be/],
      [user({ email: 'carol' }), token, /e-mail "carol" of user "carol" is not an address/],
      [user({ email: 'carol@contoso.example\n' }), token, /is not an address/],
      [user({ roles: ['soc-lead', 'x/y'] }), token, /role "x\/y" of user "carol" must be/],
      [user(), { role: 'superuser' as never, token: 'rpa_y_0123456789' }, /invalid API token role "superuser"/],
      [user(), { role: 'viewer' as never, token: '' }, /token must be a non-empty string/],
    ];
    for (const [u, t, message] of cases) {
      await assert.rejects(s.putUserWithToken(u, t, 'cli:root'),
        (err: unknown) => err instanceof ValidationError && message.test(err.message));
    }
    assert.deepEqual(await state(s), { users: [], tokens: 0, audit: 0 });
  } finally { await s.close(); }
});

test('a token that fails inside the transaction takes the user back out', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  try {
    await s.createApiToken({ name: 'admin', role: 'admin', token: 'rpa_taken_0123456789' }, 'system');
    const before = await state(s);
    const taken = { role: 'viewer' as const, token: 'rpa_taken_0123456789' };
    await assert.rejects(s.putUserWithToken(user(), taken, 'cli:root'), ConflictError);
    assert.deepEqual(await state(s), before, 'no user carol, no second token, no audit entry');
    assert.equal((await s.verifyAudit()).ok, true);
  } finally { await s.close(); }
});
