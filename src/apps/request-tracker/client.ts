/**
 * Request Tracker 5 REST 2.0 client (`<RT>/REST/2.0`): token or Basic auth, JSON bodies, RT's
 * `{"message": …}` errors, and a pager for its collection replies
 * (`{count, page, per_page, total, pages, items, next_page?}`).
 */
import { TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorErrorInfo } from '../http.js';

export interface RtConfig {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  queue: string;
  dedupeField: string;
}

export const VENDOR = 'Request Tracker';

/** RT replies `{"message":"…"}` on errors; some updates reply with an array of messages. */
export function describeRtError(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as unknown;
    if (typeof j === 'object' && j !== null && typeof (j as { message?: unknown }).message === 'string') {
      return { message: (j as { message: string }).message.trim() };
    }
    if (Array.isArray(j) && j.length > 0) return { message: j.map(String).join('; ') };
  } catch {
    // Not JSON: RT's Perl errors come back as HTML or nothing at all.
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

/** Accepts `12`, `#12` or `RT#12`; anything else never reaches a URL path. */
export function ticketRef(ticket: string): string {
  const m = /^(?:RT)?#?(\d{1,12})$/i.exec(ticket.trim());
  if (m === null) throw new TerminalError(`${VENDOR}: "${ticket}" is not a ticket number (like 42 or RT#42)`, { applied: 'no' });
  return String(Number(m[1]));
}

/** A single-quoted TicketSQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A `{id, type, _url}` reference as RT returns it (ids are strings in some replies, numbers in others). */
export interface RtRef {
  id: string | number;
  type?: string;
  _url?: string;
}

export interface RtPage<T> {
  count: number;
  page: number;
  per_page: number;
  total?: number;
  pages?: number;
  items: T[];
  next_page?: string;
}

export interface PageOptions {
  /** Items per request, 1..100 (RT caps per_page at 100). */
  perPage?: number;
  /** Stop after this many items. */
  limit?: number;
  /** Extra query parameters (e.g. fields, orderby, order). */
  params?: Record<string, string>;
}

export class RtClient {
  readonly base: string;
  private readonly auth: string;

  constructor(cfg: RtConfig, private readonly signal: AbortSignal) {
    this.base = baseUrl(cfg.url);
    if (cfg.token !== undefined && cfg.token !== '') {
      this.auth = `token ${cfg.token}`;
    } else if (cfg.username !== undefined && cfg.username !== '' && cfg.password !== undefined) {
      this.auth = `Basic ${Buffer.from(`${cfg.username}:${cfg.password}`).toString('base64')}`;
    } else {
      throw new TerminalError(`${VENDOR}: configure either an auth token or a username and password`, { applied: 'no' });
    }
  }

  ticketUrl(id: string): string {
    return `${this.base}/Ticket/Display.html?id=${id}`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: this.auth, accept: 'application/json' };
    const req: { method: string; headers: Record<string, string>; signal: AbortSignal; body?: string } = { method, headers, signal: this.signal };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      req.body = JSON.stringify(body);
    }
    const res = await vendorFetch(`${this.base}/REST/2.0${path}`, req, { vendor: VENDOR, describeError: describeRtError });
    return readJson<T>(res, VENDOR);
  }

  /**
   * Follows a collection through its pages (page=1,2,… until RT stops returning next_page or the
   * limit is reached). Returns the items and RT's total.
   */
  async collect<T>(path: string, opts: PageOptions = {}): Promise<{ items: T[]; total: number; truncated: boolean }> {
    const perPage = Math.min(100, Math.max(1, opts.perPage ?? 100));
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const items: T[] = [];
    let total = 0;
    for (let page = 1; ; page++) {
      const qs = new URLSearchParams({ ...opts.params, page: String(page), per_page: String(perPage) });
      const sep = path.includes('?') ? '&' : '?';
      const res = await this.request<RtPage<T>>('GET', `${path}${sep}${qs.toString()}`);
      total = res.total ?? total;
      for (const it of res.items ?? []) {
        if (items.length >= limit) return { items, total, truncated: true };
        items.push(it);
      }
      if (res.next_page === undefined || (res.items ?? []).length === 0) return { items, total, truncated: false };
      if (items.length >= limit) return { items, total, truncated: items.length < total };
    }
  }
}
