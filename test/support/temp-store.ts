/**
 * Temporary folders and migrated SQLite stores for tests.
 *
 * Cleanup: `tempDir` is removed by `remove()` or at the end of a `using` block, `suiteTempDir` by
 * node:test's `after()` of the file or suite that calls it; `openTempStore` closes its store and
 * then removes its folder on `close()` or at the end of an `await using` block. Removal is forced
 * and ignores what is already gone, so a test that failed half-way still cleans up.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

export interface TempDir extends Disposable {
  /** The folder, created empty. */
  readonly dir: string;
  /** A new path inside `dir`, different on every call (not created: the caller or the store does). */
  sub(): string;
  remove(): void;
}

export function tempDir(prefix = 'riposte-test-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  return { dir, sub: () => join(dir, `t${n++}`), remove, [Symbol.dispose]: remove };
}

/** A `tempDir` removed after the tests of the file or suite it is called in. */
export function suiteTempDir(prefix?: string): TempDir {
  const tmp = tempDir(prefix);
  after(() => tmp.remove());
  return tmp;
}

/** A SQLite store at `path` with every migration applied; a random key unless one is given. */
export async function openStore(
  path: string,
  secretKey: Buffer = randomBytes(32),
  synchronous?: 'full' | 'normal',
): Promise<SqliteStore> {
  const store = new SqliteStore({ path, secretKey, synchronous });
  await store.migrate();
  return store;
}

export interface TempStore extends AsyncDisposable {
  /** The store's folder (the database is `riposte.db` in it); other files of the test may go here too. */
  readonly dir: string;
  readonly store: SqliteStore;
  /** Closes the store, then removes the folder. */
  close(): Promise<void>;
}

/** A migrated store in a new temporary folder. */
export async function openTempStore(prefix = 'riposte-test-', secretKey?: Buffer): Promise<TempStore> {
  const tmp = tempDir(prefix);
  let store: SqliteStore;
  try {
    store = await openStore(join(tmp.dir, 'riposte.db'), secretKey);
  } catch (err) {
    tmp.remove();
    throw err;
  }
  const close = async (): Promise<void> => {
    try {
      await store.close();
    } finally {
      tmp.remove();
    }
  };
  return { dir: tmp.dir, store, close, [Symbol.asyncDispose]: close };
}
