/**
 * One request of the generic HTTP app: the target URL checked against the asset's allow-list
 * (and every redirect too), the asset's credentials added, the response read up to the asset's
 * size limit and shaped as the action's output, every secret of the asset masked out of the
 * output and of error messages.
 *
 * Failure semantics (on top of vendorFetch's table in src/apps/http.ts): every refusal here —
 * a host off the allow-list, a non-http(s) scheme, a forbidden header, credentials over plain
 * http — happens before anything is sent (`applied: 'no'`). A redirect that is refused was not
 * followed: nothing was sent to its target. A 401 with OAuth2 is sent again once with a fresh
 * token, even for POST: the API refused before acting. A reply that cannot be read (over the
 * limit, JSON that does not parse) is `applied: 'unknown'` for a changing request.
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, vendorAgentOptions, vendorFetch, type VendorClientOptions, type VendorResponse } from '../http.js';
import { currentEgressPolicy } from '../../common/egress-guard.js';
import { authHeaderName, authHeaderValue, cachedToken } from './auth.js';
import { allowList, hostAllowed, hostOf, pemCertificates, type HttpConfig, type Method } from './config.js';
import { describeHttpError } from './describe-error.js';

export interface HttpCall {
  method: Method;
  url: string;
  query?: Record<string, string | number | boolean | Array<string | number | boolean>>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string | number | boolean>;
  responseHeaders?: string[];
  acceptStatus?: number[];
}

export interface HttpResult {
  status: number;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Response headers every action returns when present (more on request, by name). */
export const DEFAULT_RESPONSE_HEADERS = [
  'content-type', 'content-length', 'location', 'etag', 'last-modified', 'retry-after', 'link',
];

/** Headers a playbook may not set: framing (request smuggling) and credentials (they belong in the asset). */
const FORBIDDEN_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'upgrade', 'expect',
  'authorization', 'proxy-authorization',
]);

const MASK = '••••••';
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function refuse(message: string): TerminalError {
  return new TerminalError(`HTTP: ${message}; nothing was sent`, { applied: 'no' });
}

/** The absolute URL of a call: under the base URL for a relative `url`, with the query added. */
export function targetUrl(c: HttpConfig, call: Pick<HttpCall, 'url' | 'query'>): URL {
  let u: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(call.url)) {
    try {
      u = new URL(call.url);
    } catch {
      throw refuse('url is not a valid URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw refuse(`url has the scheme ${u.protocol.slice(0, 20)}; only http and https are allowed`);
    }
  } else {
    const base = new URL(c.baseUrl);
    const root = base.origin + base.pathname;
    try {
      // '' is the base URL itself (the connectivity test); a path goes under it, never to another host.
      u = new URL(call.url === '' ? root : `${baseUrl(root)}/${call.url.replace(/^\/+/, '')}`);
    } catch {
      throw refuse('url is not a valid path');
    }
  }
  if (u.username !== '' || u.password !== '') {
    throw refuse('credentials in the url are not allowed (they belong in the asset)');
  }
  for (const [k, v] of Object.entries(call.query ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
  }
  return u;
}

/** Why the asset may not send to `u` (host off the allow-list, credentials in clear text), or null. */
function destinationProblem(c: HttpConfig, list: readonly string[], u: URL): string | null {
  if (!hostAllowed(list, u)) return `host ${hostOf(u)} is not on the asset's allow-list (${list.join(', ')})`;
  if (c.auth !== 'none' && u.protocol === 'http:' && !LOOPBACK.test(u.hostname)) {
    return `the asset's credentials are never sent over plain http (to ${hostOf(u)}); use https`;
  }
  return null;
}

/** Lower-cased request headers, refused when they would override credentials or framing. */
export function requestHeaders(c: HttpConfig, given: Record<string, string> | undefined): Record<string, string> {
  const auth = authHeaderName(c);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(given ?? {})) {
    const k = name.toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(k)) throw refuse(`header name "${name.slice(0, 64)}" is not a valid token`);
    if (/[\r\n\0]/.test(value)) throw refuse(`header ${k} contains a line break or NUL`);
    if (k === auth) throw refuse(`header ${k} carries the asset's credentials and cannot be set by a playbook`);
    if (FORBIDDEN_HEADERS.has(k)) {
      throw refuse(k.includes('authorization')
        ? `header ${k}: credentials belong in the asset's secrets, not in a playbook's input`
        : `header ${k} is set by the HTTP client and cannot be set by a playbook`);
    }
    out[k] = value;
  }
  return out;
}

