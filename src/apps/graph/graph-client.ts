/**
 * Microsoft Graph plumbing shared by the Entra ID and Intune apps: client-credentials tokens
 * (cached per asset, one request shared by concurrent callers, refreshed before expiry and once
 * more on a 401), Graph requests through the shared vendor HTTP client, Graph/identity-platform
 * error bodies → message and code, and `@odata.nextLink` paging.
 *
 * Failure semantics: a failure while obtaining a token is always `applied: 'no'` (the Graph call
 * was never sent), whatever the token endpoint did. A Graph 401 `InvalidAuthenticationToken` is
 * retried once with a fresh token even for non-idempotent calls: Graph rejected the request
 * before acting on it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorClientOptions, type VendorErrorInfo, type VendorResponse } from '../http.js';
import { singleFlight } from '../single-flight.js';

/** Asset configuration of every Graph-backed app. */
export const graphConfig = z.object({
  /** Directory (tenant) id, or a verified domain of the tenant. */
  tenantId: z.string().min(1),
  /** Application (client) id of the app registration. */
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Identity platform base URL (national clouds and the lab simulator override it). */
  authorityUrl: z.url().default('https://login.microsoftonline.com'),
  graphUrl: z.url().default('https://graph.microsoft.com'),
});
export type GraphConfig = z.output<typeof graphConfig>;

const GRAPH_VENDOR = 'Microsoft Graph';
const TOKEN_VENDOR = 'Microsoft identity platform';

/**
 * Message and code of a Graph error (`{"error":{"code","message"}}`) or a token endpoint error
 * (`{"error":"invalid_client","error_description":"AADSTS…"}`).
 */
export function describeGraphError(status: number, body: string): VendorErrorInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    const text = body.trim().slice(0, 200);
    return { message: text === '' ? `HTTP ${status}` : text };
  }
  const err = isRecord(parsed) ? parsed.error : undefined;
  if (isRecord(err)) {
    const message = typeof err.message === 'string' && err.message !== '' ? unwrapIntuneMessage(err.message) : `HTTP ${status}`;
    return typeof err.code === 'string' ? { message, code: err.code } : { message };
  }
  if (typeof err === 'string' && isRecord(parsed)) {
    const desc = parsed.error_description;
    // The description's first line is the AADSTS text; trace/correlation ids follow on the next lines.
    const message = typeof desc === 'string' ? desc.split(/\r?\n/)[0]!.trim() : err;
    return { message, code: err };
  }
  return { message: `HTTP ${status}` };
}

/** Intune puts its own JSON document ({"Message": "…"}) inside Graph's error.message. */
function unwrapIntuneMessage(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const inner: unknown = JSON.parse(message);
    if (isRecord(inner) && typeof inner.Message === 'string') return inner.Message.split(' - Url: ')[0]!;
  } catch {
    // not JSON after all: keep it as is
  }
  return message.slice(0, 300);
}

const graphClient: VendorClientOptions = { vendor: GRAPH_VENDOR, describeError: describeGraphError };
const tokenClient: VendorClientOptions = { vendor: TOKEN_VENDOR, describeError: describeGraphError };

interface CachedToken {
  token: string;
  refreshAt: number;
}

const tokenCache = new Map<string, CachedToken>();

/** Forget every cached token (tests, or after an asset's credentials change). */
export function clearGraphTokenCache(): void {
  tokenCache.clear();
}

function cacheKey(cfg: GraphConfig): string {
  // A fingerprint of the secret is part of the key so an asset with a wrong or rotated secret
  // never borrows a token that another secret obtained for the same app registration.
  const fp = createHash('sha256').update(cfg.clientSecret).digest('hex').slice(0, 16);
  return [baseUrl(cfg.authorityUrl), cfg.tenantId.toLowerCase(), cfg.clientId, baseUrl(cfg.graphUrl), fp].join('|');
}

/** The same error, marked as certainly not applied (used for token failures). */
function notApplied(err: unknown): unknown {
  if (!(err instanceof ActionError) || err.applied === 'no') return err;
  const opts = { applied: 'no' as const, cause: err.cause, ...(err.status === undefined ? {} : { status: err.status }), ...(err.vendorCode === undefined ? {} : { vendorCode: err.vendorCode }) };
  if (err instanceof RetryableError) return new RetryableError(err.message, err.retryAfterMs === undefined ? opts : { ...opts, retryAfterMs: err.retryAfterMs });
  return new TerminalError(err.message, opts);
}

const tokenFlights = singleFlight<string>();

/**
 * An access token for Graph (client credentials). Cached until shortly before it expires;
 * `force` skips the cache. Concurrent callers share one token request (a cold cache under load
 * would otherwise send one per action); each still stops waiting when its own signal aborts.
 */
