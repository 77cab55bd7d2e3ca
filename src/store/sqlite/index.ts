import { join } from 'node:path';
import { loadMasterKeys, type KeySourceOptions } from '../master-key.js';
import { SqliteStore } from './sqlite-store.js';

export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS, LATEST_VERSION, SchemaTooNewError, migrate, type Migration } from './migrations.js';
export { ConflictError, NotFoundError, ValidationError } from './common.js';

export const DB_FILE = 'riposte.db';

export type OpenSqliteStoreOptions =
  | (KeySourceOptions & { synchronous?: 'full' | 'normal'; create?: boolean; onWarning?: (message: string) => void })
  | { path: string; secretKey: Buffer; synchronous?: 'full' | 'normal'; onWarning?: (message: string) => void };

const warnOpt = (o: { onWarning?: (message: string) => void }) => (o.onWarning ? { onWarning: o.onWarning } : {});

/**
 * Opens (and migrates) the store: either `<dataDir>/riposte.db` with the master key from its source
 * (master-key.ts; the default key file is created only with `create`), or an explicit path and key.
 */
export async function openSqliteStore(opts: OpenSqliteStoreOptions): Promise<SqliteStore> {
  let store: SqliteStore;
  if ('dataDir' in opts) {
    const keys = loadMasterKeys({ ...opts, create: opts.create ?? true });
    store = new SqliteStore({ path: join(opts.dataDir, DB_FILE), secretKey: keys.current, nextKey: keys.next, synchronous: opts.synchronous, ...warnOpt(opts) });
  } else {
    store = new SqliteStore({ path: opts.path, secretKey: opts.secretKey, synchronous: opts.synchronous, ...warnOpt(opts) });
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
