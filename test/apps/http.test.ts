/**
 * The shared vendor HTTP client (src/apps/http.ts) against local node:http servers: keep-alive
 * reuse, every row of the classification table, abort, stale keep-alive sockets, bodies, headers,
 * redirects and compressed replies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { closeVendorConnections, readJson, vendorClientStats, vendorFetch, type VendorClientOptions, type VendorRequest } from '../../src/apps/http.js';
import { ActionError, RetryableError, TerminalError } from '../../src/sdk/errors.js';

const SECRET = 's3cr3t-value-never-in-messages';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Index of the connection the request came on (in accept order). */
  conn: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

/** A local server whose behaviour per path is given by `routes`; records every request. */
class TestServer {
  readonly seen: Seen[] = [];
  readonly sockets: Socket[] = [];
  url = '';
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), conn: this.sockets.indexOf(req.socket) };
      this.seen.push(s);
      const path = (req.url ?? '/').split('?')[0]!;
      const h = this.routes[path];
      if (h === undefined) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NotFound","message":"no route"}}');
      else h(req, res, s);
    });
  });

  constructor(private readonly routes: Record<string, Handler>) {
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s: Socket) => this.sockets.push(s));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const client: VendorClientOptions = {
  vendor: 'Acme',
  describeError(status, body) {
    try {
      const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
      if (e?.message) return e.code === undefined ? { message: e.message } : { message: e.message, code: e.code };
    } catch { /* not JSON */ }
    return { message: body.trim() || `HTTP ${status}` };
  },
};

