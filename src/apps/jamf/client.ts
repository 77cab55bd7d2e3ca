/**
 * Jamf Pro API plumbing: OAuth client-credentials tokens (API Roles and Clients), cached per
 * asset until shortly before `expires_in` and refreshed once on a 401; requests through the shared
 * vendor HTTP client; Jamf's error envelope → message and code; `page`/`page-size` paging.
 *
 * Failure semantics: a failure while obtaining a token is always `applied: 'no'` (the API call was
 * never sent). A 401 from the API is retried once with a fresh token, even for a POST of an MDM
 * command: Jamf rejected the request before acting on it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorClientOptions, type VendorErrorInfo, type VendorResponse } from '../http.js';

export const jamfConfig = z.object({
  /** e.g. https://contoso.jamfcloud.com */
  url: z.url(),
  /** API client id (Settings › API Roles and Clients). */
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Page size of list requests (Jamf allows up to 2000). */
  pageSize: z.number().int().min(1).max(2000).default(100),
});
export type JamfConfig = z.output<typeof jamfConfig>;

export const VENDOR = 'Jamf Pro';
const MAX_PAGES = 50;

/** `{"httpStatus":…,"errors":[{"code","description","field"}]}`, or the token endpoint's `{"error":…}`. */
export function describeJamfError(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as { errors?: unknown; error?: unknown; error_description?: unknown };
    if (Array.isArray(j.errors) && j.errors.length > 0) {
      const errs = j.errors as Array<{ code?: unknown; description?: unknown; field?: unknown }>;
      const message = errs.map((e) => {
        const d = typeof e.description === 'string' && e.description !== '' ? e.description : String(e.code ?? `HTTP ${status}`);
        return typeof e.field === 'string' && e.field !== '' ? `${d} (field ${e.field})` : d;
      }).join('; ');
      const code = errs[0]!.code;
      return typeof code === 'string' ? { message, code } : { message };
    }
    if (typeof j.error === 'string') {
      return { message: typeof j.error_description === 'string' ? `${j.error}: ${j.error_description}` : j.error, code: j.error };
    }
  } catch {
    // not JSON: Jamf and its proxies answer some failures with HTML
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text === '' ? `HTTP ${status}` : text };
}

const client: VendorClientOptions = { vendor: VENDOR, describeError: describeJamfError };

/** The same error, marked as certainly not applied (token failures, lookups before a command). */
export function notApplied(err: unknown): unknown {
  if (!(err instanceof ActionError) || err.applied === 'no') return err;
  const opts = { applied: 'no' as const, cause: err.cause, ...(err.status === undefined ? {} : { status: err.status }), ...(err.vendorCode === undefined ? {} : { vendorCode: err.vendorCode }) };
  if (err instanceof RetryableError) return new RetryableError(err.message, err.retryAfterMs === undefined ? opts : { ...opts, retryAfterMs: err.retryAfterMs });
  return new TerminalError(err.message, opts);
}

const tokenCache = new Map<string, { token: string; refreshAt: number }>();

export function clearJamfTokenCache(): void {
  tokenCache.clear();
}

function cacheKey(cfg: JamfConfig): string {
  // The secret's fingerprint keeps an asset with a wrong or rotated secret from borrowing a token.
  const fp = createHash('sha256').update(cfg.clientSecret).digest('hex').slice(0, 16);
  return [baseUrl(cfg.url), cfg.clientId, fp].join('|');
}

export async function getToken(cfg: JamfConfig, signal: AbortSignal, force = false): Promise<string> {
  const key = cacheKey(cfg);
  const hit = tokenCache.get(key);
  if (!force && hit !== undefined && Date.now() < hit.refreshAt) return hit.token;
  tokenCache.delete(key);
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: cfg.clientId, client_secret: cfg.clientSecret }).toString();
  try {
    const res = await vendorFetch(`${baseUrl(cfg.url)}/api/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal,
    }, client);
    const json = await readJson<{ access_token?: unknown; expires_in?: unknown } | undefined>(res, VENDOR);
    if (typeof json?.access_token !== 'string' || json.access_token === '') {
      throw new RetryableError(`${VENDOR}: token response has no access_token`, { status: res.status });
    }
    const lifetimeMs = (Number(json.expires_in) || 0) * 1000;
    // Refresh 30 s early (or halfway through a short-lived token) so a token never expires in flight.
    tokenCache.set(key, { token: json.access_token, refreshAt: Date.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 2) });
    return json.access_token;
  } catch (err) {
    throw notApplied(err);
  }
}

export interface JamfRequest {
  method?: string;
  body?: unknown;
  signal: AbortSignal;
}

/** Sends a request to `path` (under the asset's url, with query string) and returns the 2xx response. */
export async function jamfFetch(cfg: JamfConfig, path: string, req: JamfRequest): Promise<VendorResponse> {
  const send = (token: string): Promise<VendorResponse> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    return vendorFetch(`${baseUrl(cfg.url)}${path}`, {
      method: req.method ?? 'GET', headers, body: req.body === undefined ? undefined : JSON.stringify(req.body), signal: req.signal,
    }, client);
  };
  // Outside the try: a token endpoint that rejects the credentials is not worth a second try.
  const token = await getToken(cfg, req.signal);
  try {
    return await send(token);
  } catch (err) {
    if (!(err instanceof TerminalError && err.status === 401)) throw err;
    return send(await getToken(cfg, req.signal, true));
  }
}

export async function jamfJson<T>(cfg: JamfConfig, path: string, req: JamfRequest): Promise<T> {
  return readJson<T>(await jamfFetch(cfg, path, req), VENDOR);
}

/** The resource, or undefined when Jamf answers 404. */
export async function jamfJsonOrNone<T>(cfg: JamfConfig, path: string, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await jamfJson<T>(cfg, path, { signal });
  } catch (err) {
    if (err instanceof TerminalError && err.status === 404) return undefined;
    throw err;
  }
}

/** Every result of a `{totalCount, results}` collection, page by page (0-based `page`). */
export async function jamfList<T>(cfg: JamfConfig, path: string, query: URLSearchParams, signal: AbortSignal): Promise<T[]> {
  const items: T[] = [];
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new TerminalError(`${VENDOR}: more than ${MAX_PAGES} pages of ${cfg.pageSize}; narrow the query`);
    const q = new URLSearchParams(query);
    q.set('page', String(page));
    q.set('page-size', String(cfg.pageSize));
    const json = await jamfJson<{ totalCount?: unknown; results?: unknown } | undefined>(cfg, `${path}?${q.toString()}`, { signal });
    if (!Array.isArray(json?.results) || typeof json.totalCount !== 'number') {
      throw new RetryableError(`${VENDOR}: GET ${path}: reply has no totalCount/results`, { applied: 'no' });
    }
    items.push(...(json.results as T[]));
    if (json.results.length === 0 || items.length >= json.totalCount) return items;
  }
}

/** An RSQL string literal. */
export function rsql(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The id of the first command in a `201 [{id, href}]` reply (undefined if the reply lacks it). */
export async function readCreated(res: VendorResponse): Promise<string | undefined> {
  const json = await readJson<unknown>(res, VENDOR).catch(() => undefined);
  const first: unknown = Array.isArray(json) ? json[0] : undefined;
  const id = (first as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
