import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_TOKEN_VALUES, TOKENS, assertError, assertNothingWritten, foundingAlert, makeHarness, throwingStore, type Harness,
} from './harness.js';
import { splunkWebhookSchema } from '../../src/ingest/splunk-webhook.js';
import {
  DEFAULT_SPLUNK_MAPPING, UNMAPPED_LABEL, applyMapping, sourceMappingSchema, type SourceMapping,
} from '../../src/ingest/mapping.js';
import { FOUNDING_SPLUNK_MAPPING } from '../../lab/founding-mapping.js';
import { INTERNAL_ERROR_BODY } from '../../src/api/errors.js';

const URL = '/api/v1/ingest/splunk';
const url = (token: string) => `${URL}?token=${encodeURIComponent(token)}`;

// VENDOR-APIS.md §1a, byte for byte.
const SAMPLE_BODY = `{"sid":"scheduler__admin__search__W2_at_14232356_132",
 "search_name":"Brute force","app":"search","owner":"admin",
 "results_link":"http://web.example.local:8000/app/search/@go?sid=scheduler__admin__search__W2_at_14232356_132",
 "result":{"sourcetype":"mongod","count":"8"}}`;

describe('POST /api/v1/ingest/splunk', () => {
  let h: Harness;
  beforeEach(async () => { h = await makeHarness(); });
  afterEach(async () => { await h.close(); });

  const post = (payload: unknown, token: string | null = TOKENS.splunk, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST', url: token === null ? URL : url(token),
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('stores the founding alert with mapped CEF and contains types, starts the matching run, answers 201', async () => {
    const alert = foundingAlert();
    const res = await post(alert);
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { incidentId: number; created: boolean; runs: string[] };
    assert.equal(body.created, true);
    assert.equal(body.runs.length, 1);
    assert.equal(res.headers['location'], `/api/v1/incidents/${body.incidentId}`);
    assert.equal(h.waker.wakes, 1);

    const inc = await h.store.getIncident(body.incidentId);
    assert.ok(inc);
    assert.equal(inc.label, 'mobile-unauthorized-ip');
    assert.equal(inc.severity, 'critical');
    assert.equal(inc.source, 'splunk');
    assert.equal(inc.sourceId, alert['sid']);
    assert.equal(inc.artifacts.length, 1);
    const art = inc.artifacts[0]!;
    assert.equal(art.name, 'Splunk alert Mobile device reached unauthorized IP');
    assert.deepEqual(art.cef, {
      destinationAddress: '203.0.113.66', sourceAddress: '10.20.30.40', sourceUserName: 'alice',
      deviceExternalId: 'intune-dev-0042', deviceHostname: 'ALICE-IPHONE', sourceMacAddress: '02:42:ac:11:00:02',
      destinationPort: '443', cs1Label: 'results_link', cs1: (alert['results_link'] as string),
    });
    assert.deepEqual(art.contains, {
      destinationAddress: ['ip'], sourceAddress: ['ip'], sourceUserName: ['user name'], deviceExternalId: ['device id'],
      deviceHostname: ['host name'], sourceMacAddress: ['mac address'], destinationPort: ['port'],
    });
    const runs = await h.store.listRuns({ incidentId: body.incidentId });
    assert.deepEqual(runs.map((r) => r.id), body.runs);
    assert.equal(runs[0]!.playbookId, 'test-mobile');
    const audit = await h.store.listAudit({ after: 0, limit: 500 });
    assert.ok(audit.some((e) => e.actor === 'source:splunk'), 'the ingest is audited with the source as actor');
  });

  it('dedupes on sid: the second delivery answers 200 created:false with repeatCount 1', async () => {
    const first = await post(foundingAlert('sid-dup-1'));
    assert.equal(first.statusCode, 201);
    const second = await post(foundingAlert('sid-dup-1'));
    assert.equal(second.statusCode, 200, second.body);
    const incidentId = (first.json() as { incidentId: number }).incidentId;
    assert.deepEqual(second.json(), { incidentId, created: false, repeatCount: 1 });
    assert.equal((await h.store.listIncidents({})).length, 1);
    assert.equal((await h.store.listRuns({})).length, 1, 'a duplicate starts no run');
    assert.equal(h.waker.wakes, 1);
    const third = await post(foundingAlert('sid-dup-2'));
    assert.equal(third.statusCode, 201, 'another sid is another incident');
  });

  it('product default: an unlabelled search becomes a splunk-unmapped incident naming the search, no run', async () => {
    const alert = { ...foundingAlert('sid-vpn-1'), search_name: 'Brute force on VPN' };
    const res = await post(alert, TOKENS.splunkDefault);
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { incidentId: number; created: boolean; runs: string[] };
    assert.deepEqual(body.runs, []);
    assert.equal(h.waker.wakes, 0);
    const inc = await h.store.getIncident(body.incidentId);
    assert.equal(inc?.label, 'splunk-unmapped');
    assert.deepEqual(inc?.tags, ['unmapped-search']);
    assert.match(inc?.description ?? '',
      /^No label is mapped for Splunk search "Brute force on VPN", so it is labelled splunk-unmapped/);
    assert.match(inc?.description ?? '', /label\.fromSearchName of source "splunk-default"/);
    assert.equal(inc?.name, 'Splunk alert Brute force on VPN');
    assert.equal(inc?.artifacts[0]?.cef['sourceUserName'], 'alice', 'the CEF fields are mapped as usual');
    // Not even the founding search reaches a playbook through the product default, nor an unnamed one.
    const others = [['sid-founding-default', 'Mobile device reached unauthorized IP'], ['sid-unnamed', null]] as const;
    for (const [sid, name] of others) {
      const r = await post({ ...foundingAlert(sid), search_name: name }, TOKENS.splunkDefault);
      assert.equal(r.statusCode, 201, r.body);
      assert.deepEqual((r.json() as { runs: string[] }).runs, []);
    }
    assert.deepEqual((await h.store.listIncidents({})).map((i) => i.label), Array(3).fill(UNMAPPED_LABEL));
    assert.match((await h.store.listIncidents({}))[0]!.description ?? '', /Splunk search \(unnamed\)/);
    assert.equal(h.waker.wakes, 0);
  });

  it('the demo mapping labels only the founding searches; any other search is unmapped', async () => {
    const founding = await post(foundingAlert('sid-f-1'));
    assert.equal((founding.json() as { runs: string[] }).runs.length, 1);
    const vpn = await post({ ...foundingAlert('sid-vpn-2'), search_name: 'Brute force on VPN' });
    assert.equal(vpn.statusCode, 201, vpn.body);
    assert.deepEqual((vpn.json() as { runs: string[] }).runs, []);
    const inc = await h.store.getIncident((vpn.json() as { incidentId: number }).incidentId);
    assert.equal(inc?.label, UNMAPPED_LABEL);
  });

  it('creates no run when the mapped label matches no playbook', async () => {
    const res = await post(foundingAlert(), TOKENS.splunkOtherLabel);
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual((res.json() as { runs: string[] }).runs, []);
    assert.equal(h.waker.wakes, 0);
    const [inc] = await h.store.listIncidents({});
    assert.equal(inc?.label, 'other-label');
  });

  it('accepts the exact sample body of VENDOR-APIS.md §1a, and the same with search_name null', async () => {
    const sample = JSON.parse(SAMPLE_BODY) as Record<string, unknown>;
    assert.equal(splunkWebhookSchema.safeParse(sample).success, true);
    assert.equal(splunkWebhookSchema.safeParse({ ...sample, search_name: null }).success, true);

    const res = await post(SAMPLE_BODY, TOKENS.splunkSample);
    assert.equal(res.statusCode, 201, res.body);
    const nullName = await post({ ...sample, sid: 'sample-null-name', search_name: null }, TOKENS.splunkSample);
    assert.equal(nullName.statusCode, 201, nullName.body);

    const [second, first] = await h.store.listIncidents({});
    assert.equal(first?.label, 'brute-force');
    assert.equal(second?.label, 'splunk-alert', 'null search_name falls back to the default label');
    const detail = await h.store.getIncident(second!.id);
    assert.equal(detail?.name, 'Splunk alert sample-null-name');
    assert.deepEqual(detail?.artifacts[0]?.cef['cnt'], '8');
  });

  it('severity: CEF numeric scale and words map; absent falls back to the default (high)', async () => {
    const withSeverity = (sid: string, severity: string | undefined) => {
      const a = foundingAlert(sid);
      const result = { ...(a['result'] as Record<string, string>) };
      if (severity === undefined) delete result['severity']; else result['severity'] = severity;
      return { ...a, result };
    };
    for (const [sid, sev, expected] of [['s1', '3', 'low'], ['s2', 'Medium', 'medium'], ['s3', undefined, 'high'], ['s4', '9', 'critical']] as const) {
      const res = await post(withSeverity(sid, sev));
      assert.equal(res.statusCode, 201);
      const inc = await h.store.getIncident((res.json() as { incidentId: number }).incidentId);
      assert.equal(inc?.severity, expected, `severity ${String(sev)}`);
    }
  });

  it('ignores unknown top-level keys (Splunk does not retry a refused alert)', async () => {
    const res = await post({ ...foundingAlert(), future_field: { x: 1 } });
    assert.equal(res.statusCode, 201, res.body);
  });

  it('leaves missing mapped fields out', async () => {
    const a = foundingAlert();
    const res = await post({ ...a, result: { dest_ip: '198.51.100.7', extra_field: 'x' } });
    assert.equal(res.statusCode, 201, res.body);
    const inc = await h.store.getIncident((res.json() as { incidentId: number }).incidentId);
    assert.equal(inc?.artifacts[0]?.cef['destinationAddress'], '198.51.100.7');
    assert.equal(inc?.artifacts[0]?.cef['sourceAddress'], undefined);
    assert.equal(inc?.artifacts[0]?.cef['extra_field'], undefined);
  });

  describe('refuses bad requests and writes nothing', () => {
    it('401 without a token', async () => {
      assertError(await post(foundingAlert(), null), 401, 'unauthorized');
      await assertNothingWritten(h);
    });
    it('401 with an unknown token, an empty token or an API token', async () => {
      assertError(await post(foundingAlert(), 'not-a-token'), 401, 'unauthorized');
      assertError(await post(foundingAlert(), ''), 401, 'unauthorized');
      assertError(await post(foundingAlert(), TOKENS.admin), 401, 'unauthorized');
      assertError(await post(foundingAlert(), 'x'.repeat(2000)), 401, 'unauthorized');
      await assertNothingWritten(h);
    });
    it('403 with the token of a generic source', async () => {
      assertError(await post(foundingAlert(), TOKENS.generic), 403, 'forbidden');
      await assertNothingWritten(h);
    });
    it('401 before reading the body: a bad body with a bad token is still 401', async () => {
      assertError(await post('{not json', 'not-a-token'), 401, 'unauthorized');
      await assertNothingWritten(h);
    });
    it('400 invalid_json for a body that is not JSON, and for an empty JSON body', async () => {
      assertError(await post('{"sid": "x",'), 400, 'invalid_json');
      assertError(await post(''), 400, 'invalid_json');
      await assertNothingWritten(h);
    });
    it('415 for text/plain and form bodies', async () => {
      assertError(await post(JSON.stringify(foundingAlert()), TOKENS.splunk, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      assertError(await post('sid=1', TOKENS.splunk, { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
      await assertNothingWritten(h);
    });
    it('413 for a body over the limit (default 1 MiB)', async () => {
      const big = { ...foundingAlert(), result: { dest_ip: '203.0.113.1', pad: 'x'.repeat(1024 * 1024) } };
      assertError(await post(big), 413, 'body_too_large');
      await assertNothingWritten(h);
    });
    it('400 invalid_body naming each missing or mistyped field', async () => {
      const a = foundingAlert();
      const { sid: _sid, ...noSid } = a;
      let e = assertError(await post(noSid), 400, 'invalid_body');
      assert.deepEqual(e.error.details?.map((d) => [d.path, d.message]), [['sid', 'required']]);
      assert.match(e.error.message, /sid: required/);

      const { search_name: _sn, ...noSearchName } = a;
      e = assertError(await post(noSearchName), 400, 'invalid_body');
      assert.deepEqual(e.error.details?.map((d) => d.path), ['search_name'], 'null is allowed, absent is not');

      e = assertError(await post({ ...a, sid: 42, owner: null }), 400, 'invalid_body');
      assert.deepEqual(e.error.details?.map((d) => [d.path, d.message]), [['sid', 'expected string, got number'], ['owner', 'expected string, got null']]);

      e = assertError(await post({ ...a, result: { dest_ip: '1.2.3.4', count: 8 } }), 400, 'invalid_body');
      assert.deepEqual(e.error.details?.map((d) => d.path), ['result.count']);

      e = assertError(await post({ ...a, result: 'dest_ip=1.2.3.4' }), 400, 'invalid_body');
      assert.deepEqual(e.error.details?.map((d) => d.path), ['result']);

      e = assertError(await post([a]), 400, 'invalid_body');
      assert.deepEqual(e.error.details?.map((d) => d.path), ['(root)']);
      await assertNothingWritten(h);
    });
    it('422 unmappable, naming the missing fields, when the alert yields no CEF field', async () => {
      const e = assertError(await post(SAMPLE_BODY), 422, 'unmappable');
      const paths = e.error.details?.map((d) => d.path) ?? [];
      assert.ok(paths.includes('result.dest_ip') && paths.includes('result.device_id'), e.error.message);
      assert.match(e.error.message, /dest_ip/);
      await assertNothingWritten(h);
    });
    it('500 source_misconfigured for a source with an invalid stored mapping', async () => {
      const res = await post(foundingAlert(), TOKENS.splunkBadMapping);
      const e = assertError(res, 500, 'source_misconfigured');
      assert.doesNotMatch(e.error.message, /42/);
      await assertNothingWritten(h);
    });
    it('405 for another method on the route, 404 for an unknown route', async () => {
      const res = await h.app.inject({ method: 'GET', url: url(TOKENS.splunk) });
      assertError(res, 405, 'method_not_allowed');
      assert.equal(res.headers['allow'], 'POST');
      const nf = assertError(await h.app.inject({ method: 'POST', url: `/api/v1/ingest/splonk?token=${TOKENS.splunk}` }), 404, 'not_found');
      assert.doesNotMatch(nf.error.message, /token/, 'the query string is not echoed');
      await assertNothingWritten(h);
    });
  });

  it('never writes the source token to the log', async () => {
    await post(foundingAlert('log-1'));
    await post(foundingAlert('log-1'));
    await post('{bad', TOKENS.splunk);
    await post(foundingAlert(), TOKENS.generic);
    await post(foundingAlert(), 'unknown-token-value-123');
    await h.app.inject({ method: 'GET', url: url(TOKENS.splunk) });
    await h.app.inject({ method: 'POST', url: `/api/v1/nowhere?token=${TOKENS.splunk}` });
    const log = h.logs.join('');
    assert.ok(h.logs.length > 5, 'requests are logged');
    assert.match(log, /token=REDACTED/);
    for (const t of [...ALL_TOKEN_VALUES, 'unknown-token-value-123']) assert.ok(!log.includes(t), `token ${t} leaked into the log`);
  });
});

describe('POST /api/v1/ingest/splunk when the store fails', () => {
  let h: Harness;
  before(async () => { h = await makeHarness({ wrapStore: throwingStore('ingest') }); });
  after(async () => { await h.close(); });

  it('answers a generic 500 without internals and logs the cause server-side', async () => {
    const res = await h.app.inject({
      method: 'POST', url: url(TOKENS.splunk), headers: { 'content-type': 'application/json' }, payload: JSON.stringify(foundingAlert()),
    });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), INTERNAL_ERROR_BODY);
    assert.deepEqual(res.json(), { error: { code: 'internal', message: 'internal error' } });
    assert.doesNotMatch(res.body, /SQLITE|secret-path/);
    assert.match(h.logs.join(''), /secret-path/, 'the cause is in the server log');
    await assertNothingWritten(h);
  });
});

describe('source mapping', () => {
  const row = { searchName: 'Mobile device reached unauthorized IP', fields: { dest_ip: '203.0.113.66', user: 'alice', severity: 'bogus' } };

  it('DEFAULT_SPLUNK_MAPPING and the demo mapping are valid; the product default labels no search', () => {
    assert.equal(sourceMappingSchema.safeParse(DEFAULT_SPLUNK_MAPPING).success, true);
    assert.equal(sourceMappingSchema.safeParse(FOUNDING_SPLUNK_MAPPING).success, true);
    assert.deepEqual(DEFAULT_SPLUNK_MAPPING.label, { fromSearchName: {} });
  });

  it('renders the name template from search_name and result fields; missing ones render empty', () => {
    const m: SourceMapping = { ...DEFAULT_SPLUNK_MAPPING, name: '{search_name}: {user} -> {dest_ip} {device_name}' };
    const out = applyMapping(m, row);
    assert.ok(out.ok);
    assert.equal(out.value.name, 'Mobile device reached unauthorized IP: alice -> 203.0.113.66');
    assert.equal(out.value.severity, 'high', 'an unmapped severity value falls back to the default');
  });

  it('explicit contains types override the defaults; fixed label and severity', () => {
    const m: SourceMapping = { label: 'x', severity: 'low', cef: { destinationAddress: 'dest_ip', custom: 'user' }, contains: { custom: ['user name'], destinationAddress: ['ip', 'c2'] } };
    const out = applyMapping(m, row);
    assert.ok(out.ok);
    assert.deepEqual(out.value, {
      label: 'x', unmapped: false, severity: 'low', name: undefined,
      cef: { destinationAddress: '203.0.113.66', custom: 'alice' },
      contains: { destinationAddress: ['ip', 'c2'], custom: ['user name'] },
    });
  });

  it('a search neither named nor defaulted gets splunk-unmapped, flagged; a named one or a default does not', () => {
    const named = applyMapping({ ...DEFAULT_SPLUNK_MAPPING, label: { fromSearchName: { other: 'y' } } }, row);
    assert.ok(named.ok);
    assert.deepEqual([named.value.label, named.value.unmapped], [UNMAPPED_LABEL, true]);
    const byName = applyMapping({ ...DEFAULT_SPLUNK_MAPPING, label: { fromSearchName: { [row.searchName]: 'y' } } },
      row);
    assert.ok(byName.ok);
    assert.deepEqual([byName.value.label, byName.value.unmapped], ['y', false]);
    const byDefault = applyMapping({ ...DEFAULT_SPLUNK_MAPPING, label: { fromSearchName: {}, default: 'z' } }, row);
    assert.ok(byDefault.ok);
    assert.deepEqual([byDefault.value.label, byDefault.value.unmapped], ['z', false]);
  });

  it('the mapping schema rejects an empty cef map, a bad severity and unknown keys', () => {
    for (const bad of [{ ...DEFAULT_SPLUNK_MAPPING, cef: {} }, { ...DEFAULT_SPLUNK_MAPPING, severity: 'urgent' }, { ...DEFAULT_SPLUNK_MAPPING, colour: 'red' }]) {
      assert.equal(sourceMappingSchema.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
    }
  });
});
