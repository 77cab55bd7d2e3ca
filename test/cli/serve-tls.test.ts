/**
 * Issue 13, "No TLS option; no warning when binding beyond loopback": `riposte serve --tls-cert
 * --tls-key` serves HTTPS (a real TLS handshake with a certificate made by openssl here), a key
 * that does not match is refused before anything starts, and listening beyond loopback without
 * TLS prints a loud warning on stderr.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTempServer, type TempServer } from '../support/temp-server.js';
import { suiteTempDir } from '../support/temp-store.js';
import { removeDir, spawnServe, tempDir } from './fixture.js';
import { isLoopbackHost, plaintextExposureWarning } from '../../src/server/exposure.js';

/** A self-signed EC certificate for 127.0.0.1 and localhost, made by openssl. */
function selfSigned(dir: string, name: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { certFile, keyFile };
}

function httpsGet(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol() ?? '';
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve over TLS', () => {
  const tmp = suiteTempDir('riposte-tls-');
  let tls: { certFile: string; keyFile: string };
  let srv: TempServer;
  before(async () => {
    tls = selfSigned(tmp.dir, 'a');
    srv = await startTempServer('riposte-tls-srv-', { tls });
  });
  after(async () => { await srv?.stop(); });

  it('answers HTTPS with the given certificate, and the API works over it', async () => {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsGet(`${srv.url}/api/v1/incidents`, readFileSync(tls.certFile), srv.credentials.adminToken);
    assert.equal(res.status, 200, res.body);
    assert.match(res.protocol, /^TLSv1\.[23]$/);
    // Plain HTTP to the same port gets no API answer.
    const plain = await fetch(srv.url.replace('https:', 'http:') + '/api/v1/health').then((r) => r.status, () => 'refused');
    assert.notEqual(plain, 200);
  });

  it('refuses a key that does not match the certificate, before starting', async () => {
    const other = selfSigned(tmp.dir, 'b');
    await assert.rejects(startTempServer('riposte-tls-bad-', { tls: { certFile: tls.certFile, keyFile: other.keyFile } }),
      /^Error: TLS certificate .*a\.crt and key .*b\.key are not usable together/);
    await assert.rejects(startTempServer('riposte-tls-missing-', { tls: { certFile: join(tmp.dir, 'none.crt'), keyFile: tls.keyFile } }),
      /^Error: cannot read the TLS certificate .*none\.crt/);
  });
});

describe('listening beyond loopback', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'riposte.example', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
    assert.equal(plaintextExposureWarning('0.0.0.0', true), null, 'no warning with TLS');
    assert.equal(plaintextExposureWarning('127.0.0.1', false), null);
  });

  it('serve --host 0.0.0.0 without TLS warns loudly on stderr', async () => {
    const dataDir = tempDir();
    const serve = spawnServe(['--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir]);
    try {
      await serve.started();
      assert.match(serve.out.stderr, /WARNING: Riposte is listening on a non-loopback address without TLS/);
      assert.match(serve.out.stderr, /--tls-cert <file> --tls-key <file>/);
    } finally {
      assert.equal(await serve.stop(), 0, serve.out.stderr);
      removeDir(dataDir);
    }
  });

  it('serve refuses --tls-cert without --tls-key', async () => {
    const dataDir = tempDir();
    const serve = spawnServe(['--port', '0', '--data-dir', dataDir, '--tls-cert', 'x.crt']);
    try {
      assert.equal(await serve.exited, 1);
      assert.equal(serve.out.stderr, 'error: TLS needs both a certificate and its key: give --tls-cert <file> and --tls-key <file>\n');
    } finally {
      removeDir(dataDir);
    }
  });
});
