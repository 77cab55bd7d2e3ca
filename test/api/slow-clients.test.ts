/**
 * Hostile clients (issue 13): a client that sends its headers or body a byte at a time, says
 * nothing at all, or idles on a keep-alive connection is cut off within the configured time, with
 * a 408 in the API's JSON error shape where it is still listening; a handful of them do not keep a
 * normal request from being served. Short timeouts, and every wait bounded, so a server that never
 * closes the socket fails the test in seconds instead of hanging it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { makeHarness, TOKENS, type Harness } from './harness.js';
import { SECURITY_HEADERS } from '../../src/api/security-headers.js';
import { checkTimeouts } from '../../src/api/http-server.js';

const TIMEOUTS = { headersMs: 600, requestMs: 1200, keepAliveMs: 400 };
// Node's check runs every ~60 ms here; a loaded 2-core machine may add some more.
const SLACK_MS = 1500;
// A server without the timeouts holds the socket this long before the test gives up on it.
const GIVE_UP_MS = 6000;

interface Closed { data: string; afterMs: number; byServer: boolean }

/**
 * Opens a raw connection, writes `first`, then one byte of `drip` every 100 ms, and resolves when
 * the server closes the socket (or after GIVE_UP_MS, with `byServer` false).
 */
function slowClient(port: number, first: string, drip = 'a'): Promise<Closed> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (byServer: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ data, afterMs: Date.now() - started, byServer });
    };
    const timer = setInterval(() => { if (drip !== '' && socket.writable) socket.write(drip); }, 100);
    const giveUp = setTimeout(() => finish(false), GIVE_UP_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { data += chunk; });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => { if (first !== '') socket.write(first); });
  });
}

async function listening(): Promise<{ h: Harness; port: number }> {
  const h = await makeHarness({ timeouts: TIMEOUTS });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  return { h, port: (h.app.server.address() as AddressInfo).port };
}

function assert408(c: Closed, limitMs: number, what: string): void {
  assert.ok(c.byServer, `${what}: the server never closed the connection`);
  assert.ok(c.afterMs <= limitMs, `${what}: closed after ${c.afterMs} ms, limit ${limitMs} ms`);
  const [head = '', body = ''] = c.data.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 408 /, `${what}: ${c.data}`);
  assert.match(head, /content-type: application\/json/i);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.ok(head.toLowerCase().includes(`${name}: ${value}`.toLowerCase()), `${name} on the 408`);
  assert.deepEqual(JSON.parse(body), { error: { code: 'request_timeout', message: 'the request took too long to arrive' } });
}

test('a client sending its headers a byte at a time gets a 408 after the header timeout', async () => {
  const { h, port } = await listening();
  try {
    const c = await slowClient(port, 'GET /api/v1/health HTTP/1.1\r\nhost: riposte\r\nx-slow: ');
    assert408(c, TIMEOUTS.headersMs + SLACK_MS, 'slow headers');
    assert.ok(c.afterMs >= TIMEOUTS.headersMs - 50, `not before the header timeout (${c.afterMs} ms)`);
  } finally {
    await h.close();
  }
});

test('a client that connects and says nothing is closed after the header timeout', async () => {
  const { h, port } = await listening();
  try {
    const c = await slowClient(port, '', '');
    assert.ok(c.byServer, 'the server never closed the silent connection');
    assert.ok(c.afterMs <= TIMEOUTS.headersMs + SLACK_MS, `closed after ${c.afterMs} ms`);
  } finally {
    await h.close();
  }
});

test('a client sending its body a byte at a time gets a 408 after the request timeout; nothing is stored', async () => {
  const { h, port } = await listening();
  try {
    const c = await slowClient(port, 'POST /api/v1/incidents HTTP/1.1\r\nhost: riposte\r\n'
      + `authorization: Bearer ${TOKENS.analyst}\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{"name":"`);
    assert408(c, TIMEOUTS.requestMs + SLACK_MS, 'slow body');
    assert.ok(c.afterMs >= TIMEOUTS.requestMs - 50, `not before the request timeout (${c.afterMs} ms)`);
    assert.deepEqual(await h.store.listIncidents({}), []);
  } finally {
    await h.close();
  }
});

test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
  const { h, port } = await listening();
  try {
    const c = await slowClient(port, 'GET /api/v1/health HTTP/1.1\r\nhost: riposte\r\n\r\n', '');
    assert.ok(c.byServer, 'the server never closed the idle connection');
    assert.match(c.data, /^HTTP\/1\.1 200 /);
    assert.ok(c.afterMs <= TIMEOUTS.keepAliveMs + SLACK_MS, `closed after ${c.afterMs} ms`);
  } finally {
    await h.close();
  }
});

test('a handful of slow clients do not keep a normal request from being served', async () => {
  const { h, port } = await listening();
  try {
    const slow = Array.from({ length: 12 }, (_, i) => slowClient(port, i % 2 === 0
      ? 'GET /api/v1/health HTTP/1.1\r\nhost: riposte\r\nx-slow: '
      : `POST /api/v1/incidents HTTP/1.1\r\nhost: riposte\r\nauthorization: Bearer ${TOKENS.analyst}\r\n`
        + 'content-type: application/json\r\ncontent-length: 5000\r\n\r\n{'));
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/incidents`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    assert.equal(res.status, 200);
    const closed = await Promise.all(slow);
    assert.ok(closed.every((c) => c.byServer && c.afterMs <= TIMEOUTS.requestMs + SLACK_MS), JSON.stringify(closed.map((c) => c.afterMs)));
  } finally {
    await h.close();
  }
});

test('timeouts that cannot work are refused with a message naming them', () => {
  assert.throws(() => checkTimeouts({ headersMs: 0, requestMs: 1000, keepAliveMs: 1000 }), /headersMs must be a positive number/);
  assert.throws(() => checkTimeouts({ headersMs: 2000, requestMs: 1000, keepAliveMs: 1000 }), /header timeout \(2000 ms\) must not be longer than the request timeout/);
});
