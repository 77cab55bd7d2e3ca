/**
 * Lab simulator of the ServiceNow Table API (`/api/now/table/{table}`) for the `incident` table
 * and its `sys_journal_field` work notes: Basic auth and OAuth password grant (`/oauth_token.do`),
 * encoded queries (`field=value^…`, `!=`, `LIKE`, `STARTSWITH`, `ISEMPTY`, `ORDERBY[DESC]`),
 * `sysparm_limit`/`sysparm_offset` paging with `X-Total-Count` and `Link` headers,
 * `sysparm_fields`, `sysparm_display_value`, and ServiceNow's error body
 * `{"error":{"message","detail"},"status":"failure"}`.
 *
 * Lab assumptions (not verified against an instance): invalid choice values are refused with 400
 * (a real instance may store them), the mandatory-close-info data policy answers 403
 * "Operation Failed", and the native rate limiter's 429 carries X-RateLimit-* but no Retry-After
 * (inject a fault for that). As on a real instance with the default
 * `glide.invalid_query.returns_no_rows=false`, conditions on unknown fields are ignored.
 */
import { randomBytes } from 'node:crypto';
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';

export interface ServiceNowSimOptions {
  /** username → password, for Basic auth and the OAuth password grant. */
  users?: Record<string, string>;
  /** OAuth client_id → client_secret. */
  oauthClients?: Record<string, string>;
  tokenTtlSeconds?: number;
  /** Requests per window per user before 429 (default: unlimited). */
  rateLimit?: { limit: number; windowMs: number };
  /** Whether the API user may read sys_journal_field (an admin-only ACL on many instances). */
  journalReadable?: boolean;
}

type Rec = Record<string, string>;
interface JournalEntry extends Rec {
  sys_id: string; element_id: string; element: string; name: string; value: string; sys_created_on: string; sys_created_by: string;
}

const CHOICES: Record<string, Record<string, string>> = {
  urgency: { 1: '1 - High', 2: '2 - Medium', 3: '3 - Low' },
  impact: { 1: '1 - High', 2: '2 - Medium', 3: '3 - Low' },
  state: { 1: 'New', 2: 'In Progress', 3: 'On Hold', 6: 'Resolved', 7: 'Closed', 8: 'Canceled' },
  priority: { 1: '1 - Critical', 2: '2 - High', 3: '3 - Moderate', 4: '4 - Low', 5: '5 - Planning' },
};
export const CLOSE_CODES = [
  'Duplicate', 'Known error', 'No resolution provided', 'Resolved by caller', 'Resolved by change', 'Resolved by problem',
  'Resolved by request', 'Solution provided', 'Workaround provided', 'User error',
];
const INCIDENT_FIELDS = [
  'sys_id', 'number', 'short_description', 'description', 'urgency', 'impact', 'priority', 'state', 'active', 'correlation_id',
  'correlation_display', 'close_code', 'close_notes', 'assignment_group', 'caller_id', 'category', 'subcategory', 'opened_at',
  'resolved_at', 'closed_at', 'sys_created_on', 'sys_created_by', 'sys_updated_on', 'sys_updated_by', 'sys_mod_count',
  'sys_class_name', 'work_notes', 'comments',
];
const JOURNAL_FIELDS = ['sys_id', 'element_id', 'element', 'name', 'value', 'sys_created_on', 'sys_created_by'];
const WRITABLE = new Set(['short_description', 'description', 'urgency', 'impact', 'state', 'correlation_id', 'correlation_display',
  'close_code', 'close_notes', 'assignment_group', 'caller_id', 'category', 'subcategory', 'work_notes', 'comments']);
const JOURNALS = new Set(['work_notes', 'comments']);

