/**
 * The API's HTTP server and how long it waits for a client. A client that sends its headers or its
 * body a byte at a time, or opens a connection and says nothing, must not hold a socket for ever:
 * Node closes it with a 408 (in our JSON error shape, see `clientErrorHandler`) once the headers
 * or the whole request take longer than configured, and an idle keep-alive connection after
 * `keepAliveMs`.
 *
 * Node checks the header and request deadlines only every `connectionsCheckingInterval` (30 s by
 * default, longer than the deadlines themselves), so the server is built here with an interval
 * derived from the shortest deadline; Fastify's own options cannot set it.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { FastifyServerFactory } from 'fastify';
import { SECURITY_HEADERS } from './security-headers.js';
import type { HttpTimeouts } from '../common/http-timeouts.js';

export { checkTimeouts, DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from '../common/http-timeouts.js';

/** How often Node checks the deadlines: a tenth of the shortest one, between 50 ms and 1 s. */
export function checkingIntervalMs(t: HttpTimeouts): number {
  return Math.min(1000, Math.max(50, Math.floor(Math.min(t.headersMs, t.requestMs) / 10)));
}

/**
 * A Fastify `serverFactory` for an HTTP/1.1 server with these timeouts; HTTPS when `tls` is given
 * (a serverFactory replaces Fastify's own `https` option, so TLS is set up here).
 */
export function httpServerFactory(t: HttpTimeouts, tls?: { cert: string | Buffer; key: string | Buffer }): FastifyServerFactory {
  const options = {
    requestTimeout: t.requestMs,
    headersTimeout: t.headersMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: checkingIntervalMs(t),
  };
  return (handler) => tls
    ? https.createServer({ ...options, cert: tls.cert, key: tls.key }, handler)
    : http.createServer(options, handler);
}

const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request took too long to arrive' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'the request headers are too large' },
};

/**
 * Errors Node raises before Fastify sees a request (timeouts, oversized or malformed headers):
 * answered in the API's JSON error shape with the security headers, then the socket is closed.
 * Pass as Fastify's `clientErrorHandler`.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''] ?? { status: 400, code: 'bad_request', message: 'the request is not valid HTTP' };
  const body = JSON.stringify({ error: { code: known.code, message: known.message } });
  const headers = Object.entries(SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${known.status} ${http.STATUS_CODES[known.status]}\r\nconnection: close\r\n`
      + `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`);
  }
  socket.destroy();
}
