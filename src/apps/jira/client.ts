/** Jira Cloud REST v3 client: Basic auth (email + API token), JSON bodies, error mapping. */
import { TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorErrorInfo } from '../http.js';

export interface JiraConfig {
  url: string;
  email: string;
  apiToken: string;
  projectKey: string;
  issueType: string;
}

export const VENDOR = 'Jira';

/** Jira's error body `{"errorMessages":[…],"errors":{field: message}}` as one message. */
export function describeJiraError(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as { errorMessages?: unknown; errors?: unknown; message?: unknown };
    const parts: string[] = [];
    if (Array.isArray(j.errorMessages)) parts.push(...j.errorMessages.filter((m): m is string => typeof m === 'string' && m !== ''));
    if (j.errors !== null && typeof j.errors === 'object') {
      for (const [k, v] of Object.entries(j.errors as Record<string, unknown>)) parts.push(`${k}: ${String(v)}`);
    }
    if (parts.length === 0 && typeof j.message === 'string') parts.push(j.message);
    if (parts.length > 0) {
      const errs = j.errors !== null && typeof j.errors === 'object' ? Object.keys(j.errors as object) : [];
      return errs.length > 0 ? { message: parts.join('; '), code: errs.join(',') } : { message: parts.join('; ') };
    }
  } catch {
    // Not JSON (some 401/5xx replies are plain text or HTML).
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

const TICKET = /^([A-Za-z][A-Za-z0-9_]*-\d+|\d+)$/;

/** Validates an issue key or id before it goes into a URL path. */
export function ticketRef(ticket: string): string {
  const t = ticket.trim();
  if (!TICKET.test(t)) throw new TerminalError(`${VENDOR}: "${ticket}" is not an issue key (like SEC-12) or id`, { applied: 'no' });
  return t.toUpperCase();
}

/** A string literal for JQL. */
export function jqlString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export class JiraClient {
  readonly base: string;
  private readonly auth: string;

  constructor(cfg: JiraConfig, private readonly signal: AbortSignal) {
    this.base = baseUrl(cfg.url);
    this.auth = `Basic ${Buffer.from(`${cfg.email}:${cfg.apiToken}`).toString('base64')}`;
  }

  browseUrl(key: string): string {
    return `${this.base}/browse/${key}`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: this.auth, accept: 'application/json' };
    const req: { method: string; headers: Record<string, string>; signal: AbortSignal; body?: string } = { method, headers, signal: this.signal };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      req.body = JSON.stringify(body);
    }
    const res = await vendorFetch(`${this.base}/rest/api/3${path}`, req, { vendor: VENDOR, describeError: describeJiraError });
    return readJson<T>(res, VENDOR);
  }
}
