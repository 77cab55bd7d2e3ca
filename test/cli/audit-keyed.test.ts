/**
 * `riposte audit verify|rotate-key` on a real data directory: the keyring created 0600 outside the
 * database, what verify says it proves, truncation caught against the server's checkpoint file,
 * and a rotation that keeps old entries verifiable.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { loadAuditKeyring } from '../../src/store/audit-keyring.js';
import { AuditCheckpointer } from '../../src/audit/checkpointer.js';
import { auditConfig } from '../../src/audit/config.js';
import { cli, cliWithEnv } from './fixture.js';
import { suiteTempDir } from '../support/temp-store.js';
import { tamper } from '../support/audit-tamper.js';

const tmp = suiteTempDir('riposte-cli-audit-');

/** A data directory as the server leaves it: keyring, keyed entries, a checkpoint at #4, then #6. */
async function dataDir(): Promise<string> {
  const dir = tmp.sub();
  const store = await openSqliteStore({ dataDir: dir, env: {} });
  for (let i = 0; i < 4; i++) await store.appendAudit({ actor: 'alice', action: 'login', detail: { i } });
  await new AuditCheckpointer(store, loadAuditKeyring({ dataDir: dir, env: {} }), {
    file: auditConfig(dir, {}, {}).checkpointFile, everyEntries: 1, everyMs: 60_000,
  }).checkpoint();
  await store.appendAudit({ actor: 'bob', action: 'logout' });
  await store.close();
  return dir;
}

describe('riposte audit (keyed chain)', () => {
  after(() => tmp.remove());

  it('creates the keyring 0600 in the data directory, and verify says what it proves and what not', async () => {
    const dir = await dataDir();
    assert.equal(statSync(join(dir, 'audit.keyring')).mode & 0o777, 0o600);
    const r = cli(dir, 'audit', 'verify');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^audit chain OK: 6 entries$/m);
    assert.match(r.stdout, /#1–#6: HMAC-SHA-256 links \(keys k\d{8}-[0-9a-f]{6}\)/);
    assert.match(r.stdout, /checkpoints: 1 from .*audit-checkpoints\.jsonl; the newest covers #1–#4/);
    assert.match(r.stdout, /not detected: removal of entries after #4/);
    const none = cli(dir, 'audit', 'verify', '--checkpoint', join(dir, 'nope.jsonl'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no checkpoint file at .*nope\.jsonl/);
  });

  it('truncation before the checkpoint: BROKEN, exit 2, naming both ends', async () => {
    const dir = await dataDir();
    tamper(join(dir, 'riposte.db'), (db) => db.prepare('DELETE FROM audit_log WHERE id > 2').run());
    const r = cli(dir, 'audit', 'verify');
    assert.equal(r.code, 2);
    assert.match(r.stdout, /^audit chain BROKEN at entry #3: truncated: the chain ends at #2 but the checkpoint of \S+ covers up to #4$/m);
    const json = JSON.parse(cli(dir, 'audit', 'verify', '--json').stdout) as { ok: boolean; firstBadId: number };
    assert.deepEqual([json.ok, json.firstBadId], [false, 3]);
  });

  it('rotate-key adds a key, keeps the old one, audits the rotation with the new key; old entries still verify', async () => {
    const dir = await dataDir();
    const before = loadAuditKeyring({ dataDir: dir, env: {} }).current().id;
    const r = cli(dir, 'audit', 'rotate-key');
    assert.equal(r.code, 0, r.stderr);
    const ring = loadAuditKeyring({ dataDir: dir, env: {} });
    assert.equal(ring.ids().length, 2);
    assert.notEqual(ring.current().id, before);
    assert.match(r.stdout, new RegExp(`${before} → ${ring.current().id}`));
    assert.equal(statSync(join(dir, 'audit.keyring')).mode & 0o777, 0o600);
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    const last = (await store.listAudit({ after: 6 }))[0]!;
    await store.close();
    assert.deepEqual([last.action, last.keyId, last.detail], ['audit.rotate_key', ring.current().id, { from: before, to: ring.current().id }]);
    const v = cli(dir, 'audit', 'verify');
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /^audit chain OK: 7 entries$/m);
  });

  it('refuses a keyring readable by others, and a rotation with the key in RIPOSTE_AUDIT_KEY', async () => {
    const dir = await dataDir();
    chmodSync(join(dir, 'audit.keyring'), 0o644);
    const r = cli(dir, 'audit', 'verify');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /audit keyring .* is accessible by group\/other .*chmod 600/);
    const { keys } = JSON.parse(readFileSync(join(dir, 'audit.keyring'), 'utf8')) as { keys: { key: string }[] };
    assert.ok(!r.stderr.includes(keys[0]!.key), 'no key material in the error');
    chmodSync(join(dir, 'audit.keyring'), 0o600);
    const env = cliWithEnv(dir, { RIPOSTE_AUDIT_KEY: 'ab'.repeat(32) }, 'audit', 'rotate-key');
    assert.equal(env.code, 1);
    assert.match(env.stderr, /RIPOSTE_AUDIT_KEY holds a single key, which cannot be rotated/);
  });
});
