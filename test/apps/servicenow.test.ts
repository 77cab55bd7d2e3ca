import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceNowApp } from '../../src/apps/servicenow/index.js';
import { clearServiceNowTokenCache } from '../../src/apps/servicenow/client.js';
import { ServiceNowSimulator } from '../../lab/servicenow-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext as ctx, reconcileContext as rctx } from '../support/action-context.js';

const { createTicket, addWorkNote, resolveIncident, getIncident, searchIncidents } = serviceNowApp.actions;
type Cfg = Parameters<typeof createTicket.handler>[1]['config'];

const USER = 'riposte.integration';
const PASSWORD = 'sn-password-Zq81';
const CLIENT = { id: 'riposte-client', secret: 'sn-client-secret-77' };


function basic(sim: ServiceNowSimulator, over: Partial<Cfg> = {}): Cfg {
  return serviceNowApp.config.parse({ url: `${sim.url}/`, username: USER, password: PASSWORD, ...over });
}
function oauth(sim: ServiceNowSimulator, over: Partial<Cfg> = {}): Cfg {
  return serviceNowApp.config.parse({ url: sim.url, username: USER, password: PASSWORD, clientId: CLIENT.id, clientSecret: CLIENT.secret, ...over });
}

const ticket = (over: Record<string, unknown> = {}) => capabilities.ticketing.createTicket.input.parse({
  summary: 'Phishing reported by alice', description: 'User clicked a link.', dedupeKey: 'splunk:sid-42', ...over,
});

