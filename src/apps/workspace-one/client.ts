/**
 * Workspace ONE UEM REST API plumbing: every request carries `aw-tenant-code` (the REST API key),
 * `Accept: application/json` (UEM answers XML otherwise) and either Basic credentials of an admin
 * account or a Bearer token from the tenant's regional OAuth endpoint (client credentials, cached
 * and refreshed once on a 401). Errors `{errorCode, message, activityId}` → message and code.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorClientOptions, type VendorErrorInfo, type VendorResponse } from '../http.js';

export const ws1Config = z.object({
  /** API server, e.g. https://as1506.awmdm.com (the `/API` path is added here). */
  url: z.url(),
  /** REST API key of the organisation group (Groups & Settings › System › Advanced › API). */
  tenantCode: z.string().min(1),
  /** Basic auth: an admin account with the API role. */
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** OAuth instead of Basic: a client of the tenant's regional token endpoint. */
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  /** e.g. https://na.uemauth.vmwservices.com/connect/token */
  tokenUrl: z.url().optional(),
  /** Page size of searches (UEM caps it at 500). */
  pageSize: z.number().int().min(1).max(500).default(500),
});
export type Ws1Config = z.output<typeof ws1Config>;

export const VENDOR = 'Workspace ONE UEM';
const MAX_PAGES = 50;

export function describeWs1Error(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as { errorCode?: unknown; message?: unknown; error?: unknown; error_description?: unknown };
    if (typeof j.message === 'string' && j.message !== '') {
      return j.errorCode === undefined ? { message: j.message } : { message: j.message, code: String(j.errorCode) };
    }
    if (typeof j.error === 'string') {
      return { message: typeof j.error_description === 'string' ? `${j.error}: ${j.error_description}` : j.error, code: j.error };
    }
  } catch {
    // not JSON (an XML or HTML error page)
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text === '' ? `HTTP ${status}` : text };
}

const client: VendorClientOptions = { vendor: VENDOR, describeError: describeWs1Error };

/** The same error, marked as certainly not applied (token failures happen before the call). */
function notApplied(err: unknown): unknown {
  if (!(err instanceof ActionError) || err.applied === 'no') return err;
  const opts = { applied: 'no' as const, cause: err.cause, ...(err.status === undefined ? {} : { status: err.status }), ...(err.vendorCode === undefined ? {} : { vendorCode: err.vendorCode }) };
  if (err instanceof RetryableError) return new RetryableError(err.message, err.retryAfterMs === undefined ? opts : { ...opts, retryAfterMs: err.retryAfterMs });
  return new TerminalError(err.message, opts);
}

const tokenCache = new Map<string, { token: string; refreshAt: number }>();

export function clearWs1TokenCache(): void {
  tokenCache.clear();
}

type Auth = { kind: 'basic'; header: string } | { kind: 'oauth'; tokenUrl: string; clientId: string; clientSecret: string };

function authOf(cfg: Ws1Config): Auth {
  if (cfg.clientId !== undefined && cfg.clientSecret !== undefined && cfg.tokenUrl !== undefined) {
    return { kind: 'oauth', tokenUrl: cfg.tokenUrl, clientId: cfg.clientId, clientSecret: cfg.clientSecret };
  }
  if (cfg.username !== undefined && cfg.password !== undefined) {
    return { kind: 'basic', header: `Basic ${Buffer.from(`${cfg.username}:${cfg.password}`).toString('base64')}` };
  }
  throw new TerminalError(`${VENDOR}: configure username + password, or clientId + clientSecret + tokenUrl`);
}

async function bearerToken(a: Extract<Auth, { kind: 'oauth' }>, signal: AbortSignal, force: boolean): Promise<string> {
  const key = [a.tokenUrl, a.clientId, createHash('sha256').update(a.clientSecret).digest('hex').slice(0, 16)].join('|');
  const hit = tokenCache.get(key);
  if (!force && hit !== undefined && Date.now() < hit.refreshAt) return hit.token;
  tokenCache.delete(key);
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret }).toString();
  try {
    const res = await vendorFetch(a.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal }, client);
    const json = await readJson<{ access_token?: unknown; expires_in?: unknown } | undefined>(res, VENDOR);
    if (typeof json?.access_token !== 'string' || json.access_token === '') throw new RetryableError(`${VENDOR}: token response has no access_token`);
    const lifetimeMs = (Number(json.expires_in) || 0) * 1000;
    tokenCache.set(key, { token: json.access_token, refreshAt: Date.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 2) });
    return json.access_token;
  } catch (err) {
    throw notApplied(err);
  }
}

/** Sends a request to `/API${path}` and returns the 2xx response (202/204 have no body). */
export async function ws1Fetch(cfg: Ws1Config, path: string, signal: AbortSignal, method = 'GET'): Promise<VendorResponse> {
  const auth = authOf(cfg);
  const send = (authorization: string): Promise<VendorResponse> => {
    const headers = { authorization, 'aw-tenant-code': cfg.tenantCode, accept: 'application/json' };
    return vendorFetch(`${baseUrl(cfg.url)}/API${path}`, { method, headers, signal }, client);
  };
  if (auth.kind === 'basic') return send(auth.header);
  const token = await bearerToken(auth, signal, false);
  try {
    return await send(`Bearer ${token}`);
  } catch (err) {
    // A stale Bearer token is worth one retry; a wrong tenant code (1013) is not.
    if (!(err instanceof TerminalError) || err.status !== 401 || err.vendorCode === '1013') throw err;
    return send(`Bearer ${await bearerToken(auth, signal, true)}`);
  }
}

/** A JSON reply, or undefined for an empty one (UEM answers 204 when a search finds nothing). */
export async function ws1Json<T>(cfg: Ws1Config, path: string, signal: AbortSignal): Promise<T | undefined> {
  return readJson<T | undefined>(await ws1Fetch(cfg, path, signal), VENDOR);
}

export async function ws1JsonOrNone<T>(cfg: Ws1Config, path: string, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await ws1Json<T>(cfg, path, signal);
  } catch (err) {
    if (err instanceof TerminalError && err.status === 404) return undefined;
    throw err;
  }
}

/** Every item of a `{<key>:[…], Page, PageSize, Total}` collection, page by page (0-based). */
export async function ws1List<T>(cfg: Ws1Config, path: string, key: string, query: URLSearchParams, signal: AbortSignal): Promise<T[]> {
  const items: T[] = [];
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new TerminalError(`${VENDOR}: more than ${MAX_PAGES} pages of ${cfg.pageSize}; narrow the query`);
    const q = new URLSearchParams(query);
    q.set('page', String(page));
    q.set('pagesize', String(cfg.pageSize));
    const json = await ws1Json<Record<string, unknown>>(cfg, `${path}?${q.toString()}`, signal);
    if (json === undefined) return items;
    const batch = json[key];
    if (!Array.isArray(batch) || typeof json.Total !== 'number') {
      throw new RetryableError(`${VENDOR}: GET ${path}: reply has no ${key}/Total`, { applied: 'no' });
    }
    items.push(...(batch as T[]));
    if (batch.length === 0 || items.length >= json.Total) return items;
  }
}

/** UEM v1 timestamps carry no zone; SaaS tenants report UTC [unverified]. */
export function ws1Time(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const iso = /([zZ]|[+-]\d\d:?\d\d)$/.test(v) ? v : `${v}Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}
