/**
 * The generic HTTP app over TLS against real local HTTPS servers, with certificates made by the
 * openssl CLI at test time: a private CA bundle, mutual TLS with a client certificate, the
 * explicit insecure switch, redirects that would downgrade to plain http, and the TLS material
 * checked when the asset is configured.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { httpApp } from '../../src/apps/http-request/index.js';
import { closeHttpAppConnections } from '../../src/apps/http-request/client.js';
import { closeVendorConnections } from '../../src/apps/http.js';
import { ActionError, RetryableError } from '../../src/sdk/errors.js';
import { requirePrograms } from '../support/real-server.js';
import { json, LocalServer, makeTestPki, type TestPki } from '../support/local-http.js';
import { actionContext } from '../support/action-context.js';
import { rejects } from '../support/assert-errors.js';

const { get } = httpApp.actions;
type Cfg = ReturnType<typeof httpApp.config.parse>;
const TOKEN = 'bearer-SECRET-0d4c88';

const ctx = (config: Cfg) => actionContext(config, 'run-1:1', { timeoutMs: 5000 });

/** The action's error, an ActionError naming neither the token nor the client key. */
const failure = (p: Promise<unknown>, pki: TestPki): Promise<ActionError> =>
  rejects(p, ActionError, { notInMessage: [TOKEN, pki.clientKeyPem.split('\n')[1]!] });

describe('generic HTTP app over TLS', () => {
  let pki: TestPki;
  let tlsServer: LocalServer;
  let mtlsServer: LocalServer;
  let plain: LocalServer;

  before(async () => {
    requirePrograms('HTTP app TLS tests', [{ program: 'openssl', packages: 'openssl' }]);
    pki = makeTestPki();
    plain = await new LocalServer({ '/landing': (s, res) => json(res, 200, { auth: s.headers.authorization ?? null }) }).start();
    const routes = {
      '/hello': (s: { clientCn?: string }, res: Parameters<typeof json>[0]) => json(res, 200, { hello: 'tls', clientCn: s.clientCn ?? null }),
      '/downgrade': (_s: unknown, res: Parameters<typeof json>[0]) => res.writeHead(302, { location: `${plain.url}/landing` }).end(),
    };
    tlsServer = await new LocalServer(routes, { cert: pki.serverCertPem, key: pki.serverKeyPem }).start();
    mtlsServer = await new LocalServer(routes, {
      cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: true,
    }).start();
  });
  after(async () => {
    closeVendorConnections();
    closeHttpAppConnections();
    await Promise.all([tlsServer?.stop(), mtlsServer?.stop(), plain?.stop()]);
    pki?.remove();
  });

  const cfg = (server: LocalServer, over: Record<string, unknown> = {}) => httpApp.config.parse({ baseUrl: server.url, ...over });

  it('a server certificate from a private CA: refused without the CA bundle, accepted with it, refused with another CA', async () => {
    const e = await failure(get.handler({ url: '/hello' }, ctx(cfg(tlsServer))), pki);
    assert.match(e.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
    const out = await get.handler({ url: '/hello' }, ctx(cfg(tlsServer, { caPem: pki.caPem })));
    assert.deepEqual([out.status, (out.body as { hello: string }).hello], [200, 'tls']);
    await failure(get.handler({ url: '/hello' }, ctx(cfg(tlsServer, { caPem: pki.otherCaPem }))), pki);
    // localhost is in the certificate too; another name for the address is not.
    const byName = cfg(tlsServer, { caPem: pki.caPem, baseUrl: `https://localhost:${tlsServer.port}` });
    assert.equal((await get.handler({ url: '/hello' }, ctx(byName))).status, 200);
    assert.equal(tlsServer.on('/hello').length, 2);
  });

  it('mutual TLS: the client certificate is presented when configured, and the server refuses without it', async () => {
    const withCert = cfg(mtlsServer, { caPem: pki.caPem, clientCertPem: pki.clientCertPem, clientKeyPem: pki.clientKeyPem, auth: 'bearer', token: TOKEN });
    const out = await get.handler({ url: '/hello' }, ctx(withCert));
    assert.equal((out.body as { clientCn: string }).clientCn, 'client');
    assert.equal(mtlsServer.on('/hello')[0]!.headers.authorization, `Bearer ${TOKEN}`);
    const e = await failure(get.handler({ url: '/hello' }, ctx(cfg(mtlsServer, { caPem: pki.caPem, auth: 'bearer', token: TOKEN }))), pki);
    assert.ok(e instanceof RetryableError, String(e));
    assert.equal(mtlsServer.on('/hello').length, 1);
  });

  it('tlsInsecureSkipVerify is explicit: without it an unknown CA is refused; with it the request goes, and the test says so', async () => {
    await failure(get.handler({ url: '/hello' }, ctx(cfg(tlsServer))), pki);
    const insecure = cfg(tlsServer, { tlsInsecureSkipVerify: true });
    assert.equal((await get.handler({ url: '/hello' }, ctx(insecure))).status, 200);
    const t = await httpApp.testConnectivity!(ctx(insecure));
    assert.match(t.detail ?? '', /WARNING: tlsInsecureSkipVerify is on/);
    assert.equal(cfg(tlsServer).tlsInsecureSkipVerify, false);
    assert.throws(() => cfg(tlsServer, { tlsInsecureSkipVerify: true, caPem: pki.caPem }), /contradict/);
  });

  it('a redirect from https to plain http is refused even to an allowed host; nothing is sent there', async () => {
    const c = cfg(tlsServer, { caPem: pki.caPem, allowedHosts: [`127.0.0.1:${tlsServer.port}`, `127.0.0.1:${plain.port}`] });
    const e = await failure(get.handler({ url: '/downgrade' }, ctx(c)), pki);
    assert.match(e.message, /redirected to plain http at 127\.0\.0\.1:\d+ \(a downgrade from https\); not followed/);
    assert.equal(plain.seen.length, 0);
  });

  it('the TLS material is checked when the asset is configured, with messages that quote nothing', () => {
    const issues = (over: Record<string, unknown>) => {
      const r = httpApp.config.safeParse({ baseUrl: tlsServer.url, ...over });
      assert.ok(!r.success);
      const text = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      assert.ok(!text.includes(pki.clientKeyPem.split('\n')[1]!));
      return text;
    };
    assert.match(issues({ caPem: 'not a pem' }), /caPem: caPem holds no PEM certificate/);
    assert.match(issues({ caPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }), /certificate 1 of caPem does not parse/);
    assert.match(issues({ clientCertPem: pki.clientCertPem }), /clientKeyPem: clientCertPem and clientKeyPem go together/);
    assert.match(issues({ clientCertPem: pki.clientCertPem, clientKeyPem: pki.strayKeyPem }), /not the key of clientCertPem/);
    assert.match(issues({ clientCertPem: pki.clientCertPem, clientKeyPem: 'garbage-key-material' }), /not an unencrypted PEM private key/);
  });
});