const agents = new Map<string, https.Agent>();
const MAX_AGENTS = 32;

/** The asset's own HTTPS agent (CA bundle, client certificate, insecure), or undefined for the shared one. */
export function tlsAgent(c: HttpConfig): https.Agent | undefined {
  if (c.caPem === undefined && c.clientCertPem === undefined && !c.tlsInsecureSkipVerify) return undefined;
  // Per egress policy too: a pooled socket must not be reused by an asset with another policy.
  const egress = currentEgressPolicy().key;
  const material = JSON.stringify([c.caPem, c.clientCertPem, c.clientKeyPem, c.tlsInsecureSkipVerify, egress]);
  const key = createHash('sha256').update(material).digest('hex');
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = new https.Agent({
      ...vendorAgentOptions,
      // Added to Node's default CAs, not replacing them: the token endpoint may be public.
      ...(c.caPem !== undefined ? { ca: [...tls.rootCertificates, ...pemCertificates(c.caPem)] } : {}),
      ...(c.clientCertPem !== undefined ? { cert: c.clientCertPem, key: c.clientKeyPem! } : {}),
      rejectUnauthorized: !c.tlsInsecureSkipVerify,
    });
    if (agents.size >= MAX_AGENTS) {
      const [oldKey, old] = agents.entries().next().value!;
      agents.delete(oldKey);
      old.destroy();
    }
    agents.set(key, agent);
  }
  return agent;
}

/** Closes the connections of every asset's own HTTPS agent (tests). */
export function closeHttpAppConnections(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

/** Every value of the asset that must never be shown, with the forms a server may echo it in. */
function secretValues(c: HttpConfig): string[] {
  const b64 = (user: string, pass: string) => Buffer.from(`${user}:${pass}`).toString('base64');
  const raw = [c.password, c.token, c.apiKey, c.clientSecret, c.clientKeyPem, cachedToken(c)]
    .filter((v): v is string => v !== undefined);
  if (c.username !== undefined && c.password !== undefined) raw.push(b64(c.username, c.password));
  if (c.clientId !== undefined && c.clientSecret !== undefined) raw.push(b64(c.clientId, c.clientSecret));
  const all = raw.flatMap((v) => [v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]);
  // Longest first, so a secret that contains another is masked whole.
  return [...new Set(all)].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
}

function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

function scrubValue(v: unknown, secrets: readonly string[]): unknown {
  if (typeof v === 'string') return scrubText(v, secrets);
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, secrets));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrubText(k, secrets), scrubValue(x, secrets)]));
  }
  return v;
}

/** The same error with the asset's secrets masked out of its message (and no cause carried along). */
function scrubError(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof Error)) return err;
  const message = scrubText(err.message, secrets);
  if (!(err instanceof ActionError)) return new Error(message);
  const opts = {
    applied: err.applied,
    ...(err.status === undefined ? {} : { status: err.status }),
    ...(err.vendorCode === undefined ? {} : { vendorCode: scrubText(err.vendorCode, secrets) }),
  };
  if (err instanceof RetryableError) {
    const retry = err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs };
    return new RetryableError(message, { ...opts, ...retry });
  }
  return new TerminalError(message, opts);
}

function isJsonType(contentType: string | null): boolean {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return t === 'application/json' || t.endsWith('+json');
}

/**
 * Sends one call for the asset. `readOnly` is whether the asset counts this method as changing
 * nothing (it decides `applied` when a reply cannot be read).
 */
