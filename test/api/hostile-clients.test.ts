/**
 * Hostile clients (issue 13): every answer carries the security headers (no sniffing, no framing,
 * no script, no Referer, no caching), errors and the e-mail approval page included; every refusal
 * of the parser, the router and Node's HTTP layer is in the API's JSON error shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { buildApiServer } from '../../src/api/server.js';
import { SECURITY_HEADERS } from '../../src/api/security-headers.js';
import { openTempStore } from '../support/temp-store.js';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { makeHarness, TOKENS } from './harness.js';

async function server() {
  const temp = await openTempStore('riposte-hostile-');
  const app = await buildApiServer({
    store: temp.store, ingest: new IngestService(temp.store, new PlaybookRegistry([]), { wake() {} }),
  });
  return { app, async close() { await app.close(); await temp.close(); } };
}

test('every answer carries the security headers: success, 401, 404, 405', async () => {
  const s = await server();
  try {
    for (const [method, url, status] of [['GET', '/api/v1/health', 200], ['GET', '/api/v1/incidents', 401],
      ['GET', '/approvals/email/some-link-token', 404], ['DELETE', '/api/v1/health', 405]] as const) {
      const res = await s.app.inject({ method, url });
      assert.equal(res.statusCode, status, `${method} ${url}`);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[name], value, `${name} on ${method} ${url}`);
    }
  } finally {
    await s.close();
  }
});

/** Every refusal the parser and router make, in the API's error shape with the security headers. */
const REFUSALS: Array<{ what: string; req: InjectOptions; status: number; code: string }> = [
  { what: 'unknown route', req: { method: 'GET', url: '/api/v1/no-such-thing' }, status: 404, code: 'not_found' },
  { what: 'unknown route outside the API', req: { method: 'GET', url: '/wp-login.php?x=1' }, status: 404, code: 'not_found' },
  { what: 'method not allowed', req: { method: 'DELETE', url: '/api/v1/health' }, status: 405, code: 'method_not_allowed' },
  { what: 'PUT on a read route', req: { method: 'PUT', url: '/api/v1/incidents' }, status: 405, code: 'method_not_allowed' },
  { what: 'no token', req: { method: 'GET', url: '/api/v1/incidents' }, status: 401, code: 'unauthorized' },
  { what: 'wrong token', req: { method: 'GET', url: '/api/v1/incidents', headers: { authorization: 'Bearer nope' } }, status: 401, code: 'unauthorized' },
  {
    what: 'body larger than the limit', status: 413, code: 'body_too_large',
    req: { method: 'POST', url: '/api/v1/incidents', headers: json(TOKENS.analyst), payload: JSON.stringify({ name: 'x'.repeat(4096) }) },
  },
  {
    what: 'text/plain body', status: 415, code: 'unsupported_media_type',
    req: { method: 'POST', url: '/api/v1/incidents', headers: { authorization: `Bearer ${TOKENS.analyst}`, 'content-type': 'text/plain' }, payload: 'hello' },
  },
  {
    what: 'form body', status: 415, code: 'unsupported_media_type',
    req: { method: 'POST', url: '/api/v1/incidents', headers: { authorization: `Bearer ${TOKENS.analyst}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' },
  },
  { what: 'invalid JSON', req: { method: 'POST', url: '/api/v1/incidents', headers: json(TOKENS.analyst), payload: '{"name":' }, status: 400, code: 'invalid_json' },
  { what: 'empty JSON body', req: { method: 'POST', url: '/api/v1/incidents', headers: json(TOKENS.analyst), payload: '' }, status: 400, code: 'invalid_json' },
  {
    what: 'prototype poisoning', status: 400, code: 'invalid_json',
    req: { method: 'POST', url: '/api/v1/incidents', headers: json(TOKENS.analyst), payload: '{"__proto__":{"admin":true}}' },
  },
  { what: 'bad URL encoding', req: { method: 'GET', url: '/api/v1/incidents/%E0%A4%A', headers: bearer(TOKENS.viewer) }, status: 400, code: 'bad_request' },
  { what: 'over-long path parameter', req: { method: 'GET', url: `/api/v1/incidents/${'9'.repeat(600)}`, headers: bearer(TOKENS.viewer) }, status: 414, code: 'uri_too_long' },
  { what: 'invalid path parameter', req: { method: 'GET', url: '/api/v1/incidents/abc', headers: bearer(TOKENS.viewer) }, status: 400, code: 'invalid_params' },
];

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
function json(token: string): Record<string, string> {
  return { ...bearer(token), 'content-type': 'application/json' };
}

function assertRefusal(status: number, headers: Record<string, unknown>, body: string, code: string, what: string): void {
  assert.match(String(headers['content-type']), /^application\/json/, `${what}: content-type`);
  const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
  assert.deepEqual(Object.keys(parsed), ['error'], `${what}: ${body}`);
  assert.equal(parsed.error?.code, code, `${what} (${status}): ${body}`);
  assert.equal(typeof parsed.error?.message, 'string', what);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(headers[name], value, `${name} on ${what}`);
}

test('every refusal is in the API error shape with the security headers (table)', async () => {
  const h = await makeHarness({ bodyLimitBytes: 1024 });
  try {
    for (const r of REFUSALS) {
      const res = await h.app.inject(r.req);
      assert.equal(res.statusCode, r.status, `${r.what}: ${res.body}`);
      assertRefusal(res.statusCode, res.headers, res.body, r.code, r.what);
    }
    assert.deepEqual(await h.store.listIncidents({}), []);
  } finally {
    await h.close();
  }
});

/** Sends raw bytes and returns the status, lower-cased headers and body of the answer. */
async function raw(port: number, bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => { data += c; });
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('no answer within 5 s')); });
  });
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

test('refusals Node makes before routing (431, malformed HTTP) are in the API error shape too', async () => {
  const h = await makeHarness();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  try {
    const huge = await raw(port, `GET /api/v1/health HTTP/1.1\r\nhost: r\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(huge.status, 431);
    assertRefusal(huge.status, huge.headers, huge.body, 'headers_too_large', 'huge header');
    const longUrl = await raw(port, `GET /api/v1/incidents?q=${'a'.repeat(20_000)} HTTP/1.1\r\nhost: r\r\n\r\n`);
    assert.equal(longUrl.status, 431);
    assertRefusal(longUrl.status, longUrl.headers, longUrl.body, 'headers_too_large', 'huge URL');
    const garbage = await raw(port, 'HELLO THERE\r\n\r\n');
    assert.equal(garbage.status, 400);
    assertRefusal(garbage.status, garbage.headers, garbage.body, 'bad_request', 'not HTTP');
  } finally {
    await h.close();
  }
});