async function failure(p: Promise<unknown>): Promise<ActionError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ActionError, `expected an ActionError, got ${String(err)}`);
    assert.ok(!err.message.includes(SECRET), `secret in message: ${err.message}`);
    assert.ok(!err.message.includes('?'), `query string in message: ${err.message}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

const withSecret = (req: VendorRequest = {}): VendorRequest => ({ ...req, headers: { authorization: `Bearer ${SECRET}`, ...(req.headers ?? {}) } });

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

describe('vendor HTTP client', () => {
  let srv: TestServer;
  let other: TestServer;
  /** Responses held open by /hang, answered when the suite ends. */
  const hung: http.ServerResponse[] = [];

  before(async () => {
    other = await new TestServer({ '/elsewhere': (_q, res) => json(res, 200, { ok: true }) }).start();
    srv = await new TestServer({
      '/ok': (_q, res, s) => json(res, 200, { method: s.method, body: s.body }),
      '/empty': (_q, res) => res.writeHead(204).end(),
      '/text': (_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'),
      '/headers': (_q, res) => {
        res.setHeader('X-Total-Count', '42');
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.writeHead(200).end('{}');
      },
      '/429': (_q, res) => json(res, 429, { error: { code: 'TooManyRequests', message: 'slow down' } }, { 'retry-after': '2' }),
      '/503': (_q, res) => json(res, 503, { error: { message: 'maintenance' } }, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }),
      '/503-bare': (_q, res) => json(res, 503, { error: { message: 'busy' } }),
      '/500': (_q, res) => json(res, 500, { error: { code: 'InternalError', message: 'boom' } }),
      '/502': (_q, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>'),
      '/404': (_q, res) => json(res, 404, { error: { code: 'Request_ResourceNotFound', message: 'no such device' } }),
      '/400': (_q, res) => json(res, 400, { error: { code: 'BadRequest', message: `field x is invalid` } }),
      '/hang': (_q, res) => { hung.push(res); },
      '/reset': (req) => req.socket.destroy(),
      '/cut-short': (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"partial":');
        setTimeout(() => req.socket.destroy(), 20);
      },
      '/cut-short-404': (req, res) => {
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"error":');
        setTimeout(() => req.socket.destroy(), 20);
      },
      '/gzip': (_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(zlib.gzipSync('{"coding":"gzip"}')),
      '/gzip-big': (_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        .end(zlib.gzipSync(JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => `item-${i}`) }))),
      '/deflate': (_q, res) => res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateSync('{"coding":"deflate"}')),
      '/deflate-raw': (_q, res) => res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateRawSync('{"coding":"raw deflate"}')),
      '/br': (_q, res) => res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync('{"coding":"br"}')),
      '/gzip-error': (_q, res) => res.writeHead(500, { 'content-encoding': 'gzip' }).end(zlib.gzipSync('{"error":{"message":"compressed failure"}}')),
      '/unknown-coding': (_q, res) => res.writeHead(200, { 'content-encoding': 'zstd' }).end('raw bytes'),
      '/redirect': (_q, res) => res.writeHead(302, { location: '/ok' }).end(),
      '/redirect-abs': (_q, res) => res.writeHead(301, { location: `${srv.url}/ok?x=1` }).end(),
      '/see-other': (_q, res) => res.writeHead(303, { location: '/ok' }).end(),
      '/temporary': (_q, res) => res.writeHead(307, { location: '/ok' }).end(),
      '/loop': (_q, res) => res.writeHead(302, { location: '/loop' }).end(),
      '/offsite': (_q, res) => res.writeHead(302, { location: `${other.url}/elsewhere?token=${SECRET}` }).end(),
      '/offsite-307': (_q, res) => res.writeHead(307, { location: `${other.url}/elsewhere` }).end(),
      '/stream': (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const t = setInterval(() => {
          res.write(`{"n":${i}}\n`);
          if (++i === 5) {
            clearInterval(t);
            res.end();
          }
        }, 5);
      },
      '/stream-gzip': (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync('{"n":0}\n{"n":1}\n')),
      '/stream-forever': (_q, res) => {
        res.writeHead(200);
        res.write('{"n":0}\n');
        hung.push(res);
      },
    }).start();
  });

  after(async () => {
    for (const r of hung) r.destroy();
    closeVendorConnections();
    await srv.stop();
    await other.stop();
  });

  describe('connections', () => {
    it('reuses one keep-alive connection for sequential requests', async () => {
      const before = srv.sockets.length;
      const opened = vendorClientStats.socketsOpened;
      for (let i = 0; i < 5; i++) {
        const res = await vendorFetch(`${srv.url}/ok`, {}, client);
        assert.equal(res.status, 200);
        await res.text();
      }
      assert.equal(srv.sockets.length - before, 1, 'one TCP connection for five requests');
      assert.equal(vendorClientStats.socketsOpened - opened, 1);
      const last = srv.seen.slice(-5);
      assert.ok(last.every((s) => s.conn === last[0]!.conn && s.headers.connection === 'keep-alive'));
    });

    it('opens parallel connections for concurrent requests and reuses them afterwards', async () => {
      const before = srv.sockets.length;
      await Promise.all(Array.from({ length: 4 }, () => vendorFetch(`${srv.url}/ok`, {}, client)));
      const afterFirst = srv.sockets.length;
      assert.ok(afterFirst - before <= 4);
      await Promise.all(Array.from({ length: 4 }, () => vendorFetch(`${srv.url}/ok`, {}, client)));
      assert.equal(srv.sockets.length, afterFirst, 'the second burst reuses the pooled connections');
    });

    it('a reset on a reused idle socket before any reply byte: a GET is sent again once, on another connection', async () => {
      let dropNext = false;
      const stale = await new TestServer({
        '/r': (req, res, s) => {
          if (dropNext && s.conn === 0) {
            dropNext = false;
            req.socket.destroy(); // the server closed the idle connection just as our request arrived
            return;
          }
          json(res, 200, { conn: s.conn });
        },
      }).start();
      try {
        await (await vendorFetch(`${stale.url}/r`, {}, client)).text();
        dropNext = true;
        const retries = vendorClientStats.staleRetries;
        const res = await vendorFetch(`${stale.url}/r`, {}, client);
        assert.deepEqual(await res.json(), { conn: 1 });
        assert.equal(vendorClientStats.staleRetries - retries, 1);
        assert.deepEqual(stale.seen.map((s) => s.conn), [0, 0, 1]);
      } finally {
        await stale.stop();
      }
    });

    it('the same reset for a POST is not re-sent: applied unknown (the server may have read it)', async () => {
      let dropNext = false;
      const stale = await new TestServer({
        '/w': (req, res, s) => {
          if (dropNext) {
            dropNext = false;
            req.socket.destroy();
            return;
          }
          json(res, 200, { conn: s.conn });
        },
      }).start();
      try {
        // Two pooled connections; the most recently used one is reused first (LIFO).
        await Promise.all([vendorFetch(`${stale.url}/w`, { method: 'POST', body: '{}' }, client), vendorFetch(`${stale.url}/w`, { method: 'POST', body: '{}' }, client)]);
        assert.equal(stale.sockets.length, 2);
        dropNext = true;
        const retries = vendorClientStats.staleRetries;
        const err = await failure(vendorFetch(`${stale.url}/w`, withSecret({ method: 'POST', body: SECRET }), client));
        assert.ok(err instanceof RetryableError);
        assert.equal(err.applied, 'unknown');
        assert.match(err.message, /^Acme POST \/w: ECONNRESET$/);
        assert.equal(vendorClientStats.staleRetries - retries, 0);
        assert.equal(stale.seen.length, 3, 'sent once, never again');
        // The other idle connection of that origin was dropped too: the next request opens a new one.
        await vendorFetch(`${stale.url}/w`, { method: 'POST', body: '{}' }, client);
        assert.equal(stale.sockets.length, 3);
      } finally {
        await stale.stop();
      }
    });
  });

  describe('classification table', () => {
    it('connection refused: RetryableError, applied no', async () => {
      const gone = await new TestServer({}).start();
      const url = gone.url;
      await gone.stop();
      const err = await failure(vendorFetch(`${url}/devices?key=${SECRET}`, withSecret({ method: 'POST', body: SECRET }), client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'no');
      assert.equal(err.message, 'Acme POST /devices: ECONNREFUSED');
    });

    it('DNS failure: RetryableError, applied no', async () => {
      const err = await failure(vendorFetch(`http://no-such-host.invalid/x?key=${SECRET}`, withSecret({ signal: AbortSignal.timeout(10_000) }), client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'no');
    });

    it('timeout after the request left: RetryableError "timed out", applied unknown', async () => {
      const err = await failure(vendorFetch(`${srv.url}/hang?key=${SECRET}`, withSecret({ method: 'POST', body: SECRET, signal: AbortSignal.timeout(100) }), client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'unknown');
      assert.equal(err.message, 'Acme POST /hang: timed out');
    });

    it('aborted before it was sent: "timed out", applied no, nothing reaches the server', async () => {
      const count = srv.seen.length;
      const err = await failure(vendorFetch(`${srv.url}/ok`, { method: 'POST', body: '{}', signal: AbortSignal.abort() }, client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'no');
      assert.match(err.message, /timed out$/);
      assert.equal(srv.seen.length, count);
    });

    it('connection reset after the request left: RetryableError, applied unknown', async () => {
      const err = await failure(vendorFetch(`${srv.url}/reset`, withSecret({ method: 'POST', body: SECRET }), client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'unknown');
    });

    it('a body cut short after a 2xx: RetryableError, applied unknown', async () => {
      const err = await failure(vendorFetch(`${srv.url}/cut-short`, { method: 'POST', body: '{}' }, client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'unknown');
    });

    it('a 4xx whose body is cut short is still classified by its status', async () => {
      const err = await failure(vendorFetch(`${srv.url}/cut-short-404`, {}, client));
      assert.ok(err instanceof TerminalError);
      assert.equal(err.status, 404);
      assert.equal(err.applied, 'no');
    });

    it('429 honours Retry-After in seconds: RetryableError, applied no', async () => {
      const err = await failure(vendorFetch(`${srv.url}/429`, withSecret({ method: 'POST', body: '{}' }), client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'no');
      assert.equal(err.retryAfterMs, 2000);
      assert.equal(err.status, 429);
      assert.equal(err.vendorCode, 'TooManyRequests');
      assert.equal(err.message, 'Acme POST /429: HTTP 429: slow down');
    });

    it('503 honours Retry-After as an HTTP date; without it there is no retryAfterMs', async () => {
      const err = await failure(vendorFetch(`${srv.url}/503`, {}, client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'no');
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 50_000 && err.retryAfterMs <= 60_000, String(err.retryAfterMs));
      const bare = await failure(vendorFetch(`${srv.url}/503-bare`, {}, client));
      assert.ok(bare instanceof RetryableError);
      assert.equal(bare.retryAfterMs, undefined);
    });

    it('other 5xx: RetryableError, applied unknown, with the vendor message', async () => {
      const err = await failure(vendorFetch(`${srv.url}/500`, { method: 'POST', body: '{}' }, client));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'unknown');
      assert.equal(err.vendorCode, 'InternalError');
      assert.equal(err.message, 'Acme POST /500: HTTP 500: boom');
      const html = await failure(vendorFetch(`${srv.url}/502`, {}, client));
      assert.equal(html.message, 'Acme GET /502: HTTP 502: <html>Bad Gateway</html>');
    });

    it('other 4xx: TerminalError, applied no', async () => {
      const e404 = await failure(vendorFetch(`${srv.url}/404?filter=${SECRET}`, withSecret(), client));
      assert.ok(e404 instanceof TerminalError);
      assert.deepEqual([e404.status, e404.vendorCode, e404.applied], [404, 'Request_ResourceNotFound', 'no']);
      assert.equal(e404.message, 'Acme GET /404: HTTP 404: no such device');
      const e400 = await failure(vendorFetch(`${srv.url}/400`, { method: 'PATCH', body: '{}' }, client));
      assert.ok(e400 instanceof TerminalError);
      assert.equal(e400.applied, 'no');
    });

    it('an invalid or non-HTTP URL, or one with credentials, is refused before anything is sent', async () => {
      for (const url of ['not a url', 'ftp://example.com/x', `http://user:${SECRET}@127.0.0.1:1/x`]) {
        const err = await failure(vendorFetch(url, {}, client));
        assert.ok(err instanceof TerminalError, url);
        assert.equal(err.applied, 'no');
      }
    });
  });

  describe('bodies and headers', () => {
    it('sends string and byte bodies with their content-length; a bodiless POST sends content-length 0', async () => {
      await vendorFetch(`${srv.url}/ok`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"Zoë ✓"}' }, client);
      let s = srv.seen.at(-1)!;
      assert.equal(s.body, '{"name":"Zoë ✓"}');
      assert.equal(s.headers['content-length'], String(Buffer.byteLength('{"name":"Zoë ✓"}')));
      assert.equal(s.headers['content-type'], 'application/json');
      assert.equal(s.headers['transfer-encoding'], undefined);
      await vendorFetch(`${srv.url}/ok`, { method: 'PUT', body: new TextEncoder().encode('bytes') }, client);
      s = srv.seen.at(-1)!;
      assert.deepEqual([s.method, s.body, s.headers['content-length']], ['PUT', 'bytes', '5']);
      await vendorFetch(`${srv.url}/ok`, { method: 'POST' }, client);
      assert.equal(srv.seen.at(-1)!.headers['content-length'], '0');
      await vendorFetch(`${srv.url}/ok`, {}, client);
      assert.equal(srv.seen.at(-1)!.headers['content-length'], undefined);
      assert.equal(srv.seen.at(-1)!.headers['accept-encoding'], 'gzip, deflate');
    });

    it('text, json and arrayBuffer read the body; readJson maps an empty body to undefined', async () => {
      const res = await vendorFetch(`${srv.url}/ok`, { method: 'POST', body: 'hi' }, client);
      assert.equal(res.ok, true);
      assert.deepEqual(await res.json(), { method: 'POST', body: 'hi' });
      assert.equal(await res.text(), '{"method":"POST","body":"hi"}');
      assert.equal(Buffer.from(await res.arrayBuffer()).toString('utf8'), '{"method":"POST","body":"hi"}');
      const empty = await vendorFetch(`${srv.url}/empty`, { method: 'DELETE' }, client);
      assert.equal(empty.status, 204);
      assert.equal(await readJson(empty, 'Acme'), undefined);
      assert.equal((await empty.arrayBuffer()).byteLength, 0);
    });

    it('a 2xx body that is not JSON is a RetryableError with unknown outcome', async () => {
      const res = await vendorFetch(`${srv.url}/text`, {}, client);
      const err = await failure(readJson(res, 'Acme'));
      assert.ok(err instanceof RetryableError);
      assert.equal(err.applied, 'unknown');
      assert.equal(err.message, 'Acme: response is not JSON (HTTP 200)');
    });

    it('header lookup is case-insensitive; repeated headers are joined; absent ones are null', async () => {
      const res = await vendorFetch(`${srv.url}/headers`, {}, client);
      assert.equal(res.headers.get('x-total-count'), '42');
      assert.equal(res.headers.get('X-Total-Count'), '42');
      assert.equal(res.headers.get('set-cookie'), 'a=1, b=2');
      assert.equal(res.headers.get('link'), null);
      assert.equal(res.headers.has('X-TOTAL-COUNT'), true);
      assert.equal(res.headers.has('link'), false);
    });
  });

  describe('compressed replies', () => {
    for (const [path, coding] of [['/gzip', 'gzip'], ['/deflate', 'deflate'], ['/deflate-raw', 'raw deflate'], ['/br', 'br']] as const) {
      it(`decodes ${coding}`, async () => {
        const res = await vendorFetch(`${srv.url}${path}`, {}, client);
        assert.deepEqual(await res.json(), { coding });
      });
    }

    it('decodes a large gzip body (off the main thread)', async () => {
      const res = await vendorFetch(`${srv.url}/gzip-big`, {}, client);
      const j = await readJson<{ items: string[] }>(res, 'Acme');
      assert.equal(j.items.length, 20_000);
      assert.equal(j.items[19_999], 'item-19999');
    });

    it('decodes an error body before describing it', async () => {
      const err = await failure(vendorFetch(`${srv.url}/gzip-error`, {}, client));
      assert.equal(err.message, 'Acme GET /gzip-error: HTTP 500: compressed failure');
    });

    it('hands an unknown coding over as received', async () => {
      const res = await vendorFetch(`${srv.url}/unknown-coding`, {}, client);
      assert.equal(await res.text(), 'raw bytes');
    });
  });

  describe('redirects', () => {
    it('follows a same-origin redirect (relative or absolute)', async () => {
      const res = await vendorFetch(`${srv.url}/redirect`, {}, client);
      assert.equal(res.status, 200);
      assert.equal(res.redirected, true);
      assert.equal(res.url, `${srv.url}/ok`);
      const abs = await vendorFetch(`${srv.url}/redirect-abs`, {}, client);
      assert.equal(abs.status, 200);
      assert.equal(srv.seen.at(-1)!.url, '/ok?x=1');
    });

    it('303 after a POST becomes a GET without body; 307 repeats the method and the body', async () => {
      const see = await vendorFetch(`${srv.url}/see-other`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }, client);
      assert.deepEqual(await see.json(), { method: 'GET', body: '' });
      assert.equal(srv.seen.at(-1)!.headers['content-type'], undefined);
      const tmp = await vendorFetch(`${srv.url}/temporary`, { method: 'POST', body: '{"a":1}' }, client);
      assert.deepEqual(await tmp.json(), { method: 'POST', body: '{"a":1}' });
    });

    it('refuses a redirect to another origin (the credentials are for this vendor only)', async () => {
      const count = other.seen.length;
      const err = await failure(vendorFetch(`${srv.url}/offsite`, withSecret(), client));
      assert.ok(err instanceof TerminalError);
      assert.equal(err.applied, 'no');
      assert.equal(err.status, 302);
      assert.equal(err.message, `Acme GET /offsite: HTTP 302: redirected to another origin (${other.url}); not followed`);
      const post = await failure(vendorFetch(`${srv.url}/offsite-307`, withSecret({ method: 'POST', body: '{}' }), client));
      assert.equal(post.applied, 'no');
      assert.equal(other.seen.length, count, 'nothing reached the other origin');
    });

    it('gives up after too many redirects', async () => {
      const err = await failure(vendorFetch(`${srv.url}/loop`, {}, client));
      assert.ok(err instanceof TerminalError);
      assert.match(err.message, /more than 10 redirects/);
    });
  });

  describe('https', () => {
    /** A throw-away self-signed certificate for 127.0.0.1 (made with openssl; skipped without it). */
    function selfSigned(): { key: Buffer; cert: Buffer } | undefined {
      const dir = mkdtempSync(join(tmpdir(), 'riposte-tls-'));
      try {
        const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
        if (r.status !== 0) return undefined;
        return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it('verifies the server certificate against the CA store: a self-signed one is refused before the request is sent, terminally', async (t) => {
      const tls = selfSigned();
      if (tls === undefined) return t.skip('openssl not available');
      let reached = 0;
      const server = https.createServer(tls, (_q, res) => { reached++; res.end('{}'); });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      try {
        const err = await failure(vendorFetch(`https://127.0.0.1:${(server.address() as AddressInfo).port}/x`, withSecret({ method: 'POST', body: SECRET }), client));
        // A bad certificate will not fix itself on a retry; the handshake failed, so nothing was sent.
        assert.ok(err instanceof TerminalError);
        assert.equal(err.applied, 'no');
        assert.match(err.message, /^Acme POST \/x: TLS certificate of 127\.0\.0\.1:\d+ not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\); nothing was sent$/);
        assert.equal(reached, 0);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    });
  });

  describe('streamed bodies', () => {
    it('stream: true hands the body over as it arrives (decoded)', async () => {
      const res = await vendorFetch(`${srv.url}/stream`, { stream: true }, client);
      let text = '';
      for await (const c of res.body) text += c.toString('utf8');
      assert.equal(text.split('\n').filter(Boolean).length, 5);
      const gz = await vendorFetch(`${srv.url}/stream-gzip`, { stream: true }, client);
      assert.equal(await gz.text(), '{"n":0}\n{"n":1}\n');
    });

    it('the signal still aborts a streamed body', async () => {
      const res = await vendorFetch(`${srv.url}/stream-forever`, { stream: true, signal: AbortSignal.timeout(100) }, client);
      await assert.rejects(async () => {
        for await (const _ of res.body) { /* keep reading */ }
      }, /timed out/);
    });
  });
});
