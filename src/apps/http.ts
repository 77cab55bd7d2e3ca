/**
 * The HTTP client every first-party app uses to reach its vendor. It maps transport failures and
 * status codes onto the SDK's error family, so every app classifies errors the same way:
 *
 * | what happened                            | error            | applied  |
 * |------------------------------------------|------------------|----------|
 * | connection refused / DNS failure         | RetryableError   | 'no'     |
 * | refused by the egress policy             | TerminalError    | 'no'     |
 * | TLS certificate not trusted / expired    | TerminalError    | 'no'     |
 * | timeout or reset after the request left  | RetryableError   | 'unknown'|
 * | 429, 503 (honours Retry-After)           | RetryableError   | 'no'     |
 * | other 5xx                                | RetryableError   | 'unknown'|
 * | other 4xx                                | TerminalError    | 'no'     |
 *
 * The vendor's own message is extracted by the app's `describeError` and carried in the error.
 * Secrets never appear in messages: only method, path (no query string) and the vendor message.
 *
 * Transport: `node:http`/`node:https` over one module-level keep-alive agent per scheme, not
 * `fetch` (undici's web streams, abort-signal plumbing and transferables cost about a fifth of the
 * server's main thread under the benchmark). Decisions, each kept from what `fetch` did unless said:
 *
 * - Connections: keep-alive, at most MAX_SOCKETS per origin (more requests queue in the agent),
 *   LIFO reuse (the most recently used socket is the least likely to be stale), and an idle
 *   socket is closed after IDLE_MS — shorter than common server idle timeouts (Node 5 s, Apache
 *   5 s, nginx 75 s) and than a `Keep-Alive: timeout=N` hint minus 1 s when the server sends one.
 * - A reused idle socket the server closed at the same moment we wrote to it shows as a reset
 *   before any response byte. The request is sent again once on a fresh look-up only when the
 *   method is safe (GET/HEAD/OPTIONS): nothing can have been applied. For any other method the
 *   server may have read it, so it stays "reset after the request left" (applied 'unknown'); the
 *   origin's other idle sockets are dropped either way, so the next request does not hit one.
 * - Abort: via the caller's AbortSignal, also while the body is read; the message says
 *   "timed out". Before the request reached a connected socket (pre-aborted, still connecting or
 *   queued in the agent) it is applied 'no'; after that 'unknown'.
 * - Redirects: followed only within the same origin (scheme, host, port), at most MAX_REDIRECTS,
 *   with fetch's method rules (303, and 301/302 after POST, become a GET without body; 307/308
 *   repeat method and body). A redirect to another origin is refused (TerminalError): the
 *   credentials in our headers are for this vendor only. No lab simulator or real-server test
 *   relies on redirects; vendors redirect at most within their own API. A caller may replace the
 *   same-origin rule with its own (`redirect`: the generic HTTP app follows its asset's allow-list).
 * - Compression: `accept-encoding: gzip, deflate` is sent (as fetch did) and gzip, deflate
 *   (zlib or raw) and br bodies are decoded; an unknown coding is handed over as received.
 * - Bodies are read completely before vendorFetch returns (vendor replies are small; it frees the
 *   socket at once and classifies a body cut short like any reset). `stream: true` hands over the
 *   body as a Node stream instead (Splunk's export). `maxBodyBytes` caps the body, compressed
 *   and decoded: reading stops at the limit (or at once on a larger Content-Length).
 * - `httpsAgent` replaces the shared HTTPS agent (an asset's CA bundle or client certificate).
 * - HTTPS verifies against Node's default CA store (plus NODE_EXTRA_CA_CERTS). A certificate that
 *   does not verify fails the handshake before the request is written: terminal, applied 'no' (it
 *   will not verify on a retry seconds later).
 * - Egress (src/common/egress-guard.ts): each request runs under the asset's egress policy — scheme
 *   and IP literals checked before the request, host names when they resolve (the socket's
 *   `lookup`), every redirect hop alike. Pooled sockets are kept per policy, so a socket opened
 *   for an asset allowed to reach loopback is never reused for one that is not.
 * - Request bodies are strings or bytes, sent with their content-length; a POST/PUT/PATCH without
 *   body sends `content-length: 0`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { RetryableError, TerminalError } from '../sdk/errors.js';
import { BodyTooLarge, codings, decodeBuffer, decoderStream, KNOWN_CODINGS } from './http-decode.js';
import {
  currentEgressPolicy, egressRefusal, EgressRefused, urlProblem, type EgressPolicy,
} from '../common/egress-guard.js';

export interface VendorErrorInfo {
  message: string;
  code?: string;
}

export interface VendorRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Hand the body over as a stream (`res.body`) instead of reading it before returning. */
  stream?: boolean;
  /**
   * The HTTPS agent to use instead of the shared one (an asset's own CA bundle or client
   * certificate; build it with `vendorAgentOptions`, one per egress policy). Plain-http requests
   * keep the shared agent.
   */
  httpsAgent?: https.Agent;
  /**
   * Redirect policy replacing the same-origin rule: called with each redirect's target (and the
   * URL that redirected); returns null to follow it, or the reason it is refused (nothing is sent
   * there). Credentials in the target URL are refused whatever it says.
   */
  redirect?: (next: URL, from: URL) => string | null;
  /**
   * Refuse a (decoded) body longer than this (TerminalError naming the limit). Not applied with
   * `stream: true`.
   */
  maxBodyBytes?: number;
  /** Statuses >= 400 the caller handles itself: returned like a 2xx, not thrown. */
  passStatus?: (status: number) => boolean;
}

