/**
 * SSRF corpus for the egress guard (src/common/egress-guard.ts): every spelling of a loopback,
 * link-local/metadata or otherwise refused address, names that resolve to loopback, redirects
 * from an allowed origin, other schemes and credentials in URLs. Each must be refused with a
 * TerminalError naming the egress policy (applied 'no', not retried) while listeners on 127.0.0.x
 * see no connection at all.
 */
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { TerminalError } from '../../src/sdk/errors.js';
import { closeVendorConnections, vendorFetch } from '../../src/apps/http.js';
import {
  assetEgressProblems, egressPolicy, guardedConnect, withEgressPolicy,
} from '../../src/common/egress-guard.js';
import { allowanceProblem, classifyAddress } from '../../src/common/ip-ranges.js';
import { Broker } from '../../src/broker/broker.js';
import { AppCatalog } from '../../src/broker/catalog.js';
import { httpApp } from '../../src/apps/http-request/index.js';
import { closeHttpAppConnections } from '../../src/apps/http-request/client.js';
import { ldapApp } from '../../src/apps/ldap/index.js';
import { smtpApp } from '../../src/apps/smtp/index.js';
import { actionContext } from '../support/action-context.js';
import { rejects } from '../support/assert-errors.js';
import { openStore, openTempStore } from '../support/temp-store.js';
import Database from 'better-sqlite3';
import { join } from 'node:path';

const client = { vendor: 'Acme', describeError: (_s: number, body: string) => ({ message: body.slice(0, 80) }) };

