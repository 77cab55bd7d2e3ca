/** Shared fixtures of the SQLite store tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewIncident } from '../../src/store/records.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

export class TempDirs {
  private readonly root = mkdtempSync(join(tmpdir(), 'riposte-store-'));
  private n = 0;
  dir(): string { return join(this.root, `t${this.n++}`); }
  cleanup(): void { rmSync(this.root, { recursive: true, force: true }); }
}

export async function openStore(path: string, key: Buffer = randomBytes(32), synchronous?: 'full' | 'normal'): Promise<SqliteStore> {
  const s = new SqliteStore({ path, secretKey: key, synchronous });
  await s.migrate();
  return s;
}

export function incident(over: Partial<NewIncident> = {}): NewIncident {
  return {
    name: 'Impossible travel for alice', label: 'impossible-travel', severity: 'high', source: 'splunk',
    artifacts: [{ name: 'login', cef: { sourceUserName: 'alice', sourceAddress: '198.51.100.7' }, contains: { sourceAddress: ['ip'] } }],
    ...over,
  };
}

export const run = (id: string, playbookId = 'pb-travel') => ({ id, playbookId, playbookVersion: 1, playbookHash: 'h1', minutesSaved: 15 });