export interface VendorClientOptions {
  /** Product name used in error messages ("Microsoft Graph", "PAN-OS", …). */
  vendor: string;
  /** Extract the vendor's message/code from an error response body. */
  describeError(status: number, body: string): VendorErrorInfo;
}

/** Response headers; `get` is case-insensitive and joins repeated headers with ", " (as fetch). */
export interface VendorHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
}

/** What vendorFetch returns: the subset of fetch's Response the apps use. */
export interface VendorResponse {
  readonly status: number;
  /** 2xx */
  readonly ok: boolean;
  /** The URL that answered (after same-origin redirects). */
  readonly url: string;
  readonly redirected: boolean;
  readonly headers: VendorHeaders;
  /** The decoded body as a stream; with `stream: true` it can be read only once. */
  readonly body: AsyncIterable<Buffer>;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const MAX_SOCKETS = 64;
const IDLE_MS = 4_000;
const MAX_REDIRECTS = 10;

/** The shared agents' connection settings, for callers that build their own HTTPS agent. */
export const vendorAgentOptions = {
  keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS, timeout: IDLE_MS, scheduling: 'lifo' as const,
};
/** The shared agents, one pair per egress policy (a pooled socket is never reused across policies). */
const agents = new Map<string, { http: http.Agent; https: https.Agent }>();

function agentsFor(policy: EgressPolicy): { http: http.Agent; https: https.Agent } {
  let a = agents.get(policy.key);
  if (a === undefined) {
    a = { http: new http.Agent(vendorAgentOptions), https: new https.Agent(vendorAgentOptions) };
    agents.set(policy.key, a);
  }
  return a;
}

/** Closes every pooled connection (tests; a process exits without it: idle sockets are unref'd). */
export function closeVendorConnections(): void {
  for (const a of agents.values()) {
    a.http.destroy();
    a.https.destroy();
  }
  agents.clear();
}

/** Counters for tests and benchmarks: sockets opened, requests sent, stale-socket re-sends. */
export const vendorClientStats = { socketsOpened: 0, requests: 0, staleRetries: 0 };

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** OpenSSL/Node verification failures: the handshake failed, so the request was never written. */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REVOKED', 'CERT_SIGNATURE_FAILURE', 'CERT_REJECTED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const STALE_CODES = new Set(['ECONNRESET', 'EPIPE']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Parse a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

class ResponseHeaders implements VendorHeaders {
  constructor(private readonly raw: http.IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
}

class Res implements VendorResponse {
  readonly ok: boolean;
  readonly headers: VendorHeaders;
  private streamUsed = false;

  constructor(readonly status: number, rawHeaders: http.IncomingHttpHeaders, readonly url: string, readonly redirected: boolean,
    private readonly buffered: Buffer | undefined, private readonly stream: Readable | undefined) {
    this.ok = status >= 200 && status < 300;
    this.headers = new ResponseHeaders(rawHeaders);
  }

  get body(): AsyncIterable<Buffer> {
    if (this.buffered !== undefined) {
      const buf = this.buffered;
      return (async function* () { if (buf.length > 0) yield buf; })();
    }
    if (this.streamUsed) throw new TypeError('response body already read');
    this.streamUsed = true;
    return this.stream!;
  }

  private async bytes(): Promise<Buffer> {
    if (this.buffered !== undefined) return this.buffered;
    const chunks: Buffer[] = [];
    for await (const c of this.body) chunks.push(c);
    return Buffer.concat(chunks);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}

/** A transport failure of one attempt, with what is known about how far the request got. */
class TransportError extends Error {
  constructor(override readonly cause: unknown, readonly sent: boolean, readonly aborted: boolean, readonly staleReuse: boolean, readonly status?: number) {
    super('transport error');
  }
}

interface Attempt {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer | undefined;
  stream: Readable | undefined;
}

function requestHeaders(req: VendorRequest, method: string, body: string | Buffer | undefined): Record<string, string | number> {
  const h: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) h[k.toLowerCase()] = v;
  h.accept ??= '*/*';
  h['accept-encoding'] ??= 'gzip, deflate';
  h['user-agent'] ??= 'riposte';
  if (body !== undefined) h['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  else if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && method !== 'DELETE') h['content-length'] = 0;
  else delete h['content-length'];
  return h;
}

/** Drops the idle pooled sockets of an origin (after one of them turned out to be stale). */
function dropIdleSockets(agent: http.Agent, host: string, port: number): void {
  const prefix = `${host}:${port}:`;
  for (const [name, sockets] of Object.entries(agent.freeSockets)) {
    if (name.startsWith(prefix)) for (const s of sockets ?? []) s.destroy();
  }
}

/** One request/response exchange on one socket. */
function attempt(
  u: URL, method: string, headers: Record<string, string | number>, body: string | Buffer | undefined,
  signal: AbortSignal | undefined, stream: boolean,
  ownHttpsAgent: https.Agent | undefined, maxBodyBytes: number | undefined, policy: EgressPolicy,
): Promise<Attempt> {
  return new Promise<Attempt>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TransportError(signal.reason, false, true, false));
      return;
    }
    // Scheme and IP literals here (net.connect skips `lookup` for an IP); names when they resolve.
    const refused = urlProblem(policy, u);
    if (refused !== null) {
      reject(new TransportError(new EgressRefused(refused), false, false, false));
      return;
    }
    const isHttps = u.protocol === 'https:';
    const shared = agentsFor(policy);
    const agent = isHttps ? ownHttpsAgent ?? shared.https : shared.http;
    const opts: http.RequestOptions = {
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port === '' ? (isHttps ? 443 : 80) : Number(u.port),
      path: `${u.pathname}${u.search}`,
      method,
      headers,
      agent,
      lookup: policy.lookup,
    };
    let sent = false;
    let responded = false;
    let done = false;
    let res: http.IncomingMessage | undefined;
    let status: number | undefined;
    const req = (isHttps ? https : http).request(opts);
    vendorClientStats.requests++;

    const cleanup = () => signal?.removeEventListener('abort', onAbort);
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      cleanup();
      const aborted = signal?.aborted === true;
      const staleReuse = !aborted && req.reusedSocket && !responded && STALE_CODES.has(causeCode(err) ?? '');
      if (staleReuse) dropIdleSockets(agent, opts.hostname!, opts.port as number);
      req.destroy();
      res?.destroy();
      reject(new TransportError(aborted ? signal!.reason : err, sent, aborted, staleReuse, status));
    };
    function onAbort(): void {
      fail(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    req.on('socket', (s: Socket) => {
      if (!req.reusedSocket) vendorClientStats.socketsOpened++;
      // Once the socket is connected the request's bytes may reach the server. (For TLS this is
      // before the handshake: counting it as sent early is the safe direction.)
      if (s.connecting) s.once('connect', () => { sent = true; });
      else sent = true;
    });
    req.on('error', fail);
    req.on('response', (r) => {
      responded = true;
      res = r;
      status = r.statusCode ?? 0;
      const list = method === 'HEAD' || status === 204 || status === 304 ? [] : codings(r.headers);
      const decodable = list.every((c) => KNOWN_CODINGS.has(c));
      if (stream) {
        const src = (decodable && list.length > 0 ? pipeline([r, ...list.map(decoderStream)], () => undefined) : r) as Readable;
        // Errors reach whoever iterates the stream; without a reader they must not crash the process.
        src.on('error', () => undefined);
        // The abort listener moves to the stream and stays until it is read to the end or dropped.
        done = true;
        cleanup();
        const onStreamAbort = () => src.destroy(Object.assign(new Error('timed out'), { code: 'ABORT_ERR' }));
        signal?.addEventListener('abort', onStreamAbort, { once: true });
        src.once('close', () => signal?.removeEventListener('abort', onStreamAbort));
        resolve({ status, headers: r.headers, body: undefined, stream: src });
        return;
      }
      const chunks: Buffer[] = [];
      let ended = false;
      let received = 0;
      const tooLarge = (n: number) => maxBodyBytes !== undefined && n > maxBodyBytes;
      if (tooLarge(Number(r.headers['content-length'] ?? 0))) {
        fail(new BodyTooLarge(maxBodyBytes!));
        return;
      }
      r.on('data', (c: Buffer) => {
        received += c.length;
        if (tooLarge(received)) fail(new BodyTooLarge(maxBodyBytes!));
        else chunks.push(c);
      });
      r.on('error', fail);
      r.on('end', () => {
        ended = true;
        if (done) return;
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const finish = (b: Buffer) => {
          if (done) return;
          done = true;
          cleanup();
          resolve({ status: status!, headers: r.headers, body: b, stream: undefined });
        };
        if (list.length === 0 || !decodable) finish(raw);
        else decodeBuffer(raw, list, maxBodyBytes).then(finish, fail);
      });
      r.on('close', () => {
        if (!ended) fail(Object.assign(new Error('response body cut short'), { code: 'ECONNRESET' }));
      });
    });
    req.end(body);
  });
}

function statusError(where: string, status: number, body: string, headers: VendorHeaders, opts: VendorClientOptions): Error {
  const info = opts.describeError(status, body);
  const msg = `${where}: HTTP ${status}: ${info.message}`;
  const base = info.code === undefined ? { status } : { status, vendorCode: info.code };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
    return new RetryableError(msg, retryAfterMs === undefined ? { ...base, applied: 'no' } : { ...base, applied: 'no', retryAfterMs });
  }
  if (status >= 500) return new RetryableError(msg, { ...base, applied: 'unknown' });
  return new TerminalError(msg, { ...base, applied: 'no' });
}