/** An HTTP server on one loopback address that counts the TCP connections it accepted. */
class Listener {
  connections = 0;
  port = 0;
  private readonly sockets = new Set<Socket>();
  readonly server: http.Server;
  constructor(readonly host: string, handler: http.RequestListener = (_q, res) => res.end('{"ok":true}')) {
    this.server = http.createServer(handler);
    this.server.on('connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, this.host, () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** No allowances: public addresses only (what a new asset gets). */
const strict = egressPolicy('cloud-api', []);

async function refused(url: string, pattern: RegExp, opts: Parameters<typeof vendorFetch>[1] = {}): Promise<TerminalError> {
  const err = await rejects(withEgressPolicy(strict, () => vendorFetch(url, opts, client)), TerminalError);
  assert.equal(err.applied, 'no', url);
  assert.equal(err.retryable, false, url);
  assert.match(err.message, /refused by the egress policy/, url);
  assert.match(err.message, pattern, url);
  return err;
}

describe('egress guard: the SSRF corpus', () => {
  let target: Listener;
  let redirector: Listener;
  let redirectTo = '';

  before(async () => {
    target = await new Listener('127.0.0.1').start();
    // A second loopback address stands for "an origin the asset is allowed to reach".
    redirector = await new Listener('127.0.0.2', (_q, res) => {
      res.writeHead(302, { location: redirectTo });
      res.end();
    }).start();
  });
  after(async () => {
    closeVendorConnections();
    closeHttpAppConnections();
    await Promise.all([target.stop(), redirector.stop()]);
  });

  it('every spelling of loopback is refused before a connection: decimal, octal, hex, short, IPv4-mapped, 6to4', async () => {
    const p = target.port;
    const spellings = [
      `http://127.0.0.1:${p}/`, `http://2130706433:${p}/`, `http://0177.0.0.1:${p}/`, `http://0x7f.0.0.1:${p}/`,
      `http://127.1:${p}/`, `http://0x7f000001:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, `http://[::ffff:7f00:1]:${p}/`,
      `http://[::1]:${p}/`, `http://[2002:7f00:1::]:${p}/`, `http://[::127.0.0.1]:${p}/`,
    ];
    for (const url of spellings) await refused(url, /loopback address.*--egress-allow/);
    assert.equal(target.connections, 0);
  });

  it('a name that resolves to loopback (localhost) is refused on the resolved address', async () => {
    await refused(`http://localhost:${target.port}/x`, /localhost resolves to .* loopback address/);
    await refused(`http://LocalHost:${target.port}/x`, /resolves to .* loopback/);
    assert.equal(target.connections, 0);
  });

  it('link-local / cloud metadata, unspecified, multicast and broadcast are refused whatever the asset allows', async () => {
    const everything = egressPolicy('on-prem', ['loopback', 'private']);
    const urls = [
      'http://169.254.169.254/latest/meta-data/', 'http://2852039166/latest/meta-data/', 'http://0xa9fea9fe/',
      'http://[fd00:ec2::254]/latest/meta-data/', 'http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/',
      'http://[64:ff9b::a9fe:a9fe]/', `http://0.0.0.0:${target.port}/`, `http://0:${target.port}/`,
      `http://[::]:${target.port}/`, 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://[ff02::1]/',
    ];
    for (const url of urls) {
      const err = await rejects(withEgressPolicy(everything, () => vendorFetch(url, {}, client)), TerminalError);
      assert.equal(err.applied, 'no', url);
      assert.match(err.message, /refused by the egress policy: .*(link-local|unspecified, multicast)/, url);
      assert.doesNotMatch(err.message, /--egress-allow/, `${url}: no hint, it cannot be allowed`);
    }
    assert.equal(target.connections, 0);
  });

  it('private ranges are refused without an allowance, reached with one', async () => {
    for (const url of ['http://10.0.0.1/', 'http://172.16.5.4/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://[fd12::1]/']) {
      await refused(url, /private range.*--egress-allow/);
    }
    assert.equal(classifyAddress('10.1.2.3'), 'private');
    assert.equal(classifyAddress('8.8.8.8'), 'public');
  });

  it('other schemes and credentials in the URL are refused', async () => {
    await refused('file:///etc/passwd', /unsupported protocol file:/);
    await refused(`gopher://127.0.0.1:${target.port}/_PING`, /unsupported protocol gopher:/);
    await refused('ftp://example.com/x', /unsupported protocol ftp:/);
    await refused(`http://user:pass@127.0.0.1:${target.port}/`, /credentials in the URL/);
    assert.equal(target.connections, 0);
  });

  it('redirects from an allowed origin to loopback, to metadata or to a name for loopback are refused', async () => {
    const allowed = egressPolicy('redirector', ['127.0.0.2/32']);
    const follow = { redirect: () => null };
    for (const to of [`http://127.0.0.1:${target.port}/`, 'http://169.254.169.254/latest/meta-data/',
      `http://localhost:${target.port}/`, `http://2130706433:${target.port}/`, 'file:///etc/passwd']) {
      redirectTo = to;
      const before = redirector.connections;
      const err = await rejects(
        withEgressPolicy(allowed, () => vendorFetch(`${redirector.url}/start`, follow, client)), TerminalError);
      assert.equal(err.applied, 'no', to);
      assert.match(err.message, /refused by the egress policy|redirected to a .* URL|unsupported protocol/, to);
      assert.ok(redirector.connections >= before, 'the allowed origin was reached');
    }
    assert.equal(target.connections, 0);
  });

  it('pooled sockets are per policy: a loopback socket kept alive for one asset is not reused by another', async () => {
    const lab = egressPolicy('lab', ['loopback']);
    const ok = await withEgressPolicy(lab, () => vendorFetch(`http://localhost:${target.port}/`, {}, client));
    assert.equal(ok.status, 200);
    assert.equal(target.connections, 1);
    await refused(`http://localhost:${target.port}/`, /loopback/);
    assert.equal(target.connections, 1);
    closeVendorConnections();
    target.connections = 0;
  });

  it('non-HTTP clients connect through the same check (guardedConnect, as the LDAP app uses it)', async () => {
    for (const host of ['127.0.0.1', 'localhost', '169.254.169.254']) {
      const err = await new Promise<Error>((resolve) => {
        const s = guardedConnect(strict, target.port, host);
        s.once('connect', () => resolve(new Error('connected')));
        s.once('error', resolve);
      });
      assert.match(err.message, /refused by the egress policy/, host);
    }
    assert.equal(target.connections, 0);
  });

  it('LDAP and SMTP connect through the same check: refused, nothing reaches the listener', async () => {
    const ldap = (host: string) => ldapApp.config.parse({
      url: `ldap://${host}:${target.port}`, bindDN: 'cn=svc', bindPassword: 'pw-1234', baseDN: 'dc=x',
    });
    const smtp = (host: string) => smtpApp.config.parse({ host, port: target.port, from: 'soc@example.com' });
    for (const host of ['127.0.0.1', 'localhost']) {
      for (const test of [() => ldapApp.testConnectivity!(actionContext(ldap(host))),
        () => smtpApp.testConnectivity!(actionContext(smtp(host)))]) {
        const err = await rejects(withEgressPolicy(strict, test), TerminalError);
        assert.equal(err.applied, 'no');
        assert.match(err.message, /refused by the egress policy: .*loopback/);
      }
    }
    assert.equal(target.connections, 0);
  });

  it('the broker runs an asset\'s actions under its allowances: refused without loopback, sent with it', async () => {
    await using t = await openTempStore();
    const broker = new Broker(t.store, new AppCatalog([httpApp]), { retryBaseMs: 1 });
    const call = { runId: 'r1', seq: 1, asset: 'api', action: 'get', input: { url: '/x' } };
    await t.store.putAsset({ name: 'api', appId: 'http', config: { baseUrl: target.url }, secrets: {} }, 'test');
    // No run behind these calls: the action results cannot be recorded, which is not what is tested here.
    const denied = await broker.invoke(await broker.describe('api', 'get'), call);
    await denied.recorded.catch(() => undefined);
    assert.equal(denied.kind, 'failed');
    assert.equal(denied.attempts, 1, 'not retried');
    assert.match(denied.kind === 'failed' ? denied.error.message : '', /refused by the egress policy: .*loopback.*asset "api"/);
    assert.equal(target.connections, 0);
    await t.store.putAsset({ name: 'api', appId: 'http', config: { baseUrl: target.url }, secrets: {}, egressAllow: ['loopback'] }, 'test');
    broker.invalidateAsset('api');
    const sent = await broker.invoke(await broker.describe('api', 'get'), call);
    await sent.recorded.catch(() => undefined);
    assert.equal(sent.kind, 'succeeded');
    assert.equal(target.connections, 1);
    closeVendorConnections();
    target.connections = 0;
  });
});

describe('egress guard: when an asset is saved', () => {
  it('URL fields must be http(s) without credentials, and IP literals allowed; values are never quoted', () => {
    const problems = (fields: Record<string, unknown>, allow: string[] = [], app = 'http') =>
      assetEgressProblems(app, 'x', fields, allow).join('; ');
    assert.match(problems({ baseUrl: 'file:///etc/passwd' }), /^baseUrl: refused by the egress policy: scheme file: is not http or https$/);
    assert.match(problems({ url: 'gopher://fw.example/' }), /url: .*scheme gopher:/);
    assert.match(problems({ webhookUrl: 'http://169.254.169.254/hook-secret' }), /webhookUrl: .*its host is link-local/);
    assert.doesNotMatch(problems({ webhookUrl: 'http://169.254.169.254/hook-secret' }), /169\.254|hook-secret/);
    assert.match(problems({ url: 'http://2130706433:8080' }), /url: .*loopback.*--egress-allow/);
    assert.equal(problems({ url: 'http://2130706433:8080' }, ['loopback']), '');
    assert.match(problems({ url: 'https://10.20.1.1' }), /private range/);
    assert.equal(problems({ url: 'https://10.20.1.1' }, ['10.20.0.0/16']), '');
    assert.match(problems({ url: 'https://10.21.1.1' }, ['10.20.0.0/16']), /private range/);
    assert.match(problems({ url: 'https://u:p@api.example.com' }), /credentials in the URL/);
    assert.match(problems({ host: '127.0.0.1' }, [], 'smtp-email'), /host: .*loopback/);
    assert.equal(problems({ url: 'ldaps://10.0.0.5:636' }, ['private'], 'ldap-directory'), '');
    assert.match(problems({ url: 'http://dc.example' }, [], 'ldap-directory'), /scheme http: is not ldap or ldaps/);
    assert.equal(problems({ baseUrl: 'https://api.example.com/v2', name: 'not a url' }), '');
  });

  it('allowances are loopback, private or a CIDR that does not cover never-reachable space', () => {
    for (const ok of ['loopback', 'private', '10.20.0.0/16', '127.0.0.2/32', 'fd12::/16']) assert.equal(allowanceProblem(ok), null, ok);
    for (const bad of ['0.0.0.0/0', '169.254.0.0/16', '169.254.169.254/32', '::/0', 'fe80::/10', '160.0.0.0/4']) {
      assert.match(allowanceProblem(bad) ?? '', /never reachable/, bad);
    }
    for (const bad of ['everything', '10.0.0.0/33', 'example.com', '']) assert.match(allowanceProblem(bad) ?? '', /not loopback, private or a CIDR/, bad);
  });

  it('the store refuses an invalid allowance and saves nothing', async () => {
    await using t = await openTempStore();
    await assert.rejects(t.store.putAsset({ name: 'a', appId: 'http', config: {}, secrets: {}, egressAllow: ['0.0.0.0/0'] }, 'test'),
      /egress allowance "0\.0\.0\.0\/0" overlaps .*nothing was saved/);
    assert.equal(await t.store.getAsset('a'), null);
    const rec = await t.store.putAsset({ name: 'a', appId: 'http', config: {}, secrets: {}, egressAllow: ['private', 'loopback'] }, 'test');
    assert.deepEqual(rec.egressAllow, ['loopback', 'private']);
  });

  it('migration 20: assets that existed keep loopback and private, new ones get neither', async () => {
    const key = randomBytes(32);
    await using t = await openTempStore('riposte-egress-', key);
    await t.store.putAsset({ name: 'old-fw', appId: 'palo-alto-panos', config: {}, secrets: {} }, 'test');
    const path = join(t.dir, 'riposte.db');
    await t.store.close();
    const db = new Database(path);
    db.exec('ALTER TABLE assets DROP COLUMN egress_allow; DELETE FROM schema_migrations WHERE version >= 20;');
    db.close();
    const again = await openStore(path, key);
    try {
      assert.deepEqual((await again.getAsset('old-fw'))?.egressAllow, ['loopback', 'private']);
      const fresh = await again.putAsset({ name: 'new-api', appId: 'http', config: {}, secrets: {} }, 'test');
      assert.deepEqual(fresh.egressAllow, []);
    } finally {
      await again.close();
    }
  });
});
