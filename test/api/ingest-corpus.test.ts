/**
 * Hostile and invalid artifact values on every ingest route (issue 13, §2): each case is refused
 * with the field named (the generic route; a Splunk source set to `refuse`) or stored as untrusted
 * text that the run's view does not hand out as a typed value (a Splunk source's default).
 * Valid values of each type pass all three unchanged, so the corpus cannot pass by refusing all.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FOUNDING_LABEL } from '../../lab/founding-mapping.js';
import { assertError, makeHarness, TOKENS, type Harness } from './harness.js';

/** CEF key (and its contains type) → the Splunk result field that supplies it. */
const FIELDS = {
  cefIp: { types: ['ip'], alert: 'f_ip' },
  cefCidr: { types: ['ip/cidr'], alert: 'f_cidr' },
  cefMac: { types: ['mac address'], alert: 'f_mac' },
  cefDomain: { types: ['domain'], alert: 'f_domain' },
  cefUrl: { types: ['url'], alert: 'f_url' },
  cefHash: { types: ['hash'], alert: 'f_hash' },
  cefMd5: { types: ['md5'], alert: 'f_md5' },
  cefSha1: { types: ['sha1'], alert: 'f_sha1' },
  cefSha256: { types: ['sha256'], alert: 'f_sha256' },
  cefEmail: { types: ['email'], alert: 'f_email' },
  cefPort: { types: ['port'], alert: 'f_port' },
  cefUser: { types: ['user name'], alert: 'f_user' },
} as const;
type Key = keyof typeof FIELDS;

const hex = (n: number) => 'a1'.repeat(n).slice(0, n);

const HOSTILE: Array<[Key, string]> = [
  ...([
    'not-an-ip', '999.999.999.999', '1.2.3', '01.2.3.4', '1.2.3.04', '0x7f.0.0.1', '2130706433', '127.1', '1.2.3.4.5',
    '256.1.1.1', '-1.2.3.4', '1.2.3.4/32', '0.0.0.0/0', '::/0', '0.0.0.0', '::', '::ffff:10.0.0.1', '::ffff:7f00:1',
    'fe80::1%eth0', '<script>alert(1)</script>', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4\n', '1.2.3.4\u0000', '1.2.3.4;rm -rf /',
    '10.0.0.1,10.0.0.2', '1:2:3:4:5:6:7:8:9', 'gggg::1', '1.2.3.4\u202e', '9'.repeat(5000), '１.２.３.４', 'localhost',
  ] as const).map((v): [Key, string] => ['cefIp', v]),
  ...([
    '0.0.0.0/0', '::/0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '/8', '10.0.0.0/8/8', 'not/8', '1.0.0.0/4',
    '::ffff:0:0/96', '10.0.0.0/08x', '2001:db8::/129', '2001::/3',
  ] as const).map((v): [Key, string] => ['cefCidr', v]),
  ...([
    'not-a-mac', '00:11:22:33:44', '00:11:22:33:44:55:66', '00:11:22:33:44:gg', '0011.2233.4455', '001122334455',
    '00:11-22:33:44:55', '<script>', '00:11:22:33:44:55\r\n', '10.0.0.1',
  ] as const).map((v): [Key, string] => ['cefMac', v]),
  ...([
    'exa mple.com', 'ex\u0430mple.com', 'example.com\u200e', '-example.com', 'example-.com', 'a..b.com',
    `${'x'.repeat(64)}.com`, 'a.'.repeat(130) + 'com', 'example.com/path', 'http://example.com', 'exa\u0000mple.com',
    '*.example.com', '<script>.com', 'example.com:443', 'ex\u202eample.com',
  ] as const).map((v): [Key, string] => ['cefDomain', v]),
  ...([
    'javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd',
    'vbscript:msgbox(1)', 'http://', 'not a url', '//example.com/x', 'http://exa mple.com', 'http://example.com/\n',
    'java\tscript:alert(1)', `https://example.com/${'a'.repeat(5000)}`, 'gopher://example.com/', 'mailto:a@b.com',
  ] as const).map((v): [Key, string] => ['cefUrl', v]),
  ['cefHash', 'abc'], ['cefHash', hex(31)], ['cefHash', hex(33)], ['cefHash', `${hex(39)}g`], ['cefHash', '<script>'],
  ['cefHash', `${hex(16)} ${hex(15)}`], ['cefHash', hex(63)], ['cefHash', hex(129)],
  ['cefMd5', hex(40)], ['cefMd5', hex(31)], ['cefSha1', hex(32)], ['cefSha1', hex(41)],
  ['cefSha256', hex(63)], ['cefSha256', hex(65)], ['cefSha256', `${hex(63)}z`], ['cefSha256', hex(40)],
  ...([
    'not-an-email', 'a@', '@b.com', 'a@b@c.com', 'a b@c.com', 'a@b .com', '<script>@x.com', 'a@b.com\r\nBcc: x@y.com',
    `${'a'.repeat(250)}@b.com`, 'a@-b.com',
  ] as const).map((v): [Key, string] => ['cefEmail', v]),
  ...(['0', '65536', '-1', '1.5', '80a', ' 80', '0x50', '99999999', '+80', '1e3', '443\u0000'] as const)
    .map((v): [Key, string] => ['cefPort', v]),
  ...(['bob\u001b]0;pwned\u0007', 'bob\u0000', 'a\u202eb', 'x'.repeat(1025), 'bob\u009b2J', 'bob\r\nadmin'] as const)
    .map((v): [Key, string] => ['cefUser', v]),
];