/**
 * Sends one request and returns the response when its status is 2xx/3xx; throws a classified
 * ActionError otherwise. Unless `stream` is set, the body has been read when this resolves.
 */
export async function vendorFetch(url: string, req: VendorRequest, opts: VendorClientOptions): Promise<VendorResponse> {
  let method = (req.method ?? 'GET').toUpperCase();
  const where = `${opts.vendor} ${method} ${pathOf(url)}`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TerminalError(`${where}: invalid URL`, { applied: 'no' });
  }
  // The policy of the asset this runs for, fixed for the whole exchange (redirects included).
  const policy = currentEgressPolicy();
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    const scheme = u.protocol.slice(0, 20);
    throw new TerminalError(`${where}: refused by the egress policy: unsupported protocol ${scheme}; nothing was sent`, {
      applied: 'no',
    });
  }
  // fetch refuses these too; the credentials would otherwise be silently dropped.
  if (u.username !== '' || u.password !== '') {
    const msg = `${where}: refused by the egress policy: credentials in the URL are not allowed; nothing was sent`;
    throw new TerminalError(msg, { applied: 'no' });
  }

  // A string body stays a string: Node then writes it together with the headers in one write.
  let body: string | Buffer | undefined = req.body === undefined || typeof req.body === 'string' ? req.body : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
  let headers = requestHeaders(req, method, body);
  const stream = req.stream === true;
  let staleRetried = false;
  let redirects = 0;
  for (;;) {
    let a: Attempt;
    try {
      const maxBodyBytes = stream ? undefined : req.maxBodyBytes;
      a = await attempt(u, method, headers, body, req.signal, stream, req.httpsAgent, maxBodyBytes, policy);
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      if (err.staleReuse && !staleRetried && SAFE_METHODS.has(method)) {
        staleRetried = true;
        vendorClientStats.staleRetries++;
        continue;
      }
      const cause = err.cause;
      const refusal = egressRefusal(cause);
      if (refusal !== undefined) {
        // Before any connection: the policy will not change between attempts.
        const to = redirects > 0 ? ` (redirected to ${u.host})` : '';
        throw new TerminalError(`${where}${to}: ${refusal.message}; nothing was sent`, { applied: 'no' });
      }
      // The vendor already refused: its status decides, even if its error body was cut short.
      if (err.status !== undefined && err.status >= 400 && req.passStatus?.(err.status) !== true) {
        throw statusError(where, err.status, '', new ResponseHeaders({}), opts);
      }
      if (cause instanceof BodyTooLarge) {
        // The request was answered: whatever it asked for has been done (or refused) by now.
        const applied = SAFE_METHODS.has(method) ? 'no' : 'unknown';
        const status = err.status === undefined ? {} : { status: err.status };
        const msg = `${where}: HTTP ${err.status ?? '?'}: ${cause.message}; not read`;
        throw new TerminalError(msg, { ...status, applied });
      }
      if (err.aborted) {
        throw new RetryableError(`${where}: timed out`, { applied: err.sent ? 'unknown' : 'no', cause });
      }
      const code = causeCode(cause);
      if (code !== undefined && CERT_CODES.has(code) && !err.aborted) {
        // The TLS handshake failed, so no request byte was written; retrying will not change the certificate.
        const msg = `${where}: TLS certificate of ${u.host} not trusted (${code}); nothing was sent`;
        throw new TerminalError(msg, { applied: 'no', cause });
      }
      const notSent = !err.sent || (code !== undefined && NOT_SENT_CODES.has(code));
      throw new RetryableError(`${where}: ${code ?? (cause as Error)?.message ?? 'request failed'}`, { applied: notSent ? 'no' : 'unknown', cause });
    }

    const location = REDIRECTS.has(a.status) ? a.headers.location : undefined;
    if (location !== undefined && location !== '') {
      a.stream?.destroy();
      let next: URL | undefined;
      try {
        next = new URL(location, u);
      } catch {
        next = undefined;
      }
      // 303, and 301/302 after a POST, mean "GET the result over there": the request was handled.
      const toGet = a.status === 303 ? method !== 'HEAD' : (a.status === 301 || a.status === 302) && method === 'POST';
      const applied = SAFE_METHODS.has(method) || a.status === 307 || a.status === 308 ? 'no' : 'unknown';
      if (next === undefined || next.username !== '' || next.password !== '') {
        const where2 = next === undefined ? 'an invalid location' : 'a URL with credentials';
        throw new TerminalError(`${where}: HTTP ${a.status}: redirected to ${where2}; not followed`, { status: a.status, applied });
      }
      const refused = req.redirect !== undefined ? req.redirect(next, u)
        : next.origin !== u.origin ? `another origin (${next.origin})` : null;
      if (refused !== null) {
        const msg = `${where}: HTTP ${a.status}: redirected to ${refused}; not followed`;
        throw new TerminalError(msg, { status: a.status, applied });
      }
      if (++redirects > MAX_REDIRECTS) throw new TerminalError(`${where}: more than ${MAX_REDIRECTS} redirects`, { status: a.status, applied });
      if (toGet) {
        method = 'GET';
        body = undefined;
        headers = requestHeaders(req, method, undefined);
        delete headers['content-type'];
      }
      u = next;
      continue;
    }

    const h = new ResponseHeaders(a.headers);
    if (a.status < 400 || req.passStatus?.(a.status) === true) {
      return new Res(a.status, a.headers, u.href, redirects > 0, a.body, a.stream);
    }
    let text = '';
    if (a.body !== undefined) text = a.body.toString('utf8');
    else text = await new Res(a.status, a.headers, u.href, redirects > 0, undefined, a.stream).text().catch(() => '');
    throw statusError(where, a.status, text, h, opts);
  }
}

/** Reads a JSON body, turning a malformed one into a retryable error with unknown outcome. */
export async function readJson<T>(res: VendorResponse, vendor: string): Promise<T> {
  const text = await res.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RetryableError(`${vendor}: response is not JSON (HTTP ${res.status})`, { status: res.status, applied: 'unknown' });
  }
}

/** Strips a trailing slash so `${base}/path` never doubles it. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}
