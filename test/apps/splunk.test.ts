import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { splunkApp, statusId } from '../../src/apps/splunk/index.js';
import { readExportStream } from '../../src/apps/splunk/client.js';
import { SplunkSimulator } from '../../lab/splunk-sim.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext as ctx, reconcileContext as rctx } from '../support/action-context.js';

const { runSearch, updateNotable, sendEvent } = splunkApp.actions;
type Cfg = Parameters<typeof runSearch.handler>[1]['config'];

const AUTH = 'splunk-token-Kx91';
const HEC = '6f1c2d3e-0000-4000-8000-00000000a001';
const HEC_ACK = '6f1c2d3e-0000-4000-8000-00000000a002';
const now = Math.floor(Date.now() / 1000);

function cfgFor(sim: SplunkSimulator, over: Record<string, unknown> = {}): Cfg {
  return splunkApp.config.parse({ managementUrl: `${sim.url}/`, hecUrl: sim.url, authToken: AUTH, hecToken: HEC, ...over });
}

async function hecRaw(sim: SplunkSimulator, body: string, headers: Record<string, string> = { authorization: `Splunk ${HEC}` }, path = '/services/collector/event'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

describe('Splunk app against the lab simulator', () => {
  let sim: SplunkSimulator;
  before(async () => {
    sim = new SplunkSimulator({
      authToken: AUTH,
      users: { admin: 'lab-admin-pw' },
      hecTokens: { [HEC]: { defaultIndex: 'main', indexes: ['main', 'soar'] }, [HEC_ACK]: { defaultIndex: 'soar', useAck: true } },
      indexes: {
        main: [],
        soar: [],
        web: [
          { _time: String(now - 60), _raw: 'GET /login 500', host: 'web1', status: '500', clientip: '203.0.113.7', tags: 'a' },
          { _time: String(now - 120), _raw: 'GET /login 200', host: 'web1', status: '200', clientip: '198.51.100.2' },
          { _time: String(now - 180), _raw: 'POST /api 500', host: 'web2', status: '500', clientip: '203.0.113.9' },
          { _time: String(now - 3 * 86400), _raw: 'GET /old 500', host: 'web2', status: '500', clientip: '192.0.2.1' },
        ],
      },
      notables: [{ event_id: 'nb-1', search_id: 'sid-A' }, { event_id: 'nb-2', search_id: 'sid-A' }, { event_id: 'nb-3', search_id: 'sid-B' }],
      resultsMode: 'mixed',
      searchMessages: [{ type: 'INFO', text: 'Your timerange was substituted based on your search string' }],
      emitPreview: true,
    });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('runs a search through the export stream, reading results, result and messages lines', async () => {
    const out = await runSearch.handler(runSearch.input.parse({ query: 'index=web status=500 | fields clientip, host', earliestTime: '-24h' }), ctx(cfgFor(sim)));
    const form = new URLSearchParams(sim.callsTo('POST', '/services/search/v2/jobs/export').at(-1)!.body);
    assert.equal(form.get('search'), 'search index=web status=500 | fields clientip, host');
    assert.deepEqual([form.get('output_mode'), form.get('earliest_time'), form.get('latest_time')], ['json', '-24h', null]);
    assert.deepEqual(out.rows.map((r) => [r.clientip, r.host]), [['203.0.113.7', 'web1'], ['203.0.113.9', 'web2']]);
    assert.ok(out.rows.every((r) => r.preview_marker === undefined), 'preview lines are skipped');
    assert.deepEqual(out.messages, [{ type: 'INFO', text: 'Your timerange was substituted based on your search string' }]);
    assert.equal(out.truncated, false);
    // The stream really mixed line kinds: one `results` batch, then single `result` lines.
    const r = await fetch(`${sim.url}/services/search/v2/jobs/export`, { method: 'POST', headers: { authorization: `Bearer ${AUTH}` }, body: form });
    const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => Object.keys(l).find((k) => ['messages', 'results', 'result'].includes(k))), ['messages', 'result', 'results', 'result']);
    assert.equal(lines[1].preview, true);

    const piped = await runSearch.handler(runSearch.input.parse({ query: '| makeresults count=3' }), ctx(cfgFor(sim)));
    assert.equal(piped.rows.length, 3);
    assert.equal(new URLSearchParams(sim.callsTo('POST', '/services/search/v2/jobs/export').at(-1)!.body).get('search'), '| makeresults count=3');
  });

  it('caps rows at maxRows, reports truncation, and passes WARN messages through', async () => {
    const capped = await runSearch.handler(runSearch.input.parse({ query: 'search index=web', maxRows: 2 }), ctx(cfgFor(sim)));
    assert.deepEqual([capped.rows.length, capped.truncated], [2, true]);
    const head = await runSearch.handler(runSearch.input.parse({ query: 'search index=web | head 2', maxRows: 2 }), ctx(cfgFor(sim)));
    assert.deepEqual([head.rows.length, head.truncated], [2, false]);
    const missing = await runSearch.handler(runSearch.input.parse({ query: 'index=nope' }), ctx(cfgFor(sim)));
    assert.deepEqual(missing.rows, []);
    assert.ok(missing.messages.some((m) => m.type === 'WARN' && /index 'nope'/.test(m.text)));
  });

  it('reassembles lines split across chunks and joins multivalue fields', async () => {
    const text = [
      '{"messages":[{"type":"WARN","text":"skew"}]}',
      '{"preview":true,"result":{"x":"p"}}',
      '{"preview":false,"offset":0,"result":{"user":"zoë","mv":["a","b"]}}',
      '{"preview":false,"init_offset":1,"results":[{"user":"bob"},{"user":"eve"}]}',
      '{"preview":false,"lastrow":true,"offset":3,"result":{"user":"mallory"}}',
    ].join('\n');
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < bytes.length; i += 7) ctrl.enqueue(bytes.slice(i, i + 7)); // splits lines and the UTF-8 'ë'
        ctrl.close();
      },
    });
    const out = await readExportStream(stream, 10);
    assert.deepEqual(out.rows, [{ user: 'zoë', mv: 'a\nb' }, { user: 'bob' }, { user: 'eve' }, { user: 'mallory' }]);
    assert.deepEqual(out.messages, [{ type: 'WARN', text: 'skew' }]);
    const bad = new ReadableStream<Uint8Array>({ start(ctrl) { ctrl.enqueue(new TextEncoder().encode('{"result":{}}\nnot json\n')); ctrl.close(); } });
    await rejects(readExportStream(bad, 10), RetryableError);
  });

  it('turns a failed search into a TerminalError with Splunk\'s text', async () => {
    const err = await rejects(runSearch.handler(runSearch.input.parse({ query: 'index=web | frobnicate' }), ctx(cfgFor(sim))), TerminalError);
    assert.equal(err.status, 400);
    assert.match(err.message, /Unknown search command 'frobnicate'/);
    sim.searchMessages.push({ type: 'FATAL', text: 'Search auto-canceled' });
    try {
      const fatal = await rejects(runSearch.handler(runSearch.input.parse({ query: 'index=web' }), ctx(cfgFor(sim))), TerminalError);
      assert.match(fatal.message, /search failed: Search auto-canceled/);
    } finally {
      sim.searchMessages.pop();
    }
  });

  it('maps a bad token to a TerminalError without the token; Basic auth works', async () => {
    const err = await rejects(runSearch.handler(runSearch.input.parse({ query: 'index=web' }), ctx(cfgFor(sim, { authToken: 'bad-token-4455' }))), TerminalError);
    assert.equal(err.status, 401);
    assert.match(err.message, /call not properly authenticated/);
    assert.ok(!err.message.includes('bad-token-4455'));
    const basic = splunkApp.config.parse({ managementUrl: sim.url, username: 'admin', password: 'lab-admin-pw' });
    assert.deepEqual(await splunkApp.testConnectivity!(ctx(basic)), { ok: true, detail: 'Splunk 9.2.1 on lab-splunk' });
    const wrong = await rejects(splunkApp.testConnectivity!(ctx({ ...basic, password: 'nope-pw-77' })), TerminalError);
    assert.ok(!wrong.message.includes('nope-pw-77'));
  });

  it('maps 429 to a RetryableError not applied and 5xx to unknown', async () => {
    sim.injectFault({ pathPrefix: '/services/notable_update', status: 429, headers: { 'retry-after': '9' }, body: '{"messages":[{"type":"ERROR","text":"Too many requests"}]}' });
    const limited = await rejects(updateNotable.handler(updateNotable.input.parse({ eventIds: ['nb-1'], status: 2 }), ctx(cfgFor(sim))), RetryableError);
    assert.deepEqual([limited.retryAfterMs, limited.applied], [9000, 'no']);
    assert.match(limited.message, /Too many requests/);
    sim.injectFault({ pathPrefix: '/services/notable_update', status: 500, body: '{"messages":[{"type":"ERROR","text":"Internal error"}]}' });
    const down = await rejects(updateNotable.handler(updateNotable.input.parse({ eventIds: ['nb-1'], status: 2 }), ctx(cfgFor(sim))), RetryableError);
    assert.equal(down.applied, 'unknown');
  });

  it('updates notables by event id or search id, mapping status names; comments are added each time', async () => {
    const input = updateNotable.input.parse({ eventIds: ['nb-1', 'nb-404'], status: 'In Progress', urgency: 'high', comment: 'Riposte: device wiped', newOwner: 'analyst1', disposition: 2 });
    const out = await updateNotable.handler(input, ctx(cfgFor(sim)));
    assert.deepEqual(out, { success: true, successCount: 1, failureCount: 1, message: '1 event updated successfully' });
    const form = new URLSearchParams(sim.callsTo('POST', '/services/notable_update').at(-1)!.body);
    assert.deepEqual(form.getAll('ruleUIDs'), ['nb-1', 'nb-404']);
    assert.deepEqual([form.get('status'), form.get('disposition'), form.get('newOwner')], ['2', 'disposition:2', 'analyst1']);
    await updateNotable.handler(input, ctx(cfgFor(sim)));
    const nb1 = sim.notables.get('nb-1')!;
    assert.deepEqual([nb1.status, nb1.urgency, nb1.owner, nb1.disposition], [2, 'high', 'analyst1', 'disposition:2']);
    assert.equal(nb1.comments.length, 2, 'a repeat adds the comment again');

    const bySearch = await updateNotable.handler(updateNotable.input.parse({ searchId: 'sid-A', status: 'closed' }), ctx(cfgFor(sim)));
    assert.equal(bySearch.successCount, 2);
    assert.deepEqual([sim.notables.get('nb-2')!.status, sim.notables.get('nb-3')!.status], [5, 1]);
    assert.deepEqual([statusId('resolved'), statusId('in_progress'), statusId('7'), statusId(0)], [4, 2, 7, 0]);
  });

  it('refuses notable updates that cannot apply, naming the field', async () => {
    const cfg = cfgFor(sim);
    const none = await rejects(updateNotable.handler(updateNotable.input.parse({ eventIds: ['nb-404'], status: 2 }), ctx(cfg)), TerminalError);
    assert.match(none.message, /No matching notable events/);
    const badName = await rejects(updateNotable.handler(updateNotable.input.parse({ eventIds: ['nb-1'], status: 'escalated' }), ctx(cfg)), TerminalError);
    assert.match(badName.message, /status "escalated"/);
    const badId = await rejects(updateNotable.handler(updateNotable.input.parse({ eventIds: ['nb-1'], status: 9 }), ctx(cfg)), TerminalError);
    assert.deepEqual([badId.status, /Invalid status '9'/.test(badId.message)], [400, true]);
    await rejects(updateNotable.handler(updateNotable.input.parse({ status: 2 }), ctx(cfg)), TerminalError).then((e) => assert.match(e.message, /eventIds or searchId/));
    await rejects(updateNotable.handler(updateNotable.input.parse({ eventIds: ['nb-1'] }), ctx(cfg)), TerminalError).then((e) => assert.match(e.message, /status, urgency/));
    assert.equal(updateNotable.input.safeParse({ eventIds: ['x'], urgency: 'urgent' }).error?.issues[0]?.path[0], 'urgency');
  });

  it('sends an event to HEC with riposte_id, and reconcile finds it by that indexed field', async () => {
    const cfg = cfgFor(sim);
    const out = await sendEvent.handler(sendEvent.input.parse({ event: { action: 'wipe', device: 'iphone-7' }, sourcetype: 'riposte:audit', index: 'soar', fields: { playbook: 'mobile' } }), ctx(cfg, 'run-42:5'));
    assert.deepEqual(out, { ok: true });
    const [ev] = sim.events('soar');
    assert.deepEqual([ev!.riposte_id, ev!.playbook, ev!.action, ev!.sourcetype], ['run-42:5', 'mobile', 'wipe', 'riposte:audit']);
    const input = sendEvent.input.parse({ event: 'x', index: 'soar' });
    assert.deepEqual(await sendEvent.reconcile!(input, rctx(cfg, 'run-42:5')), { applied: true, output: { ok: true } });
    assert.deepEqual(await sendEvent.reconcile!(input, { ...ctx(cfg, 'run-43:5'), intentAt: new Date() }), { applied: false });
    assert.deepEqual(await sendEvent.reconcile!(sendEvent.input.parse({ event: 'x' }), rctx(cfg, 'run-42:5')), { applied: true, output: { ok: true } });
    sim.injectFault({ pathPrefix: '/services/search', status: 503 });
    assert.equal((await sendEvent.reconcile!(input, rctx(cfg, 'run-42:5'))).applied, 'unknown');
    const acked = await sendEvent.handler(sendEvent.input.parse({ event: 'hello' }), ctx(cfgFor(sim, { hecToken: HEC_ACK })));
    assert.equal(acked.ackId, 0);
  });

  it('maps HEC error codes: busy is retryable, bad token and bad index are terminal', async () => {
    const cfg = cfgFor(sim);
    sim.hecBusy = true;
    try {
      const busy = await rejects(sendEvent.handler(sendEvent.input.parse({ event: 'x' }), ctx(cfg)), RetryableError);
      assert.deepEqual([busy.status, busy.vendorCode, busy.applied], [503, '9', 'no']);
      assert.match(busy.message, /Server is busy/);
    } finally {
      sim.hecBusy = false;
    }
    const token = await rejects(sendEvent.handler(sendEvent.input.parse({ event: 'x' }), ctx(cfgFor(sim, { hecToken: 'not-a-real-hec-token' }))), TerminalError);
    assert.deepEqual([token.status, token.vendorCode], [403, '4']);
    assert.ok(!token.message.includes('not-a-real-hec-token'));
    const index = await rejects(sendEvent.handler(sendEvent.input.parse({ event: 'x', index: 'web' }), ctx(cfg)), TerminalError);
    assert.deepEqual([index.status, index.vendorCode], [400, '7']);
    assert.match(index.message, /Incorrect index/);
    sim.injectFault({ pathPrefix: '/services/collector', status: 500, body: '{"text":"Internal server error","code":8}' });
    assert.equal((await rejects(sendEvent.handler(sendEvent.input.parse({ event: 'x' }), ctx(cfg)), RetryableError)).applied, 'unknown');
    const noHec = await rejects(sendEvent.handler(sendEvent.input.parse({ event: 'x' }), ctx(cfgFor(sim, { hecToken: undefined }))), TerminalError);
    assert.match(noHec.message, /no hecToken/);
  });

  it('HEC parses concatenated batches and answers the documented error table', async () => {
    const before = sim.events('main').length;
    const ok = await hecRaw(sim, '{"event":{"a":1},"sourcetype":"soar:audit"}{"event":"two"}\n {"event":{"a":3},"fields":{"k":["x","y"]}}');
    assert.deepEqual([ok.status, ok.json], [200, { text: 'Success', code: 0 }]);
    assert.equal(sim.events('main').length - before, 3);
    const second = await hecRaw(sim, '{"event":"ok"}{"sourcetype":"x"}');
    assert.deepEqual([second.status, second.json], [400, { text: 'Event field is required', code: 12, 'invalid-event-number': 1 }]);
    assert.equal(sim.events('main').length - before, 3, 'a refused batch indexes nothing');
    const cases: Array<[string, Record<string, string>, number, number, string?]> = [
      ['', { authorization: `Splunk ${HEC}` }, 400, 5],
      ['{"event":"x"', { authorization: `Splunk ${HEC}` }, 400, 6],
      ['{"event":""}', { authorization: `Splunk ${HEC}` }, 400, 13],
      ['{"event":"x","fields":{"o":{"n":1}}}', { authorization: `Splunk ${HEC}` }, 400, 15],
      ['{"event":"x"}', {}, 401, 2],
      ['{"event":"x"}', { authorization: `Bearer ${HEC}` }, 401, 3],
      ['{"event":"x"}', { authorization: `Splunk ${HEC_ACK}` }, 400, 10],
      ['{"event":"x"}', { authorization: `Splunk ${HEC}`, 'x-splunk-request-channel': 'not-a-guid' }, 400, 11],
    ];
    for (const [body, headers, status, code] of cases) {
      const r = await hecRaw(sim, body, headers);
      assert.deepEqual([r.status, r.json.code], [status, code], `body ${JSON.stringify(body)} headers ${JSON.stringify(headers)}`);
    }
    const q = await hecRaw(sim, '{"event":"x"}', {}, `/services/collector/event?token=${HEC}`);
    assert.deepEqual([q.status, q.json.code], [400, 16]);
    const channel = '0b8d4c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e';
    const sent = await hecRaw(sim, '{"event":"x"}', { authorization: `Splunk ${HEC_ACK}`, 'x-splunk-request-channel': channel });
    const ack = await hecRaw(sim, JSON.stringify({ acks: [sent.json.ackId, 999] }), { authorization: `Splunk ${HEC_ACK}`, 'x-splunk-request-channel': channel }, '/services/collector/ack');
    assert.deepEqual(ack.json, { acks: { [sent.json.ackId]: true, 999: false } });
    const health = await fetch(`${sim.url}/services/collector/health`).then((r) => r.json());
    assert.deepEqual(health, { text: 'HEC is healthy', code: 17 });
  });

  it('validates the asset configuration and refuses verifyTls=false on https', async () => {
    const none = splunkApp.config.safeParse({ managementUrl: sim.url });
    assert.deepEqual(none.error?.issues.map((i) => i.path.join('.')), ['authToken']);
    const insecure = splunkApp.config.parse({ managementUrl: 'https://splunk.invalid:8089', authToken: 't', verifyTls: false });
    const err = await rejects(splunkApp.testConnectivity!(ctx(insecure)), TerminalError);
    assert.match(err.message, /verifyTls=false is not supported/);
    assert.deepEqual([...splunkApp.secrets].sort(), ['authToken', 'hecToken', 'password']);
  });
});
