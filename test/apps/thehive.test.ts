import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { theHiveApp } from '../../src/apps/thehive/index.js';
import { TheHiveSimulator } from '../../lab/thehive-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext as ctx, reconcileContext as rctx } from '../support/action-context.js';

const { createTicket, createCase, addObservable, promoteAlert, getAlert, findAlerts } = theHiveApp.actions;
type Cfg = Parameters<typeof createTicket.handler>[1]['config'];

const API_KEY = 'thehive-key-5f2a9c';
const OTHER_KEY = 'thehive-key-other-org';


function cfgFor(sim: TheHiveSimulator, over: Partial<Cfg> = {}): Cfg {
  return theHiveApp.config.parse({ url: `${sim.url}/`, apiKey: API_KEY, ...over });
}

const ticket = (over: Record<string, unknown> = {}) => createTicket.input.parse({
  summary: 'Phishing reported by alice', description: 'User clicked a link.', dedupeKey: 'splunk:sid-42', ...over,
});

async function raw(sim: TheHiveSimulator, method: string, path: string, body?: unknown, org?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
  if (org !== undefined) headers['x-organisation'] = org;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${sim.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('TheHive app against the lab simulator', () => {
  let sim: TheHiveSimulator;
  before(async () => {
    sim = new TheHiveSimulator({
      users: [
        { login: 'riposte@soc.local', name: 'Riposte', apiKey: API_KEY, organisations: ['SOC', 'CERT'] },
        { login: 'other@corp.local', name: 'Other', apiKey: OTHER_KEY, organisations: ['CORP'] },
      ],
    });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('creates an alert keyed by sourceRef, with severity from the priority and observables', async () => {
    const out = await createTicket.handler(ticket({ priority: 'critical', labels: ['phishing'], observables: [{ dataType: 'ip', data: '203.0.113.7', ioc: true }] }), ctx(cfgFor(sim)));
    const parsed = capabilities.ticketing.createTicket.output.parse(out);
    assert.deepEqual(parsed, { id: out.id, key: out.id, url: `${sim.url}/alerts/${encodeURIComponent(out.id)}/details`, created: true });
    assert.match(out.id, /^~\d+$/);
    const [alert] = sim.allAlerts();
    assert.deepEqual([alert!.type, alert!.source, alert!.sourceRef, alert!.severity, alert!.tags], ['riposte', 'riposte', 'splunk:sid-42', 4, ['riposte', 'phishing']]);
    assert.deepEqual(sim.observablesOf(out.id).map((o) => [o.dataType, o.data, o.ioc]), [['ip', '203.0.113.7', true]]);
    const got = await getAlert.handler({ alertId: out.id }, ctx(cfgFor(sim)));
    assert.deepEqual([got.alert?.title, got.alert?.status, got.alert?.observableCount, got.alert?.severity], ['Phishing reported by alice', 'New', 1, 4]);
    const conn = await theHiveApp.testConnectivity!(ctx(cfgFor(sim)));
    assert.equal(conn.detail, 'authenticated as riposte@soc.local in organisation SOC');
  });

  it('returns the existing alert when TheHive reports a duplicate sourceRef, also under concurrency', async () => {
    const first = sim.allAlerts()[0]!;
    const again = await createTicket.handler(ticket({ summary: 'other' }), ctx(cfgFor(sim)));
    assert.deepEqual(capabilities.ticketing.createTicket.output.parse(again), { id: first._id, key: first._id, url: `${sim.url}/alerts/${encodeURIComponent(String(first._id))}/details`, created: false });
    const dup = sim.calls.filter((c) => c.path === '/api/v1/alert' && c.status === 400);
    assert.equal(dup.length, 1, 'the second create reached TheHive and was refused');
    const q = JSON.parse(sim.callsTo('POST', '/api/v1/query').at(-1)!.body);
    assert.deepEqual(q.query[1], { _name: 'filter', _and: [
      { _eq: { _field: 'type', _value: 'riposte' } }, { _eq: { _field: 'source', _value: 'riposte' } }, { _eq: { _field: 'sourceRef', _value: 'splunk:sid-42' } },
    ] });
    const raced = await Promise.all([1, 2, 3].map(() => createTicket.handler(ticket({ dedupeKey: 'alert-77' }), ctx(cfgFor(sim)))));
    assert.deepEqual(raced.map((o) => o.created).sort(), [false, false, true]);
    assert.equal(new Set(raced.map((o) => o.id)).size, 1);
    assert.equal(sim.allAlerts().filter((a) => a.sourceRef === 'alert-77').length, 1);
    // Uniqueness is per organisation: the same key in CERT is a different alert.
    const cert = await createTicket.handler(ticket({ dedupeKey: 'alert-77' }), ctx(cfgFor(sim, { organisation: 'CERT' })));
    assert.equal(cert.created, true);
    assert.notEqual(cert.id, raced[0]!.id);
  });

  it('pages through alerts with the query API (page from/to and count)', async () => {
    for (let i = 0; i < 7; i++) await createTicket.handler(ticket({ dedupeKey: `bulk-${i}`, summary: `bulk ${i}`, labels: ['bulk'] }), ctx(cfgFor(sim)));
    sim.resetRecords();
    const out = await findAlerts.handler({ tag: 'bulk', maxResults: 100, pageSize: 3 }, ctx(cfgFor(sim)));
    assert.deepEqual(out.alerts.map((a) => a.title), [0, 1, 2, 3, 4, 5, 6].map((i) => `bulk ${i}`));
    assert.deepEqual([out.total, out.truncated], [7, false]);
    const pages = sim.callsTo('POST', '/api/v1/query').map((c) => JSON.parse(c.body).query.at(-1));
    assert.deepEqual(pages, [{ _name: 'count' }, { _name: 'page', from: 0, to: 3 }, { _name: 'page', from: 3, to: 6 }, { _name: 'page', from: 6, to: 9 }]);
    const capped = await findAlerts.handler({ tag: 'bulk', maxResults: 5, pageSize: 3 }, ctx(cfgFor(sim)));
    assert.deepEqual([capped.alerts.length, capped.total, capped.truncated], [5, 7, true]);
    const one = await findAlerts.handler({ sourceRef: 'bulk-4', maxResults: 10, pageSize: 10 }, ctx(cfgFor(sim)));
    assert.deepEqual(one.alerts.map((a) => a.title), ['bulk 4']);
    const bad = await raw(sim, 'POST', '/api/v1/query', { query: [{ _name: 'listAlert' }, { _name: 'page', from: 5, to: 2 }] });
    assert.deepEqual([bad.status, bad.json.type], [400, 'BadRequest']);
  });

  it('reports not found for unknown alerts and refuses malformed ids', async () => {
    assert.deepEqual(await getAlert.handler({ alertId: '~999999' }, ctx(cfgFor(sim))), { found: false });
    const nf = await rejects(promoteAlert.handler({ alertId: '~999999' }, ctx(cfgFor(sim))), TerminalError);
    assert.equal(nf.status, 404);
    assert.equal(nf.vendorCode, 'NotFoundError');
    assert.match(nf.message, /NotFoundError - Alert ~999999 not found/);
    await rejects(getAlert.handler({ alertId: '../user/current' }, ctx(cfgFor(sim))), TerminalError);
    // Another organisation's alert does not exist for this key.
    const mine = sim.allAlerts()[0]!._id as string;
    const theirs = theHiveApp.config.parse({ url: sim.url, apiKey: OTHER_KEY });
    assert.deepEqual(await getAlert.handler({ alertId: mine }, ctx(theirs)), { found: false });
  });

  it('maps 401 and a foreign organisation to TerminalErrors without the key', async () => {
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-401' }), ctx(cfgFor(sim, { apiKey: 'wrong-key-31337' }))), TerminalError);
    assert.deepEqual([err.status, err.vendorCode], [401, 'AuthenticationError']);
    assert.match(err.message, /Authentication failure/);
    assert.ok(!err.message.includes('wrong-key-31337'));
    const org = await rejects(theHiveApp.testConnectivity!(ctx(cfgFor(sim, { organisation: 'CORP' }))), TerminalError);
    assert.deepEqual([org.status, org.vendorCode], [403, 'AuthorizationError']);
  });

  it('maps 429 to a RetryableError not applied and 5xx to unknown', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/api/v1/alert', status: 429, headers: { 'retry-after': '4' }, body: '{"type":"TooManyRequests","message":"slow down"}' });
    const limited = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-429' }), ctx(cfgFor(sim))), RetryableError);
    assert.deepEqual([limited.retryAfterMs, limited.applied, limited.status], [4000, 'no', 429]);
    sim.injectFault({ method: 'POST', pathPrefix: '/api/v1/case', status: 502, body: '<html>Bad Gateway</html>' });
    const down = await rejects(createCase.handler({ title: 't', description: 'd', severity: 'low', tags: [] }, ctx(cfgFor(sim))), RetryableError);
    assert.deepEqual([down.applied, down.status], ['unknown', 502]);
    assert.match(down.message, /Bad Gateway/);
  });

  it('refuses invalid attributes with the attribute named', async () => {
    const err = await rejects(addObservable.handler(addObservable.input.parse({ target: 'alert', id: sim.allAlerts()[0]!._id, dataType: 'ipv4', data: '1.2.3.4' }), ctx(cfgFor(sim))), TerminalError);
    assert.equal(err.vendorCode, 'AttributeCheckingError');
    assert.match(err.message, /observable\.dataType: "ipv4"/);
    const r = await raw(sim, 'POST', '/api/v1/alert', { type: 't', source: 's', sourceRef: 'r', title: 'x', description: 'y', severity: 7 });
    assert.deepEqual([r.status, r.json.type], [400, 'AttributeCheckingError']);
    assert.match(r.json.message, /alert\.severity/);
    const missing = await raw(sim, 'POST', '/api/v1/case', { description: 'no title' });
    assert.match(missing.json.message, /case\.title is missing/);
  });

  it('creates cases with a marker tag that reconcile finds', async () => {
    const cfg = cfgFor(sim);
    assert.deepEqual(await createCase.reconcile!(createCase.input.parse({ title: 't', description: 'd' }), rctx(cfg, 'run-8:1')), { applied: false });
    sim.injectFault({ method: 'POST', pathPrefix: '/api/v1/case', dropReply: true });
    const lost = await rejects(createCase.handler(createCase.input.parse({ title: 'Compromised phone', description: 'Wiped.', severity: 'high' }), ctx(cfg, 'run-8:1')), RetryableError);
    assert.equal(lost.applied, 'unknown');
    const made = sim.allCases().find((k) => k.title === 'Compromised phone')!;
    assert.deepEqual([made.severity, made.tags], [3, ['riposte', 'riposte:run-8:1']]);
    const found = await createCase.reconcile!(createCase.input.parse({ title: 'x', description: 'd' }), rctx(cfg, 'run-8:1'));
    assert.deepEqual(found, { applied: true, output: { id: made._id, number: made.number, url: `${sim.url}/cases/${encodeURIComponent(String(made._id))}/details` } });
  });

  it('adds observables once, returns the existing one for a duplicate, and reconciles by query', async () => {
    const cfg = cfgFor(sim);
    const alertId = sim.allAlerts()[0]!._id as string;
    const input = addObservable.input.parse({ target: 'alert', id: alertId, dataType: 'domain', data: 'evil.example', tags: ['c2'] });
    assert.deepEqual(await addObservable.reconcile!(input, rctx(cfg, 'run-9:1')), { applied: false });
    const first = await addObservable.handler(input, ctx(cfg));
    assert.equal(first.created, true);
    const second = await addObservable.handler(input, ctx(cfg));
    assert.deepEqual(second, { ids: first.ids, created: false });
    assert.equal(sim.observablesOf(alertId).filter((o) => o.data === 'evil.example').length, 1);
    assert.deepEqual(await addObservable.reconcile!(input, rctx(cfg, 'run-9:1')), { applied: true, output: { ids: first.ids, created: true } });
    assert.deepEqual(await addObservable.reconcile!({ ...input, id: '~1' }, rctx(cfg, 'run-9:1')), { applied: false });
  });

  it('promotes an alert to a case once', async () => {
    const cfg = cfgFor(sim);
    const alertId = sim.allAlerts()[0]!._id as string;
    const p1 = await promoteAlert.handler({ alertId }, ctx(cfg));
    assert.equal(p1.created, true);
    const k = sim.allCases().find((c) => c._id === p1.caseId)!;
    assert.equal(p1.caseNumber, k.number);
    assert.deepEqual(sim.observablesOf(p1.caseId).map((o) => o.data).sort(), ['203.0.113.7', 'evil.example']);
    const p2 = await promoteAlert.handler({ alertId }, ctx(cfg));
    assert.deepEqual(p2, { ...p1, created: false });
    assert.equal(sim.callsTo('POST', `/api/v1/alert/${alertId}/case`).length, 1);
    const got = await getAlert.handler({ alertId }, ctx(cfg));
    assert.deepEqual([got.alert?.status, got.alert?.caseId], ['Imported', p1.caseId]);
    const again = await raw(sim, 'POST', `/api/v1/alert/${encodeURIComponent(alertId)}/case`, {});
    assert.deepEqual([again.status, again.json.type], [400, 'BadRequest']);
  });
});
