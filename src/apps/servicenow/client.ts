/**
 * ServiceNow Table API client. Three ways to authenticate, chosen from the asset's config:
 * a pre-issued OAuth `accessToken` (Bearer, used as is); `clientId` + `clientSecret` +
 * `username` + `password` (OAuth password grant at `/oauth_token.do`, token cached per asset and
 * fetched again once on a 401); or `username` + `password` alone (Basic).
 *
 * A 401 is returned before ServiceNow acts, so retrying a write once with a fresh token is safe
 * even for non-idempotent calls.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorClientOptions, type VendorErrorInfo, type VendorHeaders, type VendorResponse } from '../http.js';

export const VENDOR = 'ServiceNow';

export const serviceNowConfig = z.object({
  url: z.url().describe('Instance URL, e.g. https://acme.service-now.com'),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** OAuth application registry entry (password grant). */
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  /** A pre-issued OAuth access token; used as is (no refresh). */
  accessToken: z.string().min(1).optional(),
  assignmentGroup: z.string().min(1).optional().describe('sys_id or name of the group new incidents are assigned to'),
  callerId: z.string().min(1).optional().describe('sys_id of the caller set on new incidents'),
  category: z.string().min(1).optional(),
}).superRefine((c, ctx) => {
  if (c.accessToken !== undefined) return;
  if (c.username === undefined || c.password === undefined) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'set accessToken, or username and password (plus clientId and clientSecret for OAuth)' });
  }
  if ((c.clientId === undefined) !== (c.clientSecret === undefined)) {
    ctx.addIssue({ code: 'custom', path: [c.clientId === undefined ? 'clientId' : 'clientSecret'], message: 'clientId and clientSecret go together' });
  }
});
export type ServiceNowConfig = z.output<typeof serviceNowConfig>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `{"error":{"message","detail"},"status":"failure"}` from the Table API, or
 * `{"error":"server_error","error_description":"access_denied"}` from `/oauth_token.do`.
 */
export function describeServiceNowError(status: number, body: string): VendorErrorInfo {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
    return { message: text || `HTTP ${status}` };
  }
  if (isRecord(j) && isRecord(j.error)) {
    const message = typeof j.error.message === 'string' && j.error.message !== '' ? j.error.message : `HTTP ${status}`;
    const detail = typeof j.error.detail === 'string' ? j.error.detail.replace(/\s+/g, ' ').trim() : '';
    return { message: detail === '' ? message : `${message}: ${detail}` };
  }
  if (isRecord(j) && typeof j.error === 'string') {
    const desc = typeof j.error_description === 'string' ? j.error_description : '';
    return { message: desc === '' ? j.error : `${desc} (${j.error})`, code: j.error };
  }
  return { message: `HTTP ${status}` };
}

const client: VendorClientOptions = { vendor: VENDOR, describeError: describeServiceNowError };

interface CachedToken { token: string; refreshAt: number }
const tokenCache = new Map<string, CachedToken>();

export function clearServiceNowTokenCache(): void {
  tokenCache.clear();
}

function tokenKey(cfg: ServiceNowConfig): string {
  // The secrets' fingerprint keeps an asset with wrong credentials from borrowing a good token.
  const fp = createHash('sha256').update(`${cfg.clientSecret ?? ''}\0${cfg.password ?? ''}`).digest('hex').slice(0, 16);
  return [baseUrl(cfg.url), cfg.clientId, cfg.username, fp].join('|');
}

export interface TableResponse<T> {
  result: T;
  headers: VendorHeaders;
}

export class ServiceNowClient {
  readonly base: string;

  constructor(private readonly cfg: ServiceNowConfig, private readonly signal: AbortSignal) {
    this.base = baseUrl(cfg.url);
  }

  /** Link to the record in the UI. */
  recordUrl(sysId: string): string {
    return `${this.base}/nav_to.do?uri=incident.do?sys_id=${sysId}`;
  }

  private usesOAuth(): boolean {
    return this.cfg.accessToken === undefined && this.cfg.clientId !== undefined;
  }

