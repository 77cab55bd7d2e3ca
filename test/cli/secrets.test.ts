import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { keyIdOf } from '../../src/store/secrets.js';
import { SERVER_PID_FILE } from '../../src/server/server-pid.js';
import { cliWithEnv } from './fixture.js';
import { suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-cli-secrets-');
const CANARY = 'cli-rotation-canary-';

/** A data directory with `n` assets, keyed by `<dir>/secret.key` (or by `env`'s source). */
async function dataDir(n: number, env: Record<string, string> = {}): Promise<string> {
  const dir = tmp.sub();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const s = await openSqliteStore({ dataDir: dir, env });
  for (let i = 0; i < n; i++) await s.putAsset({ name: `a${i}`, appId: 'x', config: {}, secrets: { token: `${CANARY}${i}` } }, 'test');
  await s.close();
  return dir;
}

const keyFile = (dir: string): Buffer => Buffer.from(readFileSync(join(dir, 'secret.key'), 'utf8').trim(), 'hex');

test('rotate-key killed part-way (SIGKILL after 2 rows) is finished by a rerun; the old key is refused afterwards', async () => {
  const dir = await dataDir(5);
  const oldKey = keyFile(dir);
  const killed = cliWithEnv(dir, { RIPOSTE_TEST_ROTATION_KILL_AFTER_ROWS: '2' }, 'secrets', 'rotate-key');
  assert.equal(killed.code, -1, `killed by its signal: ${killed.stderr}`);
  // The new key was written before any row changed; the key file still holds the old key.
  assert.ok(existsSync(join(dir, 'secret.key.next')));
  assert.deepEqual(keyFile(dir), oldKey);
  const status = cliWithEnv(dir, {}, 'secrets', 'status');
  assert.equal(status.code, 0, status.stderr);
  const mid = JSON.parse(status.stdout) as { currentKeyId: string; nextKeyId: string; secretsByKey: Record<string, number> };
  assert.equal(mid.currentKeyId, keyIdOf(oldKey));
  assert.equal(mid.secretsByKey[mid.nextKeyId], 2);
  assert.equal(mid.secretsByKey[keyIdOf(oldKey)], 3);
  // Commands (and the server) open the store during the rotation: they load the key file and its .next.
  const listed = cliWithEnv(dir, {}, 'assets', 'list');
  assert.equal(listed.code, 0, listed.stderr);

  const rerun = cliWithEnv(dir, {}, 'secrets', 'rotate-key');
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, /master key rotated: [0-9a-f]{16} → [0-9a-f]{16} \(resumed\)\nre-encrypted: assets 3/);
  assert.ok(!existsSync(join(dir, 'secret.key.next')));
  const newKey = keyFile(dir);
  assert.equal(keyIdOf(newKey), mid.nextKeyId);
  assert.ok(!(rerun.stdout + rerun.stderr + killed.stdout + killed.stderr).includes(newKey.toString('hex')));

  const s = await openSqliteStore({ dataDir: dir, env: {} });
  try {
    for (let i = 0; i < 5; i++) assert.deepEqual(await s.getAssetSecrets(`a${i}`), { token: `${CANARY}${i}` });
    assert.deepEqual(s.keyStatus().secretsByKey, { [keyIdOf(newKey)]: 5 });
  } finally {
    await s.close();
  }
  const refused = cliWithEnv(dir, { RIPOSTE_SECRET_KEY: oldKey.toString('hex') }, 'assets', 'list');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /master key [0-9a-f]{16} was retired by a key rotation .*use the current key/);
});

test('rotate-key refuses while a server runs on the data directory, and changes nothing', async () => {
  const dir = await dataDir(1);
  writeFileSync(join(dir, SERVER_PID_FILE), `${process.pid}\n`);
  const r = cliWithEnv(dir, {}, 'secrets', 'rotate-key');
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`a Riposte server \\(pid ${process.pid}\\) is running .*stop it first`));
  assert.ok(!existsSync(join(dir, 'secret.key.next')));
});

test('rotate-key with a key that is not the database\'s is refused before any key file is written', async () => {
  const dir = await dataDir(1);
  const foreign = join(dir, 'foreign.key');
  writeFileSync(foreign, randomBytes(32).toString('hex'), { mode: 0o600 });
  const r = cliWithEnv(dir, {}, '--key-file', foreign, 'secrets', 'rotate-key');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the master key \(id [0-9a-f]{16}\) is not this database's key/);
  assert.ok(!existsSync(`${foreign}.next`) && !existsSync(join(dir, 'secret.key.next')));
});

test('a key from the environment rotates to a key from a command; the operator then switches the source', async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const env = { RIPOSTE_SECRET_KEY: oldKey.toString('hex') };
  const dir = await dataDir(2, env);
  const noNew = cliWithEnv(dir, env, 'secrets', 'rotate-key');
  assert.equal(noNew.code, 1);
  assert.match(noNew.stderr, /comes from RIPOSTE_SECRET_KEY.*--new-key-file <path> or --new-key-command/);
  // Without a shell: a JSON array of arguments; its stdout is the key.
  const command = JSON.stringify([process.execPath, '-e', `process.stdout.write('${newKey.toString('hex')}\\n')`]);
  const r = cliWithEnv(dir, env, 'secrets', 'rotate-key', '--new-key-command', command);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`now switch RIPOSTE_SECRET_KEY to the new key \\(id ${keyIdOf(newKey)}`));
  assert.ok(!r.stdout.includes(newKey.toString('hex')));
  assert.equal(cliWithEnv(dir, env, 'assets', 'list').code, 1, 'the old key is refused');
  const ok = cliWithEnv(dir, { RIPOSTE_SECRET_KEY: newKey.toString('hex') }, 'assets', 'list');
  assert.equal(ok.code, 0, ok.stderr);
  // --key-command on the command line works the same for every command.
  const viaFlag = cliWithEnv(dir, {}, '--key-command', command, 'assets', 'list');
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
});