function fail(status: number, message: string, detail: string | null, headers?: Record<string, string>): LabResponse {
  return { status, body: { error: { message, detail }, status: 'failure' }, ...(headers ? { headers } : {}) };
}
const NOT_AUTHENTICATED = () => fail(401, 'User Not Authenticated', 'Required to provide Auth information');
const NO_RECORD = () => fail(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");

/** `YYYY-MM-DD HH:mm:ss` (UTC), ServiceNow's glide_date_time value format. */
function glideTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

interface Condition { field: string; op: string; value: string }
interface ParsedQuery { conditions: Condition[]; order: Array<{ field: string; desc: boolean }> }

/** Encoded query → conditions (AND only) and ordering. */
export function parseEncodedQuery(q: string): ParsedQuery {
  const out: ParsedQuery = { conditions: [], order: [] };
  for (const term of q.split('^')) {
    if (term === '') continue;
    const ob = /^ORDERBY(DESC)?([a-z_][a-z0-9_.]*)$/.exec(term);
    if (ob) {
      out.order.push({ field: ob[2]!, desc: ob[1] !== undefined });
      continue;
    }
    const m = /^([a-z_][a-z0-9_.]*)(!=|=|LIKE|NOT LIKE|STARTSWITH|ISEMPTY|ISNOTEMPTY)(.*)$/s.exec(term);
    if (m) out.conditions.push({ field: m[1]!, op: m[2]!, value: m[3]! });
  }
  return out;
}

function matches(rec: Rec, c: Condition): boolean {
  const v = rec[c.field] ?? '';
  switch (c.op) {
    case '=': return v === c.value;
    case '!=': return v !== c.value;
    case 'LIKE': return v.toLowerCase().includes(c.value.toLowerCase());
    case 'NOT LIKE': return !v.toLowerCase().includes(c.value.toLowerCase());
    case 'STARTSWITH': return v.toLowerCase().startsWith(c.value.toLowerCase());
    case 'ISEMPTY': return v === '';
    default: return v !== ''; // ISNOTEMPTY
  }
}

export class ServiceNowSimulator extends LabServer {
  readonly name = 'ServiceNow';
  readonly users: Record<string, string>;
  readonly oauthClients: Record<string, string>;
  tokenTtlSeconds: number;
  rateLimit: { limit: number; windowMs: number } | undefined;
  journalReadable: boolean;
  private readonly incidentsById = new Map<string, Rec>();
  private readonly journal: JournalEntry[] = [];
  private readonly tokens = new Map<string, { user: string; expiresAt: number }>();
  private readonly refreshTokens = new Map<string, { user: string; clientId: string }>();
  private readonly windows = new Map<string, { start: number; count: number }>();
  private numberSeq = 10000;

  constructor(opts: ServiceNowSimOptions = {}) {
    super();
    this.users = opts.users ?? { 'riposte.integration': 'sn-password' };
    this.oauthClients = opts.oauthClients ?? { 'riposte-client': 'sn-client-secret' };
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 1800;
    this.rateLimit = opts.rateLimit;
    this.journalReadable = opts.journalReadable ?? true;
  }

  // ---- test helpers ----

  incidents(): Rec[] {
    return [...this.incidentsById.values()].map((r) => ({ ...r }));
  }
  journalOf(sysId: string): JournalEntry[] {
    return this.journal.filter((j) => j.element_id === sysId).map((j) => ({ ...j }));
  }
  /** Makes every issued access token invalid (as if it expired). */
  expireTokens(): void {
    this.tokens.clear();
  }

  // ---- request handling ----

  protected handle(req: LabRequest): LabResponse {
    if (req.path === '/oauth_token.do') return req.method === 'POST' ? this.token(req.body) : fail(405, 'Method not Supported', null);
    const user = this.authenticate(req.headers.authorization);
    if (user === undefined) return NOT_AUTHENTICATED();
    const limited = this.throttle(user);
    if (limited) return limited;
    const m = /^\/api\/now\/table\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
    if (!m) return fail(400, 'Requested URI does not represent any resource', null);
    const table = decodeURIComponent(m[1]!);
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (table !== 'incident' && table !== 'sys_journal_field') return fail(400, `Invalid table ${table}`, null);
    if (table === 'sys_journal_field') {
      if (!this.journalReadable) return fail(403, 'User Not Authorized', 'Failed API level ACL Validation');
      if (req.method !== 'GET' || id !== undefined) return fail(405, 'Method not Supported', null);
      return this.list(req, this.journal, JOURNAL_FIELDS);
    }
    let body: Record<string, unknown> = {};
    if (req.method === 'POST' || req.method === 'PATCH' || req.method === 'PUT') {
      try {
        body = JSON.parse(req.body) as Record<string, unknown>;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
      } catch {
        return fail(400, 'Exception while reading request', 'The payload is not valid JSON.');
      }
    }
    if (id === undefined) {
      if (req.method === 'GET') return this.list(req, [...this.incidentsById.values()], INCIDENT_FIELDS);
      if (req.method === 'POST') return this.insert(req, body, user);
      return fail(405, 'Method not Supported', null);
    }
    const rec = this.incidentsById.get(id);
    if (rec === undefined) return NO_RECORD();
    if (req.method === 'GET') return { status: 200, body: { result: this.view(rec, req.query) } };
    if (req.method === 'PATCH' || req.method === 'PUT') return this.update(req, rec, body, user);
    if (req.method === 'DELETE') {
      this.incidentsById.delete(id);
      return { status: 204 };
    }
    return fail(405, 'Method not Supported', null);
  }

  private authenticate(h: string | undefined): string | undefined {
    if (h?.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      return user !== undefined && this.users[user] !== undefined && this.users[user] === rest.join(':') ? user : undefined;
    }
    if (h?.startsWith('Bearer ')) {
      const t = this.tokens.get(h.slice(7));
      return t !== undefined && t.expiresAt > Date.now() ? t.user : undefined;
    }
    return undefined;
  }

  private throttle(user: string): LabResponse | undefined {
    if (this.rateLimit === undefined) return undefined;
    const now = Date.now();
    let w = this.windows.get(user);
    if (w === undefined || now - w.start >= this.rateLimit.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(user, w);
    }
    w.count += 1;
    if (w.count <= this.rateLimit.limit) return undefined;
    return fail(429, 'Rate limit exceeded', `User ${user} exceeded the inbound REST API rate limit`, {
      'x-ratelimit-limit': String(this.rateLimit.limit),
      'x-ratelimit-reset': String(Math.ceil((w.start + this.rateLimit.windowMs) / 1000)),
      'x-ratelimit-rule': 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    });
  }

  private token(raw: string): LabResponse {
    const f = new URLSearchParams(raw);
    const clientId = f.get('client_id') ?? '';
    const denied: LabResponse = { status: 401, body: { error_description: 'access_denied', error: 'server_error' } };
    if (this.oauthClients[clientId] === undefined || this.oauthClients[clientId] !== f.get('client_secret')) return denied;
    let user: string;
    const grant = f.get('grant_type');
    if (grant === 'password') {
      user = f.get('username') ?? '';
      if (this.users[user] === undefined || this.users[user] !== f.get('password')) return denied;
    } else if (grant === 'refresh_token') {
      const r = this.refreshTokens.get(f.get('refresh_token') ?? '');
      if (r === undefined || r.clientId !== clientId) return denied;
      user = r.user;
    } else {
      return { status: 400, body: { error_description: `Unsupported grant type: ${grant ?? '(none)'}`, error: 'invalid_request' } };
    }
    const access = randomBytes(32).toString('base64url');
    const refresh = randomBytes(32).toString('base64url');
    this.tokens.set(access, { user, expiresAt: Date.now() + this.tokenTtlSeconds * 1000 });
    this.refreshTokens.set(refresh, { user, clientId });
    return { status: 200, body: { access_token: access, refresh_token: refresh, scope: 'useraccount', token_type: 'Bearer', expires_in: this.tokenTtlSeconds - 1 } };
  }

  /** Record as the Table API shows it, honouring sysparm_fields and sysparm_display_value. */
  private view(rec: Rec, q: URLSearchParams, all = INCIDENT_FIELDS): Record<string, unknown> {
    const wanted = (q.get('sysparm_fields') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const fields = wanted.length > 0 ? wanted.filter((f) => all.includes(f)) : all;
    const mode = q.get('sysparm_display_value') ?? 'false';
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const value = JOURNALS.has(f) ? '' : rec[f] ?? '';
      const display = JOURNALS.has(f) ? this.journalText(rec.sys_id!, f) : CHOICES[f]?.[value] ?? value;
      out[f] = mode === 'true' ? display : mode === 'all' ? { display_value: display, value } : value;
    }
    return out;
  }

  /** A journal field's display value: entries newest first, each with a header line. */
  private journalText(sysId: string, element: string): string {
    return this.journal.filter((j) => j.element_id === sysId && j.element === element).reverse()
      .map((j) => `${j.sys_created_on} - ${j.sys_created_by} (${element === 'work_notes' ? 'Work notes' : 'Additional comments'})\n${j.value}\n\n`).join('');
  }

  private list(req: LabRequest, rows: Rec[], fields: string[]): LabResponse {
    const q = req.query;
    const known = new Set(fields);
    const parsed = parseEncodedQuery(q.get('sysparm_query') ?? '');
    // Unknown fields are dropped from the condition list, as with returns_no_rows=false.
    const conds = parsed.conditions.filter((c) => known.has(c.field));
    let hits = rows.filter((r) => conds.every((c) => matches(r, c)));
    const order = parsed.order.filter((o) => known.has(o.field));
    if (order.length > 0) {
      hits = [...hits].sort((a, b) => {
        for (const o of order) {
          const d = (a[o.field] ?? '').localeCompare(b[o.field] ?? '');
          if (d !== 0) return o.desc ? -d : d;
        }
        return 0;
      });
    }
    const limit = Math.max(1, Math.min(Number(q.get('sysparm_limit') ?? 10000) || 10000, 10000));
    const offset = Math.max(0, Number(q.get('sysparm_offset') ?? 0) || 0);
    const page = hits.slice(offset, offset + limit);
    const headers: Record<string, string> = { 'x-total-count': String(hits.length) };
    const link = (o: number, rel: string) => {
      const p = new URLSearchParams(q);
      p.set('sysparm_offset', String(o));
      p.set('sysparm_limit', String(limit));
      return `<${this.url}${req.path}?${p}>;rel="${rel}"`;
    };
    const links = [link(0, 'first')];
    if (offset > 0) links.push(link(Math.max(0, offset - limit), 'prev'));
    if (offset + limit < hits.length) links.push(link(offset + limit, 'next'));
    links.push(link(Math.max(0, Math.floor((hits.length - 1) / limit) * limit), 'last'));
    headers.link = links.join(',');
    return { status: 200, headers, body: { result: page.map((r) => this.view(r, q, fields)) } };
  }

  /** Validates written values; returns an error reply or undefined. */
  private check(values: Rec): LabResponse | undefined {
    for (const f of ['urgency', 'impact', 'state'] as const) {
      const v = values[f];
      if (v !== undefined && CHOICES[f]![v] === undefined) {
        return fail(400, `Invalid value for field '${f}'`, `'${v}' is not a valid choice for ${f} (${Object.keys(CHOICES[f]!).join(', ')})`);
      }
    }
    const cc = values.close_code;
    if (cc !== undefined && cc !== '' && !CLOSE_CODES.includes(cc)) {
      return fail(400, "Invalid value for field 'close_code'", `'${cc}' is not a valid choice for close_code`);
    }
    return undefined;
  }

  private writes(body: Record<string, unknown>): Rec {
    const out: Rec = {};
    for (const [k, v] of Object.entries(body)) {
      // Unknown and read-only fields are silently ignored by the Table API.
      if (WRITABLE.has(k) && v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : String(v);
    }
    if (out.short_description !== undefined) out.short_description = out.short_description.slice(0, 160);
    return out;
  }

  private insert(req: LabRequest, body: Record<string, unknown>, user: string): LabResponse {
    const w = this.writes(body);
    const bad = this.check(w);
    if (bad) return bad;
    const now = glideTime(Date.now());
    const rec: Rec = Object.fromEntries(INCIDENT_FIELDS.map((f) => [f, '']));
    Object.assign(rec, { urgency: '3', impact: '3', state: '1', active: 'true', sys_class_name: 'incident', sys_mod_count: '0' });
    const { work_notes: notes, comments, ...plain } = w;
    Object.assign(rec, plain, {
      sys_id: randomBytes(16).toString('hex'), number: `INC${String(++this.numberSeq).padStart(7, '0')}`,
      opened_at: now, sys_created_on: now, sys_updated_on: now, sys_created_by: user, sys_updated_by: user,
    });
    const policy = this.applyState(rec, now);
    if (policy) return policy;
    this.incidentsById.set(rec.sys_id!, rec);
    if (notes) this.addJournal(rec, 'work_notes', notes, user, now);
    if (comments) this.addJournal(rec, 'comments', comments, user, now);
    return { status: 201, headers: { location: `${this.url}/api/now/table/incident/${rec.sys_id}` }, body: { result: this.view(rec, req.query) } };
  }

  private update(req: LabRequest, rec: Rec, body: Record<string, unknown>, user: string): LabResponse {
    const w = this.writes(body);
    const bad = this.check(w);
    if (bad) return bad;
    const now = glideTime(Date.now());
    const { work_notes: notes, comments, ...plain } = w;
    const next = { ...rec, ...plain };
    const policy = this.applyState(next, now);
    if (policy) return policy;
    Object.assign(rec, next, { sys_updated_on: now, sys_updated_by: user, sys_mod_count: String(Number(rec.sys_mod_count) + 1) });
    if (notes) this.addJournal(rec, 'work_notes', notes, user, now);
    if (comments) this.addJournal(rec, 'comments', comments, user, now);
    return { status: 200, body: { result: this.view(rec, req.query) } };
  }

  /** Business rules: priority from urgency × impact, state side effects, close-info data policy. */
  private applyState(rec: Rec, now: string): LabResponse | undefined {
    rec.priority = String(Math.min(5, Number(rec.urgency) + Number(rec.impact) - 1));
    if (rec.state === '6' || rec.state === '7') {
      const missing = [rec.close_code ? '' : 'Resolution code', rec.close_notes ? '' : 'Resolution notes'].filter(Boolean);
      if (missing.length > 0) return fail(403, 'Operation Failed', `Data Policy Exception: \n\tThe following fields are mandatory: ${missing.join(', ')}\n`);
      if (rec.resolved_at === '') rec.resolved_at = now;
    }
    if (rec.state === '7' || rec.state === '8') {
      rec.active = 'false';
      if (rec.closed_at === '') rec.closed_at = now;
    } else rec.active = 'true';
    return undefined;
  }

  private addJournal(rec: Rec, element: string, value: string, user: string, now: string): void {
    this.journal.push({ sys_id: randomBytes(16).toString('hex'), element_id: rec.sys_id!, element, name: 'incident', value, sys_created_on: now, sys_created_by: user });
  }
}