  private async oauthToken(force: boolean): Promise<string> {
    const key = tokenKey(this.cfg);
    const hit = tokenCache.get(key);
    if (!force && hit !== undefined && Date.now() < hit.refreshAt) return hit.token;
    tokenCache.delete(key);
    const body = new URLSearchParams({
      grant_type: 'password', client_id: this.cfg.clientId!, client_secret: this.cfg.clientSecret!,
      username: this.cfg.username!, password: this.cfg.password!,
    }).toString();
    try {
      const res = await vendorFetch(`${this.base}/oauth_token.do`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal: this.signal,
      }, client);
      const j = await readJson<unknown>(res, VENDOR);
      if (!isRecord(j) || typeof j.access_token !== 'string' || j.access_token === '') {
        throw new RetryableError(`${VENDOR}: token response has no access_token`, { status: res.status, applied: 'no' });
      }
      const ttlMs = (Number(j.expires_in) || 0) * 1000;
      tokenCache.set(key, { token: j.access_token, refreshAt: Date.now() + ttlMs - Math.min(60_000, ttlMs / 2) });
      return j.access_token;
    } catch (err) {
      // Nothing reached the Table API yet: whatever the token endpoint did, the action was not applied.
      if (err instanceof ActionError && err.applied !== 'no') {
        const opts = { applied: 'no' as const, ...(err.status === undefined ? {} : { status: err.status }) };
        throw err instanceof RetryableError ? new RetryableError(err.message, opts) : new TerminalError(err.message, opts);
      }
      throw err;
    }
  }

  private async authorization(force: boolean): Promise<string> {
    if (this.cfg.accessToken !== undefined) return `Bearer ${this.cfg.accessToken}`;
    if (this.usesOAuth()) return `Bearer ${await this.oauthToken(force)}`;
    return `Basic ${Buffer.from(`${this.cfg.username}:${this.cfg.password}`).toString('base64')}`;
  }

  /** One Table API call; `pathAndQuery` starts with `/api/now/…`. */
  async request<T>(method: string, pathAndQuery: string, body?: unknown): Promise<TableResponse<T>> {
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { authorization: await this.authorization(attempt > 1), accept: 'application/json' };
      const req: { method: string; headers: Record<string, string>; signal: AbortSignal; body?: string } = { method, headers, signal: this.signal };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        req.body = JSON.stringify(body);
      }
      let res: VendorResponse;
      try {
        res = await vendorFetch(`${this.base}${pathAndQuery}`, req, client);
      } catch (err) {
        if (attempt === 1 && this.usesOAuth() && err instanceof TerminalError && err.status === 401) continue;
        throw err;
      }
      const json = await readJson<{ result?: T }>(res, VENDOR);
      return { result: (json?.result ?? undefined) as T, headers: res.headers };
    }
  }

  /**
   * Every record of a Table API query, following `Link: rel="next"` (or X-Total-Count) until
   * `max` records. The next link is only followed on the instance's own origin.
   */
  async list<T>(table: string, params: Record<string, string>, max: number, pageSize: number): Promise<{ records: T[]; total: number; truncated: boolean }> {
    const q = new URLSearchParams({ ...params, sysparm_limit: String(Math.min(pageSize, max)), sysparm_offset: '0' });
    let path = `/api/now/table/${encodeURIComponent(table)}?${q}`;
    const records: T[] = [];
    let total = 0;
    for (;;) {
      const page = await this.request<T[]>('GET', path);
      const rows = Array.isArray(page.result) ? page.result : [];
      total = Number(page.headers.get('x-total-count') ?? NaN);
      records.push(...rows);
      if (records.length >= max || rows.length === 0) break;
      const next = nextLink(page.headers.get('link'), this.base);
      if (next !== undefined) path = next;
      else {
        // No usable Link header: page by offset while X-Total-Count says there is more.
        const offset = Number(new URLSearchParams(path.split('?')[1] ?? '').get('sysparm_offset') ?? 0) + rows.length;
        if (!(offset < total)) break;
        q.set('sysparm_offset', String(offset));
        path = `/api/now/table/${encodeURIComponent(table)}?${q}`;
      }
    }
    const out = records.slice(0, max);
    if (!Number.isFinite(total)) total = records.length;
    return { records: out, total, truncated: total > out.length };
  }
}

/** Path and query of the `rel="next"` link, when it points at the same origin. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (!m) continue;
    try {
      const u = new URL(m[1]!);
      return u.origin === new URL(base).origin ? `${u.pathname}${u.search}` : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const SYS_ID = /^[0-9a-f]{32}$/;
const NUMBER = /^[A-Z]{2,8}\d{4,}$/;

/** Validates a ticket reference (sys_id or number like INC0010001) before it goes into a URL or query. */
export function ticketRef(ticket: string): { sysId: string } | { number: string } {
  const t = ticket.trim();
  if (SYS_ID.test(t.toLowerCase())) return { sysId: t.toLowerCase() };
  if (NUMBER.test(t.toUpperCase())) return { number: t.toUpperCase() };
  throw new TerminalError(`${VENDOR}: ticket "${ticket}" is not a sys_id (32 hex digits) or an incident number like INC0010001`, { applied: 'no' });
}
