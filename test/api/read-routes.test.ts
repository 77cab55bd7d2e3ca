import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Writable } from 'node:stream';
import {
  ALL_TOKEN_VALUES, TOKENS, assertError, foundingAlert, makeHarness, throwingStore, type Harness,
} from './harness.js';
import { buildApiServer } from '../../src/api/server.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';

const ASSET_SECRET = 'SUPER-SECRET-client-secret-0123456789';

interface IncidentJson { id: number; label: string; status: string; severity: string; owner: string | null }

describe('read and triage routes', () => {
  let h: Harness;
  const ids: number[] = [];
  let runId = '';

  const get = (url: string, token: string | null = TOKENS.viewer) =>
    h.app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload: unknown, token: string = TOKENS.analyst) =>
    h.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

  before(async () => {
    h = await makeHarness();
    for (const [i, sid] of ['r-1', 'r-2', 'r-3'].entries()) {
      const alert = foundingAlert(sid);
      if (i === 2) (alert['result'] as Record<string, string>)['dest_ip'] = '198.51.100.250';
      const res = await h.app.inject({
        method: 'POST', url: `/api/v1/ingest/splunk?token=${TOKENS.splunk}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(alert),
      });
      assert.equal(res.statusCode, 201, res.body);
      const b = res.json() as { incidentId: number; runs: string[] };
      ids.push(b.incidentId);
      if (i === 0) runId = b.runs[0]!;
    }
    await h.store.putSource({ name: 'other', kind: 'generic', mapping: null, token: 'unused-other-token' }, 'test');
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'intune-prod', appId: 'intune', config: { tenant: 'contoso' }, secrets: { clientSecret: ASSET_SECRET } }, 'test');
    await h.store.addNote({ incidentId: ids[0]!, author: 'alice', text: 'looking at it' });
    const t = new Date().toISOString();
    await h.store.appendJournal({
      runId, seq: 0, kind: 'action', name: 'mdm.getDevice', asset: 'intune-prod', app: 'intune', action: 'getDevice', status: 'completed',
      input: { deviceId: 'intune-dev-0042' }, output: { os: 'iOS' }, error: null, attempts: 1, startedAt: t, finishedAt: t, wakeAt: null, detail: null,
    });
    await h.store.recordActionResult({
      runId, seq: 0, attempt: 1, app: 'intune', asset: 'intune-prod', action: 'getDevice', idempotencyKey: `${runId}:0`, outcome: 'succeeded',
      input: { deviceId: 'intune-dev-0042' }, output: { os: 'iOS' }, error: null, startedAt: t, durationMs: 12,
    });
  });
  after(async () => { await h.close(); });

  it('GET /health needs no token', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('read routes need an API token of a reading role', async () => {
    assertError(await get('/api/v1/incidents', null), 401, 'unauthorized');
    assertError(await get('/api/v1/incidents', 'wrong'), 401, 'unauthorized');
    assertError(await get('/api/v1/incidents', TOKENS.splunk), 401, 'unauthorized');
    assertError(await get('/api/v1/incidents', TOKENS.ingest), 403, 'forbidden');
    for (const t of [TOKENS.viewer, TOKENS.analyst, TOKENS.admin]) assert.equal((await get('/api/v1/incidents', t)).statusCode, 200);
  });

  it('GET /incidents lists newest first, filters and paginates', async () => {
    let res = await get('/api/v1/incidents');
    const all = (res.json() as { incidents: IncidentJson[]; nextBefore: number | null });
    assert.deepEqual(all.incidents.map((i) => i.id), [...ids].reverse());
    assert.equal(all.nextBefore, null);

    res = await get('/api/v1/incidents?limit=2');
    const page1 = res.json() as { incidents: IncidentJson[]; nextBefore: number };
    assert.equal(page1.incidents.length, 2);
    assert.equal(page1.nextBefore, ids[1]);
    res = await get(`/api/v1/incidents?limit=2&before=${page1.nextBefore}`);
    assert.deepEqual((res.json() as { incidents: IncidentJson[] }).incidents.map((i) => i.id), [ids[0]]);

    res = await get('/api/v1/incidents?q=198.51.100.250');
    assert.deepEqual((res.json() as { incidents: IncidentJson[] }).incidents.map((i) => i.id), [ids[2]]);
    res = await get('/api/v1/incidents?label=nothing');
    assert.deepEqual((res.json() as { incidents: IncidentJson[] }).incidents, []);
    res = await get('/api/v1/incidents?status=new&label=mobile-unauthorized-ip');
    assert.equal((res.json() as { incidents: IncidentJson[] }).incidents.length >= 2, true);
  });

  it('GET /incidents rejects bad query parameters by name', async () => {
    for (const [q, path] of [['limit=0', 'limit'], ['limit=abc', 'limit'], ['limit=501', 'limit'], ['before=-1', 'before'],
      ['status=pending', 'status'], ['colour=red', 'colour'], ['limit=1&limit=2', 'limit']] as const) {
      const e = assertError(await get(`/api/v1/incidents?${q}`), 400, 'invalid_query');
      assert.deepEqual(e.error.details?.map((d) => d.path), [path], q);
    }
  });

  it('GET /incidents/:id returns the incident with artifacts, notes and runs', async () => {
    const res = await get(`/api/v1/incidents/${ids[0]}`);
    assert.equal(res.statusCode, 200, res.body);
    const b = res.json() as { incident: IncidentJson & { artifacts: unknown[] }; notes: Array<{ text: string }>; runs: Array<{ id: string }> };
    assert.equal(b.incident.id, ids[0]);
    assert.equal(b.incident.artifacts.length, 1);
    assert.deepEqual(b.notes.map((n) => n.text), ['looking at it']);
    assert.deepEqual(b.runs.map((r) => r.id), [runId]);
  });

  it('GET /incidents/:id: 400 for a non-integer id, 404 for an unknown one', async () => {
    for (const bad of ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999']) {
      const e = assertError(await get(`/api/v1/incidents/${bad}`), 400, 'invalid_params');
      assert.equal(e.error.details?.[0]?.path, 'id', bad);
    }
    assertError(await get('/api/v1/incidents/999999'), 404, 'not_found');
  });

  it('PATCH /incidents/:id changes status, severity and owner, audited with the token as actor', async () => {
    const res = await send('PATCH', `/api/v1/incidents/${ids[1]}`, { status: 'open', severity: 'low', owner: 'alice' });
    assert.equal(res.statusCode, 200, res.body);
    const inc = (res.json() as { incident: IncidentJson }).incident;
    assert.deepEqual([inc.status, inc.severity, inc.owner], ['open', 'low', 'alice']);
    const cleared = await send('PATCH', `/api/v1/incidents/${ids[1]}`, { owner: null });
    assert.equal((cleared.json() as { incident: IncidentJson }).incident.owner, null);
    const audit = await h.store.listAudit({ after: 0, limit: 500 });
    assert.ok(audit.some((e) => e.actor === 'token:analyst'), 'audited as token:analyst');
  });

  it('PATCH refuses viewers, bad bodies and unknown incidents without writing', async () => {
    const before = (await h.store.verifyAudit()).entries;
    assertError(await send('PATCH', `/api/v1/incidents/${ids[0]}`, { status: 'open' }, TOKENS.viewer), 403, 'forbidden');
    assertError(await send('PATCH', `/api/v1/incidents/${ids[0]}`, { status: 'open' }, TOKENS.ingest), 403, 'forbidden');
    let e = assertError(await send('PATCH', `/api/v1/incidents/${ids[0]}`, {}), 400, 'invalid_body');
    assert.match(e.error.message, /at least one/);
    e = assertError(await send('PATCH', `/api/v1/incidents/${ids[0]}`, { status: 'done' }), 400, 'invalid_body');
    assert.equal(e.error.details?.[0]?.path, 'status');
    e = assertError(await send('PATCH', `/api/v1/incidents/${ids[0]}`, { label: 'x' }), 400, 'invalid_body');
    assert.equal(e.error.details?.[0]?.path, 'label');
    assertError(await send('PATCH', '/api/v1/incidents/424242', { status: 'open' }), 404, 'not_found');
    assertError(await send('PATCH', '/api/v1/incidents/x', { status: 'open' }), 400, 'invalid_params');
    assert.equal((await h.store.verifyAudit()).entries, before);
    assert.equal((await h.store.getIncident(ids[0]!))?.status, 'new');
  });

  it('GET /runs filters; GET /runs/:id returns the journal and action results', async () => {
    let res = await get(`/api/v1/runs?incidentId=${ids[0]}`);
    assert.deepEqual((res.json() as { runs: Array<{ id: string }> }).runs.map((r) => r.id), [runId]);
    res = await get('/api/v1/runs?playbookId=test-mobile&limit=10');
    assert.equal((res.json() as { runs: unknown[] }).runs.length, 3);
    res = await get('/api/v1/runs?status=completed');
    assert.deepEqual((res.json() as { runs: unknown[] }).runs, []);
    assertError(await get('/api/v1/runs?status=done'), 400, 'invalid_query');
    assertError(await get('/api/v1/runs?incidentId=x'), 400, 'invalid_query');

    res = await get(`/api/v1/runs/${runId}`);
    assert.equal(res.statusCode, 200, res.body);
    const b = res.json() as { run: { id: string; incidentId: number }; journal: Array<{ name: string }>; actionResults: Array<{ outcome: string }> };
    assert.equal(b.run.incidentId, ids[0]);
    assert.deepEqual(b.journal.map((j) => j.name), ['mdm.getDevice']);
    assert.deepEqual(b.actionResults.map((a) => a.outcome), ['succeeded']);
    assert.deepEqual((b as unknown as { children: unknown[] }).children, [], 'a run without child playbooks');
    assert.equal((b.run as { parentRunId?: unknown }).parentRunId, null);
    assertError(await get('/api/v1/runs/00000000-0000-0000-0000-000000000000'), 404, 'not_found');
    assertError(await get(`/api/v1/runs/${'x'.repeat(200)}`), 400, 'invalid_params');
    assertError(await get(`/api/v1/runs/${'x'.repeat(600)}`), 414, 'uri_too_long');
    assertError(await get('/api/v1/runs/%E0%A4%A'), 400, 'bad_request');
  });

  it('lists: create, add, read, remove; writers only; errors named', async () => {
    assertError(await send('POST', '/api/v1/lists', { name: 'allowed-destinations' }, TOKENS.viewer), 403, 'forbidden');
    let res = await send('POST', '/api/v1/lists', { name: 'allowed-destinations', description: 'access list' });
    assert.equal(res.statusCode, 201, res.body);
    assertError(await send('POST', '/api/v1/lists', { name: 'allowed-destinations' }), 409, 'conflict');
    let e = assertError(await send('POST', '/api/v1/lists', { name: 'bad name!' }), 400, 'invalid_body');
    assert.equal(e.error.details?.[0]?.path, 'name');

    res = await send('POST', '/api/v1/lists/allowed-destinations/items', { items: ['10.0.0.0/8', '203.0.113.5', '10.0.0.0/8'] });
    assert.deepEqual(res.json(), { added: 2 });
    e = assertError(await send('POST', '/api/v1/lists/allowed-destinations/items', { items: ['10.0.0.0/99'] }), 400, 'invalid_request');
    assert.match(e.error.message, /10\.0\.0\.0\/99/);
    assertError(await send('POST', '/api/v1/lists/allowed-destinations/items', { items: [] }), 400, 'invalid_body');
    assertError(await send('POST', '/api/v1/lists/nope/items', { items: ['1.2.3.4'] }), 404, 'not_found');

    res = await get('/api/v1/lists/allowed-destinations');
    assert.deepEqual(res.json(), { name: 'allowed-destinations', items: ['10.0.0.0/8', '203.0.113.5'] });
    res = await send('DELETE', '/api/v1/lists/allowed-destinations/items', { items: ['203.0.113.5', '1.1.1.1'] });
    assert.deepEqual(res.json(), { removed: 1 });
    assertError(await send('DELETE', '/api/v1/lists/allowed-destinations/items', { items: ['1.1.1.1'] }, TOKENS.viewer), 403, 'forbidden');
    assertError(await send('DELETE', '/api/v1/lists/nope/items', { items: ['1.1.1.1'] }), 404, 'not_found');

    res = await get('/api/v1/lists');
    const lists = (res.json() as { lists: Array<{ name: string; itemCount: number }> }).lists;
    assert.deepEqual(lists.map((l) => [l.name, l.itemCount]), [['allowed-destinations', 1]]);
    assertError(await get('/api/v1/lists/nope'), 404, 'not_found');
  });

  it('lists: a list of kind ip refuses not-an-ip through the API, naming the kind; an unknown kind is a 400', async () => {
    assertError(await send('POST', '/api/v1/lists', { name: 'ips', kind: 'ip' }, TOKENS.viewer), 403, 'forbidden');
    const res = await send('POST', '/api/v1/lists', { name: 'ips', kind: 'ip' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal((res.json() as { list: { kind: string } }).list.kind, 'ip');
    const e = assertError(await send('POST', '/api/v1/lists/ips/items', { items: ['10.0.0.1', 'not-an-ip'] }), 400, 'invalid_request');
    assert.match(e.error.message, /its kind is ip/);
    assert.deepEqual((await get('/api/v1/lists/ips')).json(), { name: 'ips', items: [] });
    assertError(await send('POST', '/api/v1/lists', { name: 'odd', kind: 'colour' }), 400, 'invalid_body');
  });

  it('audit: pages in order and verifies', async () => {
    let res = await get('/api/v1/audit?limit=2');
    const p1 = res.json() as { entries: Array<{ id: number }>; nextAfter: number | null };
    assert.equal(p1.entries.length, 2);
    assert.ok(p1.nextAfter !== null);
    res = await get(`/api/v1/audit?after=${p1.nextAfter}&limit=500`);
    const p2 = res.json() as { entries: Array<{ id: number }> };
    assert.ok(p2.entries.every((e) => e.id > p1.nextAfter!));
    assertError(await get('/api/v1/audit?after=x'), 400, 'invalid_query');
    res = await get('/api/v1/audit/verify');
    assert.equal(res.statusCode, 200);
    assert.equal((res.json() as { ok: boolean }).ok, true);
  });

  it('404 and 405 as JSON', async () => {
    assertError(await get('/api/v1/nothing-here'), 404, 'not_found');
    assertError(await get('/elsewhere'), 404, 'not_found');
    const res = await h.app.inject({ method: 'DELETE', url: `/api/v1/incidents/${ids[0]}`, headers: { authorization: `Bearer ${TOKENS.admin}` } });
    assertError(res, 405, 'method_not_allowed');
    assert.equal(res.headers['allow'], 'GET, HEAD, PATCH');
  });

  it('no response carries an asset secret or a token (value or hash)', async () => {
    const urls = ['/api/v1/incidents', `/api/v1/incidents/${ids[0]}`, '/api/v1/runs', `/api/v1/runs/${runId}`, '/api/v1/lists',
      '/api/v1/audit?limit=500', '/api/v1/audit/verify'];
    const { createHash } = await import('node:crypto');
    const secrets = [ASSET_SECRET, ...ALL_TOKEN_VALUES];
    const forbidden = [...secrets, ...secrets.map((s) => createHash('sha256').update(s).digest('hex'))];
    for (const u of urls) {
      const res = await get(u, TOKENS.admin);
      assert.equal(res.statusCode, 200, u);
      for (const f of forbidden) assert.ok(!res.body.includes(f), `${u} leaks ${f.slice(0, 12)}…`);
    }
  });
});

describe('read routes when the store fails', () => {
  let h: Harness;
  before(async () => { h = await makeHarness({ wrapStore: throwingStore('listIncidents') }); });
  after(async () => { await h.close(); });

  it('answer a generic 500', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: { code: 'internal', message: 'internal error' } });
  });
});

describe('a shared pino logger instance', () => {
  it('is used with the URL redaction in place', async () => {
    const h = await makeHarness();
    try {
      const lines: string[] = [];
      const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
      const logger = pino({ level: 'info' }, sink);
      const ingest = new IngestService(h.store, new PlaybookRegistry([]), { wake() {} });
      const app = await buildApiServer({ store: h.store, ingest, logger: logger.child({ component: 'api' }) });
      const res = await app.inject({
        method: 'POST', url: `/api/v1/ingest/splunk?token=${TOKENS.splunk}`, headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(foundingAlert('pino-1')),
      });
      assert.equal(res.statusCode, 201, res.body);
      // Successful alerts are summed up in the access log; a refused one has its own line, with the URL.
      const bad = await app.inject({
        method: 'POST', url: `/api/v1/ingest/splunk?token=${TOKENS.splunk}`, headers: { 'content-type': 'application/json' }, payload: '{"sid":',
      });
      assert.equal(bad.statusCode, 400, bad.body);
      await app.close();
      await new Promise((r) => setImmediate(r));
      const log = lines.join('');
      assert.match(log, /"component":"api"/);
      assert.match(log, /token=REDACTED/);
      assert.ok(!log.includes(TOKENS.splunk));
    } finally {
      await h.close();
    }
  });
});
