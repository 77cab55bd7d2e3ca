import { join } from 'node:path';
import { loadSecretKey } from '../secrets.js';
import { SqliteStore } from './sqlite-store.js';

export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS, LATEST_VERSION, SchemaTooNewError, migrate, type Migration } from './migrations.js';
export { ConflictError, NotFoundError, ValidationError } from './common.js';

export const DB_FILE = 'riposte.db';

export type OpenSqliteStoreOptions =
  | { dataDir: string; env?: Record<string, string | undefined>; synchronous?: 'full' | 'normal'; onWarning?: (message: string) => void }
  | { path: string; secretKey: Buffer; synchronous?: 'full' | 'normal'; onWarning?: (message: string) => void };

const warnOpt = (o: { onWarning?: (message: string) => void }) => (o.onWarning ? { onWarning: o.onWarning } : {});

/**
 * Opens (and migrates) the store: either `<dataDir>/riposte.db` with the key from
 * RIPOSTE_SECRET_KEY or `<dataDir>/secret.key`, or an explicit path and key.
 */
export async function openSqliteStore(opts: OpenSqliteStoreOptions): Promise<SqliteStore> {
  const store = 'dataDir' in opts
    ? new SqliteStore({ path: join(opts.dataDir, DB_FILE), secretKey: loadSecretKey({ dataDir: opts.dataDir, env: opts.env ?? process.env }), synchronous: opts.synchronous, ...warnOpt(opts) })
    : new SqliteStore({ path: opts.path, secretKey: opts.secretKey, synchronous: opts.synchronous, ...warnOpt(opts) });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