async function raw(sim: ServiceNowSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${sim.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

describe('ServiceNow app against the lab simulator', () => {
  let sim: ServiceNowSimulator;
  before(async () => {
    sim = new ServiceNowSimulator({ users: { [USER]: PASSWORD }, oauthClients: { [CLIENT.id]: CLIENT.secret } });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('creates an incident with correlation_id, urgency and impact from the priority', async () => {
    const out = await createTicket.handler(ticket({ priority: 'high', labels: ['phishing'] }), ctx(basic(sim)));
    const parsed = capabilities.ticketing.createTicket.output.parse(out);
    const [inc] = sim.incidents();
    assert.ok(inc);
    assert.deepEqual(parsed, { id: inc.sys_id, key: 'INC0010001', url: `${sim.url}/nav_to.do?uri=incident.do?sys_id=${inc.sys_id}`, created: true });
    assert.equal(inc.correlation_id, 'riposte-splunk:sid-42');
    assert.equal(inc.correlation_display, 'Riposte');
    assert.deepEqual([inc.urgency, inc.impact, inc.priority], ['1', '2', '2']);
    assert.equal(inc.description, 'User clicked a link.\n\nLabels: phishing');
    const got = await getIncident.handler({ ticket: 'inc0010001' }, ctx(basic(sim)));
    assert.equal(got.incident?.id, inc.sys_id);
    assert.equal(got.incident?.shortDescription, 'Phishing reported by alice');
    assert.equal(got.incident?.state, '1');
    const bySysId = await getIncident.handler({ ticket: inc.sys_id! }, ctx(basic(sim)));
    assert.equal(bySysId.incident?.key, 'INC0010001');
  });

  it('returns the existing incident for the same dedupe key, also under concurrency', async () => {
    const again = await createTicket.handler(ticket({ summary: 'other words', priority: 'low' }), ctx(basic(sim)));
    assert.deepEqual(capabilities.ticketing.createTicket.output.parse(again).created, false);
    assert.equal(again.key, 'INC0010001');
    assert.equal(sim.callsTo('POST', '/api/now/table/incident').length, 1);
    const lookup = sim.callsTo('GET', '/api/now/table/incident').at(-1)!;
    assert.equal(lookup.query.sysparm_query, 'correlation_id=riposte-splunk:sid-42^ORDERBYsys_created_on');

    const outs = await Promise.all([1, 2, 3, 4].map(() => createTicket.handler(ticket({ dedupeKey: 'alert-77' }), ctx(basic(sim)))));
    assert.deepEqual(outs.map((o) => o.created), [true, false, false, false]);
    assert.equal(new Set(outs.map((o) => o.id)).size, 1);
    assert.equal(sim.incidents().filter((i) => i.correlation_id === 'riposte-alert-77').length, 1);
    // A key that cannot go verbatim into an encoded query is hashed, still deterministically.
    const odd = await createTicket.handler(ticket({ dedupeKey: 'a^b=c' }), ctx(basic(sim)));
    const odd2 = await createTicket.handler(ticket({ dedupeKey: 'a^b=c' }), ctx(basic(sim)));
    assert.deepEqual([odd.created, odd2.created, odd2.id], [true, false, odd.id]);
    const stored = sim.incidents().find((i) => i.sys_id === odd.id)!;
    assert.match(stored.correlation_id!, /^riposte-a-b-c-[0-9a-f]{24}$/);
  });

  it('authenticates with the OAuth password grant, caches the token and refreshes it once on 401', async () => {
    clearServiceNowTokenCache();
    const cfg = oauth(sim);
    await createTicket.handler(ticket({ dedupeKey: 'oauth-1' }), ctx(cfg));
    await getIncident.handler({ ticket: 'INC0010001' }, ctx(cfg));
    assert.equal(sim.callsTo('POST', '/oauth_token.do').length, 1);
    const grant = new URLSearchParams(sim.callsTo('POST', '/oauth_token.do')[0]!.body);
    assert.equal(grant.get('grant_type'), 'password');
    sim.expireTokens();
    const note = await addWorkNote.handler({ ticket: 'INC0010001', note: 'after expiry' }, ctx(cfg, 'run-oauth:1'));
    assert.equal(note.key, 'INC0010001');
    assert.equal(sim.callsTo('POST', '/oauth_token.do').length, 2);
    assert.equal(sim.journalOf(note.id).filter((j) => j.value.startsWith('after expiry')).length, 1, 'the note was written once');

    // A pre-issued token works as Bearer without any token request.
    const tok = await fetch(`${sim.url}/oauth_token.do`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: CLIENT.id, client_secret: CLIENT.secret, username: USER, password: PASSWORD }),
    }).then((r) => r.json() as Promise<{ access_token: string; token_type: string }>);
    assert.equal(tok.token_type, 'Bearer');
    const viaToken = serviceNowApp.config.parse({ url: sim.url, accessToken: tok.access_token });
    const conn = await serviceNowApp.testConnectivity!(ctx(viaToken));
    assert.match(conn.detail!, /incident table readable \(\d+ incidents\)/);

    const bad = await rejects(getIncident.handler({ ticket: 'INC0010001' }, ctx(oauth(sim, { clientSecret: 'wrong-client-secret-1' }))), TerminalError);
    assert.equal(bad.status, 401);
    assert.match(bad.message, /access_denied/);
    assert.ok(!bad.message.includes('wrong-client-secret-1'));
    assert.ok(!bad.message.includes(PASSWORD));
  });

  it('pages through search results with Link rel=next and X-Total-Count', async () => {
    for (let i = 0; i < 7; i++) await createTicket.handler(ticket({ dedupeKey: `bulk-${i}`, summary: `bulk ${i}` }), ctx(basic(sim)));
    sim.resetRecords();
    const out = await searchIncidents.handler({ query: 'correlation_idSTARTSWITHriposte-bulk-', maxResults: 100, pageSize: 3 }, ctx(basic(sim)));
    assert.equal(out.total, 7);
    assert.equal(out.truncated, false);
    assert.deepEqual(out.incidents.map((i) => i.shortDescription), [0, 1, 2, 3, 4, 5, 6].map((i) => `bulk ${i}`));
    const pages = sim.callsTo('GET', '/api/now/table/incident');
    assert.deepEqual(pages.map((c) => c.query.sysparm_offset), ['0', '3', '6']);
    const capped = await searchIncidents.handler({ query: 'correlation_idSTARTSWITHriposte-bulk-', maxResults: 4, pageSize: 3 }, ctx(basic(sim)));
    assert.deepEqual([capped.incidents.length, capped.total, capped.truncated], [4, 7, true]);

    const r = await raw(sim, 'GET', '/api/now/table/incident?sysparm_query=correlation_idSTARTSWITHriposte-bulk-&sysparm_limit=5&sysparm_offset=5&sysparm_fields=number');
    assert.equal(r.headers.get('x-total-count'), '7');
    assert.deepEqual(Object.keys(r.json.result[0]), ['number']);
    assert.match(r.headers.get('link')!, /rel="prev"/);
    assert.doesNotMatch(r.headers.get('link')!, /rel="next"/);
  });

  it('reports not found for unknown incidents and refuses malformed references', async () => {
    assert.deepEqual(await getIncident.handler({ ticket: 'INC0099999' }, ctx(basic(sim))), { found: false });
    assert.deepEqual(await getIncident.handler({ ticket: 'ffffffffffffffffffffffffffffffff' }, ctx(basic(sim))), { found: false });
    const nf = await rejects(addWorkNote.handler({ ticket: 'INC0099999', note: 'x' }, ctx(basic(sim))), TerminalError);
    assert.match(nf.message, /INC0099999 not found/);
    const r = await raw(sim, 'GET', '/api/now/table/incident/0123456789abcdef0123456789abcdef');
    assert.deepEqual([r.status, r.json.error.message, r.json.status], [404, 'No Record found', 'failure']);
    const inj = await rejects(getIncident.handler({ ticket: 'INC1^active=true' }, ctx(basic(sim))), TerminalError);
    assert.match(inj.message, /not a sys_id/);
  });

  it('maps 401 to a TerminalError without the password', async () => {
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-401' }), ctx(basic(sim, { password: 'wrong-pass-913' }))), TerminalError);
    assert.equal(err.status, 401);
    assert.match(err.message, /User Not Authenticated: Required to provide Auth information/);
    assert.ok(!err.message.includes('wrong-pass-913'));
    assert.ok(!err.message.includes(Buffer.from(`${USER}:wrong-pass-913`).toString('base64')));
    assert.equal(sim.incidents().filter((i) => i.correlation_id === 'riposte-x-401').length, 0);
  });

  it('maps 429 to a RetryableError not applied (Retry-After honoured, native limiter too)', async () => {
    sim.injectFault({ method: 'GET', pathPrefix: '/api/now/table/incident', status: 429, headers: { 'retry-after': '12', 'x-ratelimit-reset': '1999999999' },
      body: '{"error":{"message":"Rate limit exceeded","detail":"rule INC"},"status":"failure"}' });
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-429' }), ctx(basic(sim))), RetryableError);
    assert.deepEqual([err.retryAfterMs, err.applied, err.status], [12_000, 'no', 429]);
    assert.match(err.message, /Rate limit exceeded/);

    const limited = new ServiceNowSimulator({ users: { [USER]: PASSWORD }, rateLimit: { limit: 2, windowMs: 60_000 } });
    await limited.start(0);
    try {
      await getIncident.handler({ ticket: 'INC0010001' }, ctx(basic(limited)));
      await getIncident.handler({ ticket: 'INC0010001' }, ctx(basic(limited)));
      const native = await rejects(getIncident.handler({ ticket: 'INC0010001' }, ctx(basic(limited))), RetryableError);
      assert.deepEqual([native.applied, native.status], ['no', 429]);
      const r = await raw(limited, 'GET', '/api/now/table/incident');
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    } finally {
      await limited.stop();
    }
  });

  it('maps a 5xx after a write to a RetryableError whose outcome is unknown', async () => {
    sim.injectFault({ method: 'POST', pathPrefix: '/api/now/table/incident', status: 500, body: '{"error":{"message":"Transaction cancelled","detail":null},"status":"failure"}' });
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-500' }), ctx(basic(sim))), RetryableError);
    assert.deepEqual([err.applied, err.status], ['unknown', 500]);
    assert.match(err.message, /Transaction cancelled/);
  });

  it('refuses invalid field values with the field named', async () => {
    const bad = await rejects(resolveIncident.handler({ ticket: 'INC0010001', closeCode: 'Fixed it', closeNotes: 'done' }, ctx(basic(sim))), TerminalError);
    assert.equal(bad.status, 400);
    assert.match(bad.message, /Invalid value for field 'close_code'/);
    const r = await raw(sim, 'POST', '/api/now/table/incident', { short_description: 'x', urgency: '9' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /'urgency'/);
    const inc = sim.incidents().find((i) => i.number === 'INC0010002')!;
    const policy = await raw(sim, 'PATCH', `/api/now/table/incident/${inc.sys_id}`, { state: '6' });
    assert.equal(policy.status, 403);
    assert.match(policy.json.error.detail, /mandatory: Resolution code, Resolution notes/);
  });

  it('resolves an incident once and is a no-op afterwards', async () => {
    const cfg = basic(sim);
    const first = await resolveIncident.handler({ ticket: 'INC0010001', closeCode: 'Solution provided', closeNotes: 'Device wiped, IP blocked.' }, ctx(cfg));
    assert.deepEqual({ ...first, id: '' }, { id: '', key: 'INC0010001', state: '6', resolved: true });
    const second = await resolveIncident.handler({ ticket: 'INC0010001', closeCode: 'Solution provided', closeNotes: 'again' }, ctx(cfg));
    assert.equal(second.resolved, false);
    const inc = sim.incidents().find((i) => i.number === 'INC0010001')!;
    assert.deepEqual([inc.state, inc.close_code, inc.close_notes, inc.active], ['6', 'Solution provided', 'Device wiped, IP blocked.', 'true']);
    assert.notEqual(inc.resolved_at, '');
  });

  it('adds work notes with a marker that reconcile finds (journal table, or display value when the ACL forbids it)', async () => {
    const cfg = basic(sim);
    assert.deepEqual(await addWorkNote.reconcile!({ ticket: 'INC0010002', note: 'x' }, rctx(cfg, 'run-5:2')), { applied: false });
    sim.injectFault({ method: 'PATCH', pathPrefix: '/api/now/table/incident/', dropReply: true });
    const lost = await rejects(addWorkNote.handler({ ticket: 'INC0010002', note: 'Blocked 203.0.113.7.' }, ctx(cfg, 'run-5:2')), RetryableError);
    assert.equal(lost.applied, 'unknown');
    const inc = sim.incidents().find((i) => i.number === 'INC0010002')!;
    assert.deepEqual(sim.journalOf(inc.sys_id!).map((j) => [j.element, j.value]), [['work_notes', 'Blocked 203.0.113.7.\n\n[riposte:run-5:2]']]);
    const found = await addWorkNote.reconcile!({ ticket: 'INC0010002', note: 'Blocked 203.0.113.7.' }, rctx(cfg, 'run-5:2'));
    assert.deepEqual(found, { applied: true, output: { id: inc.sys_id, key: 'INC0010002' } });
    assert.equal(sim.callsTo('GET', '/api/now/table/sys_journal_field').length, 2);
    assert.deepEqual(await addWorkNote.reconcile!({ ticket: 'INC0010002', note: 'x' }, rctx(cfg, 'run-6:2')), { applied: false });
    assert.deepEqual(await addWorkNote.reconcile!({ ticket: 'INC0099999', note: 'x' }, rctx(cfg, 'run-5:2')), { applied: false });

    sim.journalReadable = false;
    try {
      const viaDisplay = await addWorkNote.reconcile!({ ticket: inc.sys_id!, note: 'x' }, rctx(cfg, 'run-5:2'));
      assert.equal(viaDisplay.applied, true);
      assert.deepEqual(await addWorkNote.reconcile!({ ticket: inc.sys_id!, note: 'x' }, rctx(cfg, 'run-7:2')), { applied: false });
    } finally {
      sim.journalReadable = true;
    }
    sim.injectFault({ method: 'GET', pathPrefix: '/api/now/table/incident', status: 503 });
    const unsure = await addWorkNote.reconcile!({ ticket: 'INC0010002', note: 'x' }, rctx(cfg, 'run-5:2'));
    assert.equal(unsure.applied, 'unknown');
  });

  it('validates the asset configuration', () => {
    const none = serviceNowApp.config.safeParse({ url: sim.url });
    assert.equal(none.success, false);
    assert.deepEqual(none.error!.issues.map((i) => i.path.join('.')), ['username']);
    const half = serviceNowApp.config.safeParse({ url: sim.url, username: 'u', password: 'p', clientId: 'c' });
    assert.deepEqual(half.error!.issues.map((i) => i.path.join('.')), ['clientSecret']);
    assert.deepEqual([...serviceNowApp.secrets].sort(), ['accessToken', 'clientSecret', 'password']);
  });
});