export async function httpRequest(
  c: HttpConfig, call: HttpCall, signal: AbortSignal, readOnly: boolean,
): Promise<HttpResult> {
  try {
    return scrubValue(await send(c, call, signal, readOnly), secretValues(c)) as HttpResult;
  } catch (err) {
    throw scrubError(err, secretValues(c));
  }
}

async function send(c: HttpConfig, call: HttpCall, signal: AbortSignal, readOnly: boolean): Promise<HttpResult> {
  const list = allowList(c);
  const u = targetUrl(c, call);
  const problem = destinationProblem(c, list, u);
  if (problem !== null) throw refuse(problem);
  if (c.auth === 'oauth2') {
    const t = new URL(c.tokenUrl!);
    if (t.protocol === 'http:' && !LOOPBACK.test(t.hostname)) {
      throw refuse(`the client secret is never sent over plain http (tokenUrl ${hostOf(t)}); use https`);
    }
  }
  const headers = requestHeaders(c, call.headers);
  let body: string | undefined;
  if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers['content-type'] ??= 'application/json';
  } else if (call.form !== undefined) {
    body = new URLSearchParams(Object.entries(call.form).map(([k, v]) => [k, String(v)])).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  headers.accept ??= 'application/json, text/plain;q=0.9, */*;q=0.8';

  const agent = tlsAgent(c);
  const accepted = new Set(call.acceptStatus ?? []);
  const authName = authHeaderName(c);
  const client: VendorClientOptions = { vendor: `HTTP ${u.host}`, describeError: describeHttpError };
  const redirect = (next: URL, from: URL): string | null => {
    if (next.protocol !== 'http:' && next.protocol !== 'https:') return `a ${next.protocol.slice(0, 20)} URL`;
    if (from.protocol === 'https:' && next.protocol === 'http:') {
      return `plain http at ${hostOf(next)} (a downgrade from https)`;
    }
    return destinationProblem(c, list, next);
  };
  const once = async (forceToken: boolean): Promise<VendorResponse> => {
    const h = { ...headers };
    const cred = await authHeaderValue(c, agent, signal, forceToken);
    if (authName !== null && cred !== null) h[authName] = cred;
    return vendorFetch(u.href, {
      method: call.method, headers: h, signal, redirect, maxBodyBytes: c.maxResponseBytes,
      // With OAuth2 a 401 comes back here so a fresh token can be tried once.
      passStatus: (s) => accepted.has(s) || (c.auth === 'oauth2' && s === 401),
      ...(body !== undefined ? { body } : {}), ...(agent !== undefined ? { httpsAgent: agent } : {}),
    }, client);
  };
  let res = await once(false);
  if (res.status === 401 && c.auth === 'oauth2') {
    await res.text();
    res = await once(true);
    if (res.status === 401 && !accepted.has(401)) {
      const info = describeHttpError(401, await res.text());
      const where = `${client.vendor} ${call.method} ${new URL(res.url).pathname}`;
      throw new TerminalError(`${where}: HTTP 401 with a fresh token: ${info.message}`, {
        status: 401, applied: 'no', ...(info.code === undefined ? {} : { vendorCode: info.code }),
      });
    }
  }
  const text = await res.text();
  const headersOut: Record<string, string> = {};
  const wanted = new Set([...DEFAULT_RESPONSE_HEADERS, ...(call.responseHeaders ?? []).map((n) => n.toLowerCase())]);
  for (const name of wanted) {
    const v = res.headers.get(name);
    if (v !== null) headersOut[name] = v;
  }
  let parsed: unknown = text;
  if (isJsonType(res.headers.get('content-type')) && text.trim() !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      const where = `${client.vendor} ${call.method} ${new URL(res.url).pathname}`;
      throw new TerminalError(`${where}: HTTP ${res.status}: the reply says JSON but does not parse`, {
        status: res.status, applied: readOnly ? 'no' : 'unknown',
      });
    }
  }
  return { status: res.status, url: res.url, headers: headersOut, body: parsed };
}
