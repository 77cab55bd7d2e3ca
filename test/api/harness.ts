/** Shared set-up of the API tests: a real SqliteStore in a temp dir, credentials, captured logs. */
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService, type RunWaker } from '../../src/ingest/ingest-service.js';
import { definePlaybook } from '../../src/sdk/playbook.js';
import { buildApiServer } from '../../src/api/server.js';
import type { FailureLimits } from '../../src/api/auth-limits.js';
import type { HttpTimeouts } from '../../src/api/http-server.js';
import { DEFAULT_SPLUNK_MAPPING } from '../../src/ingest/mapping.js';
import { FOUNDING_LABEL, FOUNDING_SPLUNK_MAPPING } from '../../lab/founding-mapping.js';
import { openTempStore } from '../support/temp-store.js';

export const TOKENS = {
  splunk: 'splk-src-7f3a9c2e51d04b8aa1f6e0c9d2b7e4f1',
  splunkOtherLabel: 'splk-other-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f',
  splunkDefault: 'splk-default-3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e',
  splunkSample: 'splk-sample-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
  splunkBadMapping: 'splk-bad-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
  generic: 'gen-src-5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e',
  admin: 'api-admin-2f9e8d7c6b5a49383726151403f2e1d0',
  analyst: 'api-analyst-8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a39',
  ingest: 'api-ingest-4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a',
  viewer: 'api-viewer-6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b',
} as const;

export const ALL_TOKEN_VALUES: string[] = Object.values(TOKENS);

export const testPlaybook = definePlaybook(
  { id: 'test-mobile', version: 1, triggers: { labels: [FOUNDING_LABEL] }, roles: {} },
  async () => undefined,
);

export class CountingWaker implements RunWaker {
  wakes = 0;
  wake(): void {
    this.wakes++;
  }
}

export interface Harness {
  app: FastifyInstance;
  store: SqliteStore;
  /** The store's master key (a second connection to the same file must use it). */
  secretKey: Buffer;
  waker: CountingWaker;
  /** Raw log lines written by the API's logger. */
  logs: string[];
  /** Audit entries present after set-up. */
  baselineAudit: number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Wraps the store the API sees (e.g. to make a method throw). */
  wrapStore?: (store: SqliteStore) => Store;
  bodyLimitBytes?: number;
  /** Short client timeouts for the slow-client tests. */
  timeouts?: Partial<HttpTimeouts>;
  /** More routes on the same store (e.g. the human-in-the-loop routes). */
  extraRoutes?: (app: FastifyInstance, store: SqliteStore) => void;
  /** Limits on failed authentication (e.g. with an injected clock). */
  authFailureLimits?: Partial<FailureLimits>;
}

export async function makeHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const secretKey = randomBytes(32);
  const temp = await openTempStore('riposte-api-', secretKey);
  const { store } = temp;
  // The demo's mapping (founding searches → the founding label), and the product's (no search mapped).
  const splunk = (name: string, mapping: unknown, token: string) =>
    store.putSource({ name, kind: 'splunk-webhook', mapping, token }, 'test');
  await splunk('splunk', FOUNDING_SPLUNK_MAPPING, TOKENS.splunk);
  await splunk('splunk-default', DEFAULT_SPLUNK_MAPPING, TOKENS.splunkDefault);
  await store.putSource({
    name: 'splunk-other', kind: 'splunk-webhook', token: TOKENS.splunkOtherLabel,
    mapping: { ...DEFAULT_SPLUNK_MAPPING, label: 'other-label' },
  }, 'test');
  // Maps the fields of the VENDOR-APIS.md §1a sample body.
  await store.putSource({
    name: 'splunk-sample', kind: 'splunk-webhook', token: TOKENS.splunkSample,
    mapping: { label: { fromSearchName: { 'Brute force': 'brute-force' }, default: 'splunk-alert' }, severity: 'medium', cef: { cs2: 'sourcetype', cnt: 'count' } },
  }, 'test');
  await store.putSource({ name: 'splunk-bad', kind: 'splunk-webhook', token: TOKENS.splunkBadMapping, mapping: { label: 42 } }, 'test');
  await store.putSource({ name: 'webhook', kind: 'generic', mapping: null, token: TOKENS.generic }, 'test');
  for (const role of ['admin', 'analyst', 'ingest', 'viewer'] as const) {
    await store.createApiToken({ name: role, role, token: TOKENS[role] }, 'test');
  }

  const waker = new CountingWaker();
  const apiStore = opts.wrapStore ? opts.wrapStore(store) : store;
  const ingest = new IngestService(apiStore, new PlaybookRegistry([testPlaybook]), waker);
  const logs: string[] = [];
  const app = await buildApiServer({
    store: apiStore,
    ingest,
    logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } },
    ...(opts.bodyLimitBytes !== undefined ? { bodyLimitBytes: opts.bodyLimitBytes } : {}),
    ...(opts.authFailureLimits ? { authFailureLimits: opts.authFailureLimits } : {}),
    ...(opts.timeouts !== undefined ? { timeouts: opts.timeouts } : {}),
    ...(opts.extraRoutes ? { extraRoutes: (app: FastifyInstance) => opts.extraRoutes!(app, store) } : {}),
  });
  const baselineAudit = (await store.verifyAudit()).entries;
  return {
    app, store, secretKey, waker, logs, baselineAudit,
    async close() {
      await app.close();
      await temp.close();
    },
  };
}

/** A store whose `method` rejects with an error full of internals the API must not leak. */
export function throwingStore(method: keyof Store): (store: SqliteStore) => Store {
  return (store) => new Proxy(store, {
    get(target, prop) {
      if (prop === method) {
        return async () => { throw new Error('SQLITE_IOERR: disk I/O error at /var/lib/riposte/secret-path.db'); };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Store;
}

/** Asserts that nothing was written since set-up: no incident, no audit entry, no wake. */
export async function assertNothingWritten(h: Harness): Promise<void> {
  assert.deepEqual(await h.store.listIncidents({}), [], 'no incident may be stored');
  assert.equal((await h.store.verifyAudit()).entries, h.baselineAudit, 'no audit entry may be written');
  assert.equal(h.waker.wakes, 0, 'the engine must not be woken');
}

export interface ErrorJsonDetail { path: string; code: string; message: string; subject?: Record<string, unknown> }

export interface ErrorJson {
  error: { code: string; message: string; details?: ErrorJsonDetail[] };
}

/** Asserts an error answer of the given status and code, and returns its body. */
export function assertError(res: LightMyRequestResponse, status: number, code: string): ErrorJson {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as ErrorJson;
  assert.equal(body.error.code, code, res.body);
  assert.equal(typeof body.error.message, 'string');
  return body;
}

/** The founding scenario's alert as the Splunk webhook would post it. */
export function foundingAlert(sid = 'scheduler__admin__search__RMD5mobile_at_1717000000_1'): Record<string, unknown> {
  return {
    sid,
    search_name: 'Mobile device reached unauthorized IP',
    app: 'search',
    owner: 'admin',
    results_link: `http://splunk.example.test:8000/app/search/@go?sid=${sid}`,
    result: {
      dest_ip: '203.0.113.66', src_ip: '10.20.30.40', user: 'alice', device_id: 'intune-dev-0042',
      device_name: 'ALICE-IPHONE', src_mac: '02:42:ac:11:00:02', dest_port: '443', severity: 'critical', _time: '1717000000',
    },
  };
}