const VALID: Array<[Key, string]> = [
  ['cefIp', '10.0.0.1'], ['cefIp', '2001:db8::1'], ['cefCidr', '10.0.0.0/8'], ['cefCidr', '203.0.113.7'],
  ['cefMac', '00:11:22:33:44:55'], ['cefMac', 'AA-BB-CC-DD-EE-FF'], ['cefDomain', 'example.com'],
  ['cefDomain', 'xn--80ak6aa92e.com'], ['cefUrl', 'https://example.com/a?b=c'], ['cefHash', hex(64)],
  ['cefMd5', hex(32)], ['cefSha1', hex(40)], ['cefSha256', hex(64)], ['cefEmail', 'bob@example.com'],
  ['cefPort', '443'], ['cefUser', 'bob'],
];

const mapping = (invalidValues: 'refuse' | 'untrusted' | undefined) => ({
  label: FOUNDING_LABEL, severity: 'high',
  cef: Object.fromEntries(Object.entries(FIELDS).map(([k, f]) => [k, f.alert])),
  contains: Object.fromEntries(Object.entries(FIELDS).map(([k, f]) => [k, [...f.types]])),
  ...(invalidValues === undefined ? {} : { invalidValues }),
});

const SPLUNK_UNTRUSTED = 'splk-corpus-untrusted-6a5b4c3d2e1f0a9b8c7d6e5f';
const SPLUNK_REFUSE = 'splk-corpus-refuse-1f2e3d4c5b6a7f8e9d0c1b2a3f4e';
const show = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…(${v.length})` : v);

describe('ingest corpus: hostile artifact values on every route', () => {
  let h: Harness;
  let sid = 0;
  before(async () => {
    h = await makeHarness();
    // No invalidValues: a Splunk source's default, untrusted.
    await h.store.putSource({ name: 'corpus-untrusted', kind: 'splunk-webhook', mapping: mapping(undefined), token: SPLUNK_UNTRUSTED }, 'test');
    await h.store.putSource({ name: 'corpus-refuse', kind: 'splunk-webhook', mapping: mapping('refuse'), token: SPLUNK_REFUSE }, 'test');
  });
  after(async () => { await h.close(); });

  const generic = (key: Key, value: string) => h.app.inject({
    method: 'POST', url: '/api/v1/incidents',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.ingest}` },
    payload: JSON.stringify({
      name: 'corpus', label: 'corpus', severity: 'low',
      artifacts: [{ name: 'a', cef: { [key]: value }, contains: { [key]: [...FIELDS[key].types] } }],
    }),
  });
  const splunk = (token: string, key: Key, value: string) => h.app.inject({
    method: 'POST', url: `/api/v1/ingest/splunk?token=${token}`, headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      sid: `corpus-${++sid}`, search_name: 'corpus', app: 'search', owner: 'admin', results_link: '',
      result: { [FIELDS[key].alert]: value },
    }),
  });
  const incidents = async () => (await h.store.listIncidents({ limit: 1000 })).length;

  it(`has at least 100 hostile cases (${HOSTILE.length})`, () => assert.ok(HOSTILE.length >= 100));

  it('generic route: every hostile value is refused with 422 naming artifact and field; nothing stored', async () => {
    for (const [key, value] of HOSTILE) {
      const before = await incidents();
      const res = await generic(key, value);
      const body = assertError(res, 422, 'invalid_artifact');
      const d = body.error.details?.[0];
      assert.equal(d?.path, `artifacts[0].cef.${key}`, `${key}=${show(value)}: ${res.body}`);
      assert.match(d.message, new RegExp(`^${key} is not a valid`));
      // The refusal never echoes the value back.
      if (value.length > 3) assert.ok(!res.body.includes(JSON.stringify(value).slice(1, -1)), `${key}=${show(value)} echoed`);
      assert.equal(await incidents(), before, `${key}=${show(value)} stored something`);
    }
  });

  it('Splunk source set to refuse: 422 naming the alert field; nothing stored', async () => {
    for (const [key, value] of HOSTILE) {
      const before = await incidents();
      const res = await splunk(SPLUNK_REFUSE, key, value);
      assert.equal(res.statusCode, 422, `${key}=${show(value)}: ${res.body}`);
      const body = assertError(res, 422, 'invalid_artifact');
      assert.equal(body.error.details?.[0]?.path, `result.${FIELDS[key].alert}`, `${key}=${show(value)}: ${res.body}`);
      assert.equal(await incidents(), before);
    }
  });

  it('Splunk source by default: stored as untrusted text, the run sees no typed value', async () => {
    for (const [key, value] of HOSTILE) {
      const res = await splunk(SPLUNK_UNTRUSTED, key, value);
      assert.equal(res.statusCode, 201, `${key}=${show(value)}: ${res.body}`);
      const { incidentId, runs } = res.json() as { incidentId: number; runs: string[] };
      const art = (await h.store.getIncident(incidentId))!.artifacts[0]!;
      assert.equal(art.cef[key], value, 'the raw value is kept');
      assert.equal(typeof art.untrusted[key], 'string', `${key}=${show(value)} not marked untrusted: ${JSON.stringify(art)}`);
      const view = (await h.store.getRun(runs[0]!))!.input as { artifacts: Array<{ cef: object; contains: object; untrusted?: any }> };
      assert.ok(!Object.hasOwn(view.artifacts[0]!.cef, key), `${key}=${show(value)} reached the run as a typed value`);
      assert.ok(!Object.hasOwn(view.artifacts[0]!.contains, key));
      assert.equal(view.artifacts[0]!.untrusted[key].value, value);
    }
  });

  it('valid values of every type pass every route as typed values', async () => {
    for (const [key, value] of VALID) {
      const g = await generic(key, value);
      assert.equal(g.statusCode, 201, `${key}=${value}: ${g.body}`);
      for (const token of [SPLUNK_REFUSE, SPLUNK_UNTRUSTED]) {
        const res = await splunk(token, key, value);
        assert.equal(res.statusCode, 201, `${key}=${value}: ${res.body}`);
        const art = (await h.store.getIncident((res.json() as { incidentId: number }).incidentId))!.artifacts[0]!;
        assert.deepEqual(art.untrusted, {});
        assert.deepEqual(art.contains[key], [...FIELDS[key].types]);
      }
    }
  });
});