export async function getToken(cfg: GraphConfig, signal: AbortSignal, force = false): Promise<string> {
  const key = cacheKey(cfg);
  const hit = tokenCache.get(key);
  if (!force && hit !== undefined && Date.now() < hit.refreshAt) return hit.token;
  tokenCache.delete(key);
  const url = `${baseUrl(cfg.authorityUrl)}/${encodeURIComponent(cfg.tenantId)}/oauth2/v2.0/token`;
  const timedOut = () => new RetryableError(`${TOKEN_VENDOR}: timed out waiting for a token`, { applied: 'no' });
  try {
    return await tokenFlights(key, signal, (shared) => fetchToken(cfg, key, url, shared), timedOut);
  } catch (err) {
    throw notApplied(err);
  }
}

async function fetchToken(cfg: GraphConfig, key: string, url: string, signal: AbortSignal): Promise<string> {
  const body = new URLSearchParams({
    client_id: cfg.clientId,
    client_secret: cfg.clientSecret,
    scope: `${baseUrl(cfg.graphUrl)}/.default`,
    grant_type: 'client_credentials',
  }).toString();
  const res = await vendorFetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal }, tokenClient);
  const json = await readJson<unknown>(res, TOKEN_VENDOR);
  if (!isRecord(json) || typeof json.access_token !== 'string' || json.access_token === '') {
    throw new RetryableError(`${TOKEN_VENDOR}: token response has no access_token`, { status: res.status });
  }
  const lifetimeMs = (typeof json.expires_in === 'number' ? json.expires_in : Number(json.expires_in) || 0) * 1000;
  // Refresh 60 s early (or halfway through a short-lived token) so a token never expires in flight.
  tokenCache.set(key, { token: json.access_token, refreshAt: Date.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 2) });
  return json.access_token;
}

export interface GraphRequest {
  method?: string;
  /** JSON body (serialized here). */
  body?: unknown;
  signal: AbortSignal;
}

/**
 * Sends a Graph request (`pathOrUrl` is a path under `graphUrl`, or an absolute nextLink on the
 * same origin) and returns the 2xx/3xx response; throws a classified ActionError otherwise.
 */
export async function graphFetch(cfg: GraphConfig, pathOrUrl: string, req: GraphRequest): Promise<VendorResponse> {
  const base = baseUrl(cfg.graphUrl);
  const url = pathOrUrl.startsWith('/') ? `${base}${pathOrUrl}` : pathOrUrl;
  // Never send the bearer token to another host, whatever a nextLink says.
  const origin = originOf(url);
  if (origin === undefined || origin !== originOf(base)) {
    throw new TerminalError(`${GRAPH_VENDOR}: refusing to send a request outside ${originOf(base) ?? 'graphUrl'} (${origin ?? 'invalid URL'})`);
  }
  const send = (token: string): Promise<VendorResponse> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    return vendorFetch(url, { method: req.method ?? 'GET', headers, body: req.body === undefined ? undefined : JSON.stringify(req.body), signal: req.signal }, graphClient);
  };
  try {
    return await send(await getToken(cfg, req.signal));
  } catch (err) {
    if (!(err instanceof TerminalError && err.status === 401 && err.vendorCode === 'InvalidAuthenticationToken')) throw err;
    return send(await getToken(cfg, req.signal, true));
  }
}

/** A Graph request whose reply is JSON (undefined for an empty body). */
export async function graphJson<T>(cfg: GraphConfig, pathOrUrl: string, req: GraphRequest): Promise<T> {
  const res = await graphFetch(cfg, pathOrUrl, req);
  return readJson<T>(res, GRAPH_VENDOR);
}

/** Every item of a collection, following `@odata.nextLink` verbatim (at most `maxPages` pages). */
export async function graphList<T>(cfg: GraphConfig, path: string, signal: AbortSignal, maxPages = 50): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined = path;
  for (let page = 0; next !== undefined; page++) {
    if (page >= maxPages) throw new TerminalError(`${GRAPH_VENDOR}: more than ${maxPages} pages; narrow the query`);
    const json: unknown = await graphJson<unknown>(cfg, next, { signal });
    if (!isRecord(json) || !Array.isArray(json.value)) {
      throw new RetryableError(`${GRAPH_VENDOR}: collection reply has no value array`, { applied: 'no' });
    }
    items.push(...(json.value as T[]));
    const link = json['@odata.nextLink'];
    next = typeof link === 'string' && link !== '' ? link : undefined;
  }
  return items;
}

/** True when the error is Graph's "no such resource" reply. */
export function isNotFound(err: unknown): boolean {
  return err instanceof TerminalError && err.status === 404;
}

/** Quotes a string literal for an OData $filter. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
