import { join } from 'node:path';
import { loadSecretKey } from '../secrets.js';
import { loadAuditKeyring, type AuditKeyring } from '../audit-keyring.js';
import { SqliteStore } from './sqlite-store.js';

export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS, LATEST_VERSION, SchemaTooNewError, migrate, type Migration } from './migrations.js';
export { ConflictError, NotFoundError, ValidationError } from './common.js';

export const DB_FILE = 'riposte.db';

export type OpenSqliteStoreOptions =
  | { dataDir: string; env?: Record<string, string | undefined>; synchronous?: 'full' | 'normal' }
  | { path: string; secretKey: Buffer; synchronous?: 'full' | 'normal'; auditKeys?: AuditKeyring };

/**
 * Opens (and migrates) the store: either `<dataDir>/riposte.db` with the key from
 * RIPOSTE_SECRET_KEY or `<dataDir>/secret.key` and the audit keyring (created on first use, see
 * audit-keyring.ts), or an explicit path and keys.
 */
export async function openSqliteStore(opts: OpenSqliteStoreOptions): Promise<SqliteStore> {
  const store = 'dataDir' in opts
    ? new SqliteStore({
      path: join(opts.dataDir, DB_FILE), synchronous: opts.synchronous,
      secretKey: loadSecretKey({ dataDir: opts.dataDir, env: opts.env ?? process.env }),
      auditKeys: loadAuditKeyring({ dataDir: opts.dataDir, env: opts.env ?? process.env }),
    })
    : new SqliteStore({ path: opts.path, secretKey: opts.secretKey, synchronous: opts.synchronous, auditKeys: opts.auditKeys });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
