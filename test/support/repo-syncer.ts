/**
 * A repository syncer as the server builds one (src/repos/sync.ts), for the repository tests: a
 * migrated store at `<dir>/riposte.db`, a real sandbox, Git mirrors under `<dir>/mirrors`.
 * `close()` closes the sandbox and the store; the folder is the caller's to remove.
 */
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { RepoSyncer } from '../../src/repos/sync.js';
import { openStore } from './temp-store.js';

export interface RepoSyncerFixture {
  readonly store: SqliteStore;
  readonly sandbox: Sandbox;
  readonly syncer: RepoSyncer;
  close(): Promise<void>;
}

export async function openRepoSyncer(
  dir: string,
  opts: { secretKey?: Buffer; syncBuiltin?: boolean } = {},
): Promise<RepoSyncerFixture> {
  const store = await openStore(join(dir, 'riposte.db'), opts.secretKey);
  const sandbox = new Sandbox();
  const syncer = new RepoSyncer(store, sandbox, { mirrorsDir: join(dir, 'mirrors') });
  const fixture = {
    store, sandbox, syncer,
    async close() {
      sandbox.close();
      await store.close();
    },
  };
  if (opts.syncBuiltin) {
    try {
      await syncer.syncBuiltin();
    } catch (err) {
      await fixture.close();
      throw err;
    }
  }
  return fixture;
}
