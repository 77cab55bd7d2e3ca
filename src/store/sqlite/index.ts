import { join } from 'node:path';
import { loadMasterKeys, type KeySourceOptions } from '../master-key.js';
import { loadAuditKeyring, type AuditKeyring } from '../audit-keyring.js';
import { SqliteStore } from './sqlite-store.js';

export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS, LATEST_VERSION, SchemaTooNewError, migrate, type Migration } from './migrations.js';
export { ConflictError, NotFoundError, ValidationError } from './common.js';

export const DB_FILE = 'riposte.db';

export type OpenSqliteStoreOptions =
  | (KeySourceOptions & { synchronous?: 'full' | 'normal'; create?: boolean; onWarning?: (message: string) => void })
  | { path: string; secretKey: Buffer; synchronous?: 'full' | 'normal'; onWarning?: (message: string) => void; auditKeys?: AuditKeyring };

const warnOpt = (o: { onWarning?: (message: string) => void }) => (o.onWarning ? { onWarning: o.onWarning } : {});

/**
 * Opens (and migrates) the store: either `<dataDir>/riposte.db` with the master key from its source
 * (master-key.ts; the default key file is created only with `create`) and the audit keyring (created on
 * first use, see audit-keyring.ts), or an explicit path and keys.
 */
export async function openSqliteStore(opts: OpenSqliteStoreOptions): Promise<SqliteStore> {
  let store: SqliteStore;
  if ('dataDir' in opts) {
    const keys = loadMasterKeys({ ...opts, create: opts.create ?? true });
    store = new SqliteStore({ path: join(opts.dataDir, DB_FILE), secretKey: keys.current, nextKey: keys.next, synchronous: opts.synchronous, ...warnOpt(opts),
      auditKeys: loadAuditKeyring({ dataDir: opts.dataDir, env: opts.env ?? process.env }) });
  } else {
    store = new SqliteStore({ path: opts.path, secretKey: opts.secretKey, synchronous: opts.synchronous, ...warnOpt(opts), auditKeys: opts.auditKeys });
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
