/**
 * First-start credentials: an admin API token and the ingestion source tokens, generated once and
 * written to `<dataDir>/credentials.json` with mode 0600 so the CLI on the same machine can use
 * them. The store keeps only their SHA-256 hashes.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { DEFAULT_SPLUNK_MAPPING } from '../ingest/mapping.js';

export interface Credentials {
  adminToken: string;
  /** Token of the `splunk` source: goes in the webhook URL (`?token=`). */
  splunkToken: string;
  /** Token of the `generic` source: `Authorization: Bearer` on POST /api/v1/incidents. */
  genericToken: string;
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'credentials.json');
}

export function readCredentials(dataDir: string): Credentials | null {
  const p = credentialsPath(dataDir);
  if (!existsSync(p)) return null;
  if ((statSync(p).mode & 0o077) !== 0) throw new Error(`${p} is readable by group or others; run: chmod 600 ${p}`);
  return JSON.parse(readFileSync(p, 'utf8')) as Credentials;
}

const token = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** Returns the credentials, creating and registering them on first start. */
export async function ensureCredentials(store: Store, dataDir: string): Promise<{ credentials: Credentials; created: boolean }> {
  const existing = readCredentials(dataDir);
  if (existing && (await store.findApiToken(existing.adminToken)) && (await store.findSourceByToken(existing.splunkToken))) {
    return { credentials: existing, created: false };
  }
  const credentials: Credentials = { adminToken: token('rpa'), splunkToken: token('rps'), genericToken: token('rpg') };
  await store.createApiToken({ name: 'admin', role: 'admin', token: credentials.adminToken }, 'system');
  await store.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: DEFAULT_SPLUNK_MAPPING, token: credentials.splunkToken }, 'system');
  await store.putSource({ name: 'generic', kind: 'generic', mapping: null, token: credentials.genericToken }, 'system');
  writeFileSync(credentialsPath(dataDir), `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; an overwritten one keeps its own.
  if (process.platform !== 'win32') chmodSync(credentialsPath(dataDir), 0o600);
  return { credentials, created: true };
}
