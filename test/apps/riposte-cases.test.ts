/**
 * The riposte-cases app against a real Riposte API server (Fastify listening on 127.0.0.1:0, real
 * SqliteStore): what the server stored is the proof of what the app did.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { riposteCasesApp } from '../../src/apps/riposte-cases/index.js';
import { buildApiServer } from '../../src/api/server.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';
import { openTempStore } from '../support/temp-store.js';

const { createTicket, addComment, resolveCase, reopenCase, getCase } = riposteCasesApp.actions;
type Cfg = Parameters<typeof createTicket.handler>[1]['config'];

const ANALYST = 'rp-analyst-token-7c1e0b9d2f4a6e8c';
const VIEWER = 'rp-viewer-token-3a5c7e9b1d2f4a6c';

const ctx = (config: Cfg, key?: string) => actionContext(config, key, { timeoutMs: 10_000 });

const ticket = (over: Record<string, unknown> = {}) => createTicket.input.parse({
  summary: 'Phone of alice reached 203.0.113.66', description: 'Wiped and blocked.', dedupeKey: 'incident-1', priority: 'high', labels: ['mobile'], ...over,
});

interface Riposte { url: string; store: SqliteStore; app: FastifyInstance; close(): Promise<void> }

async function startRiposte(wrap?: (s: SqliteStore) => Store): Promise<Riposte> {
  const temp = await openTempStore('riposte-cases-app-');
  const { store } = temp;
  await store.createApiToken({ name: 'soc-bot', role: 'analyst', token: ANALYST }, 'test');
  await store.createApiToken({ name: 'auditor', role: 'viewer', token: VIEWER }, 'test');
  const apiStore = wrap ? wrap(store) : store;
  const app = await buildApiServer({ store: apiStore, ingest: new IngestService(apiStore, new PlaybookRegistry([]), { wake() {} }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, store, app,
    async close() {
      await app.close();
      await temp.close();
    },
  };
}

describe('riposte-cases app against a real Riposte API server', () => {
  let r: Riposte;
  let cfg: Cfg;
  before(async () => {
    r = await startRiposte();
    cfg = riposteCasesApp.config.parse({ url: `${r.url}/`, apiToken: ANALYST });
  });
  after(() => r.close());

  it('creates one case for the same dedupe key, however often it is called', async () => {
    const first = await createTicket.handler(ticket(), ctx(cfg));
    assert.deepEqual(capabilities.ticketing.createTicket.output.parse(first), { id: '1', key: 'CASE-1', url: `${r.url}/api/v1/cases/CASE-1`, created: true });
    const again = await createTicket.handler(ticket({ summary: 'replayed with another summary' }), ctx(cfg));
    assert.deepEqual(again, { ...first, created: false });
    const concurrent = await Promise.all([1, 2, 3].map(() => createTicket.handler(ticket({ dedupeKey: 'incident-2' }), ctx(cfg))));
    assert.deepEqual(concurrent.map((o) => o.created).filter(Boolean), [true]);
    assert.equal(new Set(concurrent.map((o) => o.key)).size, 1);

    const stored = await r.store.listCases({});
    assert.deepEqual(stored.map((c) => c.key), ['CASE-2', 'CASE-1']);
    const c1 = (await r.store.getCase('CASE-1'))!;
    assert.deepEqual([c1.title, c1.description, c1.priority, c1.labels, c1.dedupeKey], ['Phone of alice reached 203.0.113.66', 'Wiped and blocked.', 'high', ['mobile'], 'incident-1']);
    const audit = (await r.store.listAudit({ limit: 100 })).filter((e) => e.action === 'case.create');
    assert.deepEqual(audit.map((e) => e.actor), ['token:soc-bot', 'token:soc-bot']);
  });

  it('links the case to an incident when given, and the server names a missing one', async () => {
    const inc = await r.store.ingest({ name: 'x', label: 'l', severity: 'low', source: 'test', artifacts: [] }, [], 'test');
    const out = await createTicket.handler(ticket({ dedupeKey: 'linked', incidentId: inc.incident.id }), ctx(cfg));
    assert.equal((await r.store.getCase(out.key))!.incidentId, inc.incident.id);
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'bad-link', incidentId: 999 }), ctx(cfg)), TerminalError);
    assert.equal(err.status, 400);
    assert.match(err.message, /incidentId: incident 999 does not exist/);
  });

  it('validation errors name the field: locally by the schema, remotely by the API', async () => {
    const local = createTicket.input.safeParse({ summary: '', description: 'd' });
    assert.equal(local.success, false);
    assert.deepEqual(local.error!.issues.map((i) => i.path.join('.')).sort(), ['dedupeKey', 'summary']);
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'k'.repeat(600) }), ctx(cfg)), TerminalError);
    assert.equal(err.status, 400);
    assert.equal(err.vendorCode, 'invalid_body');
    assert.match(err.message, /^Riposte cases POST \/api\/v1\/cases: HTTP 400: invalid request body: dedupeKey:/);
    const ref = await rejects(addComment.handler({ ticket: 'SEC-1', body: 'x' }, ctx(cfg)), TerminalError);
    assert.match(ref.message, /"SEC-1" is not a case key/);
  });

  it('comments are idempotent on the step idempotency key', async () => {
    const one = await addComment.handler({ ticket: 'case-1', body: 'Device wiped.' }, ctx(cfg, 'run-9:4'));
    assert.equal(one.created, true);
    assert.equal(one.ticket, 'CASE-1');
    const replay = await addComment.handler({ ticket: '1', body: 'Device wiped.' }, ctx(cfg, 'run-9:4'));
    assert.deepEqual(replay, { ...one, created: false });
    await addComment.handler({ ticket: 'CASE-1', body: 'Firewall block added.' }, ctx(cfg, 'run-9:5'));
    const comments = (await r.store.getCase('CASE-1'))!.comments;
    assert.deepEqual(comments.map((c) => [c.text, c.marker, c.author]), [
      ['Device wiped.', 'run-9:4', 'token:soc-bot'], ['Firewall block added.', 'run-9:5', 'token:soc-bot'],
    ]);
    assert.equal((await rejects(addComment.handler({ ticket: 'CASE-404', body: 'x' }, ctx(cfg)), TerminalError)).status, 404);
  });

  it('resolves idempotently, reopens (its undo), and reads the case back', async () => {
    assert.deepEqual(await resolveCase.handler({ ticket: 'CASE-1' }, ctx(cfg)), { ticket: 'CASE-1', status: 'resolved', changed: true });
    assert.deepEqual(await resolveCase.handler({ ticket: 'CASE-1' }, ctx(cfg)), { ticket: 'CASE-1', status: 'resolved', changed: false });
    assert.equal((await r.store.listAudit({ limit: 100 })).filter((e) => e.action === 'case.status').length, 1);
    const got = await getCase.handler({ ticket: 'CASE-1' }, ctx(cfg));
    const parsed = getCase.output.parse(got);
    assert.equal(parsed.found, true);
    assert.equal(parsed.case?.status, 'resolved');
    assert.ok(parsed.case?.resolvedAt);
    assert.deepEqual(parsed.case?.comments.map((c) => c.text), ['Device wiped.', 'Firewall block added.']);
    assert.equal(riposteCasesApp.actions.resolveCase.undo, 'reopenCase');
    assert.deepEqual(await reopenCase.handler({ ticket: 'CASE-1' }, ctx(cfg)), { ticket: 'CASE-1', status: 'open', changed: true });
    assert.deepEqual(await getCase.handler({ ticket: 'CASE-77' }, ctx(cfg)), { found: false });
  });

  it('testConnectivity checks health and that the token may read cases', async () => {
    const ok = await riposteCasesApp.testConnectivity!(ctx(cfg));
    assert.equal(ok.ok, true);
    assert.match(ok.detail ?? '', /is up and the API token may read cases/);
  });

  it('a wrong token is a TerminalError 401 that does not reveal the token', async () => {
    const wrong = 'rp-WRONG-token-0123456789abcdef';
    const bad = { ...cfg, apiToken: wrong };
    for (const p of [createTicket.handler(ticket({ dedupeKey: 'nope' }), ctx(bad)), riposteCasesApp.testConnectivity!(ctx(bad))]) {
      const err = await rejects(p, TerminalError);
      assert.equal(err.status, 401);
      assert.match(err.message, /unknown or revoked token/);
      assert.ok(!err.message.includes(wrong));
    }
    const viewer = await rejects(createTicket.handler(ticket({ dedupeKey: 'nope' }), ctx({ ...cfg, apiToken: VIEWER })), TerminalError);
    assert.equal(viewer.status, 403);
    assert.match(viewer.message, /needs one of the roles admin, analyst/);
    assert.equal(await r.store.getCase('CASE-4'), null, 'nothing was created');
  });
});

describe('riposte-cases app: failures of the server', () => {
  it('a server-side 500 is retryable with unknown outcome, without internals', async () => {
    const r = await startRiposte((store) => new Proxy(store, {
      get(target, prop) {
        if (prop === 'createCase') return async () => { throw new Error('SQLITE_FULL: database or disk is full'); };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store);
    try {
      const err = await rejects(createTicket.handler(ticket(), ctx({ url: r.url, apiToken: ANALYST })), RetryableError);
      assert.equal(err.applied, 'unknown');
      assert.equal(err.status, 500);
      assert.ok(!err.message.includes('SQLITE'));
    } finally {
      await r.close();
    }
  });

  it('429/503 from a proxy in front are retryable, not applied, honouring Retry-After; a dead port is not applied', async () => {
    let status = 429;
    const proxy: Server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/html', 'retry-after': '5' }).end('<html><body>Too Many Requests</body></html>');
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      let err = await rejects(createTicket.handler(ticket(), ctx({ url, apiToken: ANALYST })), RetryableError);
      assert.deepEqual([err.status, err.applied, err.retryAfterMs], [429, 'no', 5000]);
      assert.match(err.message, /Too Many Requests/);
      status = 503;
      err = await rejects(riposteCasesApp.testConnectivity!(ctx({ url, apiToken: ANALYST })), RetryableError);
      assert.deepEqual([err.status, err.applied], [503, 'no']);
    } finally {
      await new Promise((ok) => proxy.close(ok));
    }
    // A port nothing listens on (never connected to, so no pooled connection can be reused).
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((ok) => probe.close(ok));
    const dead = await rejects(createTicket.handler(ticket(), ctx({ url: deadUrl, apiToken: ANALYST })), RetryableError);
    assert.equal(dead.applied, 'no');
    assert.match(dead.message, /ECONNREFUSED/);
  });

  it('testConnectivity refuses a server that is not Riposte', async () => {
    const other: Server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'); });
    await new Promise<void>((ok) => other.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const err = await rejects(riposteCasesApp.testConnectivity!(ctx({ url, apiToken: ANALYST })), TerminalError);
      assert.match(err.message, /is this a Riposte server\?/);
    } finally {
      await new Promise((ok) => other.close(ok));
    }
  });
});
