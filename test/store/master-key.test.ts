import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretKeyError } from '../../src/store/secrets.js';
import { keySourceOf, loadMasterKeys, parseKeyCommand } from '../../src/store/master-key.js';
import { suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-master-key-');
const posix = process.platform !== 'win32';
const node = (code: string): string => JSON.stringify([process.execPath, '-e', code]);

function keyFileWith(key: Buffer, mode = 0o600): string {
  const path = join(tmp.dir, `k-${randomBytes(4).toString('hex')}`);
  writeFileSync(path, key.toString('hex'), { mode });
  return path;
}

const refused = (fn: () => unknown, re: RegExp, secret?: string): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SecretKeyError, String(e));
    assert.match(e.message, re);
    if (secret !== undefined) assert.ok(!e.message.includes(secret), 'the key is not in the message');
    return true;
  });
};

test('a key command runs without a shell and its stdout is the key', () => {
  const key = randomBytes(32);
  const loaded = loadMasterKeys({ dataDir: tmp.dir, env: {}, keyCommand: node(`process.stdout.write('${key.toString('base64')}')`) });
  assert.deepEqual(loaded.current, key);
  assert.equal(loaded.source.kind, 'command');
  // Plain words are split on spaces; shell syntax is refused, never interpreted.
  assert.deepEqual(parseKeyCommand('vault kv get -field=key secret/riposte', 'x'), ['vault', 'kv', 'get', '-field=key', 'secret/riposte']);
  for (const bad of ['cat key | tr -d x', 'echo $KEY', "sh -c 'cat k'", 'cat k > /tmp/x', 'a; b']) {
    refused(() => parseKeyCommand(bad, '--key-command'), /run without a shell.*JSON array/);
  }
  refused(() => parseKeyCommand('["a", 1]', '--key-command'), /array of non-empty strings/);
});

test('a failing key command gives a clear error with its stderr, never its stdout', () => {
  const key = randomBytes(32).toString('hex');
  const cmd = node(`process.stdout.write('${key}'); process.stderr.write('vault is sealed\\n'); process.exit(3)`);
  refused(() => loadMasterKeys({ dataDir: tmp.dir, env: {}, keyCommand: cmd }),
    /^--key-command: key command node(\.exe)? exit code 3: vault is sealed$/, key);
  refused(() => loadMasterKeys({ dataDir: tmp.dir, env: {}, keyCommand: 'riposte-no-such-kms-client get' }),
    /key command riposte-no-such-kms-client command not found/);
  refused(() => loadMasterKeys({ dataDir: tmp.dir, env: {}, keyCommand: node("process.stdout.write('too-short')") }),
    /--key-command \(output of node(\.exe)?\): key decodes to 6 bytes; it must be 32 bytes/, 'too-short');
  // The environment variable is the same source.
  const viaEnv = keySourceOf({ dataDir: tmp.dir, env: { RIPOSTE_SECRET_KEY_COMMAND: 'kms get' } });
  assert.deepEqual(viaEnv, { kind: 'command', argv: ['kms', 'get'], origin: 'RIPOSTE_SECRET_KEY_COMMAND' });
});

test('a key file: read when private, refused when readable by others or missing (never created)', { skip: !posix }, () => {
  const key = randomBytes(32);
  assert.deepEqual(loadMasterKeys({ dataDir: tmp.dir, env: {}, keyFile: keyFileWith(key) }).current, key);
  assert.deepEqual(loadMasterKeys({ dataDir: tmp.dir, env: { RIPOSTE_SECRET_KEY_FILE: keyFileWith(key) } }).current, key);
  refused(() => loadMasterKeys({ dataDir: tmp.dir, env: {}, keyFile: keyFileWith(key, 0o644) }), /accessible by group\/other.*chmod 600/);
  const missing = join(tmp.dir, 'nope.key');
  refused(() => loadMasterKeys({ dataDir: tmp.dir, env: {}, keyFile: missing, create: true }), /--key-file .*nope\.key: no such file/);
});

test('precedence: a flag beats its environment variable; two kinds of source at once are refused', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const fromFlag = loadMasterKeys({ dataDir: tmp.dir, env: { RIPOSTE_SECRET_KEY_FILE: keyFileWith(a) }, keyFile: keyFileWith(b) });
  assert.deepEqual(fromFlag.current, b);
  refused(() => keySourceOf({ dataDir: tmp.dir, env: { RIPOSTE_SECRET_KEY: a.toString('hex'), RIPOSTE_SECRET_KEY_FILE: '/k' } }),
    /more than one source \(RIPOSTE_SECRET_KEY_FILE, RIPOSTE_SECRET_KEY\): set only one/, a.toString('hex'));
  refused(() => keySourceOf({ dataDir: tmp.dir, env: { RIPOSTE_SECRET_KEY: a.toString('hex') }, keyCommand: 'kms get' }),
    /more than one source \(--key-command, RIPOSTE_SECRET_KEY\)/);
  assert.deepEqual(keySourceOf({ dataDir: tmp.dir, env: { RIPOSTE_SECRET_KEY: ' ' } }),
    { kind: 'file', path: join(tmp.dir, 'secret.key'), origin: `secret key file ${join(tmp.dir, 'secret.key')}`, isDefault: true });
});
