import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretDecryptError, SecretKeyError, decryptSecret, encryptSecret, keyIdOf } from '../../src/store/secrets.js';
import { loadSecretKey } from '../../src/store/master-key.js';
import { suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-secrets-');
const posix = process.platform !== 'win32';

test('encrypt/decrypt round trip with versioned format and a fresh IV each time', () => {
  const key = randomBytes(32);
  const a = encryptSecret('s3cr3t-válue', key);
  const b = encryptSecret('s3cr3t-válue', key);
  assert.match(a, /^v2:[0-9a-f]{16}:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/);
  assert.equal(a.split(':')[1], keyIdOf(key));
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a.split(':')[2]!, 'base64').length, 12);
  assert.equal(decryptSecret(a, key), 's3cr3t-válue');
  assert.equal(decryptSecret(b, key), 's3cr3t-válue');
  assert.ok(!a.includes('s3cr3t'));
  assert.equal(decryptSecret(encryptSecret('', key), key), '');
});

test('wrong key, wrong associated data and tampering fail with a clear error', () => {
  const key = randomBytes(32);
  const blob = encryptSecret('{"password":"hunter2"}', key, 'asset:a');
  assert.equal(decryptSecret(blob, key, 'asset:a'), '{"password":"hunter2"}');
  assert.throws(() => decryptSecret(blob, randomBytes(32), 'asset:a'), (e: unknown) =>
    e instanceof SecretDecryptError && /encrypted with master key [0-9a-f]{16}, not with the loaded key/.test(e.message));
  assert.throws(() => decryptSecret(blob, key, 'asset:b'), SecretDecryptError);
  const [v, kid, iv, tag, ct] = blob.split(':') as [string, string, string, string, string];
  const flip = (b64: string): string => { const b = Buffer.from(b64, 'base64'); b[0] = b[0]! ^ 1; return b.toString('base64'); };
  assert.throws(() => decryptSecret([v, kid, iv, tag, flip(ct)].join(':'), key, 'asset:a'), (e: unknown) =>
    e instanceof SecretDecryptError && /not the one it was encrypted with, or the stored data was tampered with/.test(e.message));
  assert.throws(() => decryptSecret([v, kid, iv, flip(tag), ct].join(':'), key, 'asset:a'), SecretDecryptError);
  assert.throws(() => decryptSecret([v, kid, flip(iv), tag, ct].join(':'), key, 'asset:a'), SecretDecryptError);
  assert.throws(() => decryptSecret(['v3', kid, iv, tag, ct].join(':'), key), /unsupported encrypted secret format/);
  assert.throws(() => decryptSecret(['v2', iv, tag, ct].join(':'), key), /unsupported encrypted secret format/);
  assert.throws(() => decryptSecret('garbage', key), /unsupported encrypted secret format/);
  assert.throws(() => encryptSecret('x', randomBytes(16)), SecretKeyError);
});

test('loadSecretKey reads RIPOSTE_SECRET_KEY as hex or base64', () => {
  const key = randomBytes(32);
  const dir = tmp.sub();
  assert.deepEqual(loadSecretKey({ dataDir: dir, env: { RIPOSTE_SECRET_KEY: key.toString('hex') } }), key);
  assert.deepEqual(loadSecretKey({ dataDir: dir, env: { RIPOSTE_SECRET_KEY: key.toString('base64') } }), key);
  assert.deepEqual(loadSecretKey({ dataDir: dir, env: { RIPOSTE_SECRET_KEY: key.toString('base64url') } }), key);
  assert.equal(existsSync(join(dir, 'secret.key')), false, 'no key file when the env var is set');
});

test('loadSecretKey rejects keys of the wrong length without echoing them', () => {
  const dir = tmp.sub();
  for (const bad of [randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), 'not a key!']) {
    assert.throws(() => loadSecretKey({ dataDir: dir, env: { RIPOSTE_SECRET_KEY: bad } }), (e: unknown) => {
      assert.ok(e instanceof SecretKeyError);
      assert.match(e.message, /RIPOSTE_SECRET_KEY.*(32 bytes|64 hex)/);
      assert.ok(!e.message.includes(bad), 'the key must not appear in the error');
      return true;
    });
  }
});

test('loadSecretKey creates <dataDir>/secret.key with mode 0600 once and reuses it', () => {
  const dir = tmp.sub();
  const k1 = loadSecretKey({ dataDir: dir, env: {} });
  assert.equal(k1.length, 32);
  const file = join(dir, 'secret.key');
  if (posix) assert.equal(statSync(file).mode & 0o777, 0o600);
  const k2 = loadSecretKey({ dataDir: dir, env: {} });
  assert.deepEqual(k2, k1);
  assert.deepEqual(readdirSync(dir), ['secret.key'], 'no temp files left behind');
  assert.deepEqual(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'), k1);
});

test('loadSecretKey refuses a key file readable by group or other', { skip: !posix }, () => {
  const dir = tmp.sub();
  loadSecretKey({ dataDir: dir, env: {} });
  const file = join(dir, 'secret.key');
  for (const mode of [0o644, 0o640, 0o604]) {
    chmodSync(file, mode);
    assert.throws(() => loadSecretKey({ dataDir: dir, env: {} }), (e: unknown) =>
      e instanceof SecretKeyError && e.message.includes(file) && /group\/other/.test(e.message) && /chmod 600/.test(e.message));
  }
  chmodSync(file, 0o600);
  assert.equal(loadSecretKey({ dataDir: dir, env: {} }).length, 32);
});

test('loadSecretKey rejects a corrupt key file', () => {
  const dir = tmp.sub();
  loadSecretKey({ dataDir: dir, env: {} });
  writeFileSync(join(dir, 'secret.key'), 'abcd\n', { mode: 0o600 });
  assert.throws(() => loadSecretKey({ dataDir: dir, env: {} }), /secret key file .*32 bytes/);
});
