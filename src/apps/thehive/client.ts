/** TheHive 5 REST client (`/api/v1`): Bearer API key, optional X-Organisation, `{type, message}` errors, the query API. */
import { z } from 'zod';
import { TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorClientOptions, type VendorErrorInfo } from '../http.js';

export const VENDOR = 'TheHive';

export const theHiveConfig = z.object({
  url: z.url().describe('TheHive base URL, e.g. https://thehive.example.com:9000'),
  apiKey: z.string().min(1),
  organisation: z.string().min(1).optional().describe('Sent as X-Organisation; default: the API user\'s default organisation'),
  /** type and source of the alerts Riposte creates: with sourceRef they are TheHive's unique key. */
  alertType: z.string().min(1).default('riposte'),
  alertSource: z.string().min(1).default('riposte'),
});
export type TheHiveConfig = z.output<typeof theHiveConfig>;

/** `{"type":"CreateError","message":"…"}` → "CreateError - …" (TheHive4py's format), code = type. */
export function describeTheHiveError(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as { type?: unknown; message?: unknown };
    if (typeof j.type === 'string' || typeof j.message === 'string') {
      const type = typeof j.type === 'string' ? j.type : undefined;
      const message = typeof j.message === 'string' ? j.message : `HTTP ${status}`;
      return type === undefined ? { message } : { message: `${type} - ${message}`, code: type };
    }
  } catch {
    // not JSON (proxy pages, plain-text 5xx)
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

const client: VendorClientOptions = { vendor: VENDOR, describeError: describeTheHiveError };

export type QueryOp = Record<string, unknown> & { _name: string };

export class TheHiveClient {
  readonly base: string;

  constructor(private readonly cfg: TheHiveConfig, private readonly signal: AbortSignal) {
    this.base = baseUrl(cfg.url);
  }

  alertUrl(id: string): string {
    return `${this.base}/alerts/${encodeURIComponent(id)}/details`;
  }
  caseUrl(id: string): string {
    return `${this.base}/cases/${encodeURIComponent(id)}/details`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.cfg.apiKey}`, accept: 'application/json' };
    if (this.cfg.organisation !== undefined) headers['x-organisation'] = this.cfg.organisation;
    const req: { method: string; headers: Record<string, string>; signal: AbortSignal; body?: string } = { method, headers, signal: this.signal };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      req.body = JSON.stringify(body);
    }
    const res = await vendorFetch(`${this.base}/api/v1${path}`, req, client);
    return readJson<T>(res, VENDOR);
  }

  /** Runs a query; `name` only labels the request in TheHive's logs. */
  query<T>(name: string, ops: QueryOp[]): Promise<T> {
    return this.request<T>('POST', `/query?name=${encodeURIComponent(name)}`, { query: ops });
  }

  /**
   * Every entity a query returns, `pageSize` at a time, up to `max`; `total` comes from a
   * `count` query with the same filters.
   */
  async queryAll<T>(name: string, ops: QueryOp[], max: number, pageSize: number): Promise<{ items: T[]; total: number; truncated: boolean }> {
    const total = await this.query<number>(`${name}.count`, [...ops, { _name: 'count' }]);
    const items: T[] = [];
    for (let from = 0; from < Math.min(total, max); from += pageSize) {
      const page = await this.query<T[]>(name, [...ops, { _name: 'page', from, to: Math.min(from + pageSize, max) }]);
      items.push(...page);
      if (page.length === 0) break;
    }
    const out = items.slice(0, max);
    return { items: out, total, truncated: total > out.length };
  }
}

export const eq = (field: string, value: unknown) => ({ _eq: { _field: field, _value: value } });

/** An alert or case id as TheHive prints it (`~123`) or a legacy id, checked before it goes into a URL. */
export function entityRef(id: string, what: string): string {
  const t = id.trim();
  if (!/^~?[A-Za-z0-9_-]{1,64}$/.test(t)) throw new TerminalError(`${VENDOR}: ${what} "${id}" is not a TheHive id (like ~40964240)`, { applied: 'no' });
  return t;
}

export function isCreateError(err: unknown, pattern: RegExp): boolean {
  return err instanceof TerminalError && err.vendorCode === 'CreateError' && pattern.test(err.message);
}
