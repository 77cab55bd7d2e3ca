/**
 * Data files are owner-only whatever the umask (issue 13: "database files are created 0644"): the
 * data directory 0700 when Riposte creates it; the database, its -wal/-shm, the secret key, the
 * bootstrap credentials and run exports 0600; a database found looser is tightened with a warning.
 * The umask is opened wide (000) for each test, so a file created with the default mode would be
 * 0666 and fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { loadSecretKey } from '../../src/store/master-key.js';
import { ensureCredentials, credentialsPath } from '../../src/server/credentials.js';
import { writePrivateFileExclusive } from '../../src/store/file-modes.js';
import { tempDir } from '../support/temp-store.js';

const modeOf = (p: string) => statSync(p).mode & 0o777;

function withOpenUmask<T>(fn: () => Promise<T>): Promise<T> {
  const old = process.umask(0o000);
  return fn().finally(() => process.umask(old));
}

test('a new data directory is 0700 and the database, -wal, -shm, key and credentials are 0600', () => withOpenUmask(async () => {
  using tmp = tempDir('riposte-modes-');
  const dataDir = join(tmp.dir, 'data');
  const warnings: string[] = [];
  const store = await openSqliteStore({ dataDir, env: {}, onWarning: (m) => warnings.push(m) });
  try {
    await store.createApiToken({ name: 'someone', role: 'viewer', token: `tok-${randomBytes(8).toString('hex')}` }, 'test');
    await ensureCredentials(store, dataDir);
    assert.equal(modeOf(dataDir), 0o700, 'data directory');
    for (const f of ['riposte.db', 'riposte.db-wal', 'riposte.db-shm', 'secret.key', 'credentials.json']) {
      const p = join(dataDir, f);
      assert.ok(existsSync(p), `${f} exists`);
      assert.equal(modeOf(p).toString(8), '600', f);
    }
    assert.deepEqual(warnings, []);
  } finally {
    await store.close();
  }
}));

test('an existing database, -wal and -shm readable by others are tightened to 0600 with a warning', () => withOpenUmask(async () => {
  using tmp = tempDir('riposte-modes-');
  const path = join(tmp.dir, 'riposte.db');
  const key = randomBytes(32);
  const first = new SqliteStore({ path, secretKey: key });
  await first.migrate();
  // Keep -wal and -shm on disk: a second connection holds them open while the modes are loosened.
  const holder = new SqliteStore({ path, secretKey: key });
  await first.close();
  for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
  const warnings: string[] = [];
  const again = new SqliteStore({ path, secretKey: key, onWarning: (m) => warnings.push(m) });
  try {
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(modeOf(f).toString(8), '600', f);
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.match(warnings[0]!, /riposte\.db was readable by group or others \(mode 0644\); its mode is now 0600/);
  } finally {
    await again.close();
    await holder.close();
  }
}));

test('an export file is written 0600 and never over an existing file', () => withOpenUmask(async () => {
  using tmp = tempDir('riposte-modes-');
  const p = join(tmp.dir, 'run.json');
  writePrivateFileExclusive(p, '{}\n');
  assert.equal(modeOf(p).toString(8), '600');
  assert.throws(() => writePrivateFileExclusive(p, '{"again":1}\n'), /EEXIST/);
}));

test('the secret key file is created 0600 whatever the umask', () => withOpenUmask(async () => {
  using tmp = tempDir('riposte-modes-');
  loadSecretKey({ dataDir: tmp.dir, env: {} });
  assert.equal(modeOf(join(tmp.dir, 'secret.key')).toString(8), '600');
  assert.ok(!existsSync(credentialsPath(tmp.dir)));
}));
