/**
 * Lab simulator of Splunk Enterprise: the management API (Bearer token or Basic auth;
 * `server/info`, the streaming `search/v2/jobs/export` with newline-delimited JSON `result`,
 * `results` and `messages` lines, and Enterprise Security's form-encoded `notable_update`) and
 * the HTTP Event Collector (`Authorization: Splunk <token>`, single and concatenated batch
 * envelopes, indexer acknowledgement channels, health, and the HEC error table of
 * VENDOR-APIS §1b). Both listen on the same port here; a real deployment uses 8089 and 8088.
 * Events received through HEC become searchable at once (no indexing lag).
 *
 * Lab assumptions: `notable_update` answers 200 `success:false` when no event matched and 400
 * `success:false` for invalid parameters; the WARN text for an unknown index is invented; a
 * batch with one bad envelope is refused whole.
 */
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';
import { parseTime, runSpl, SplError, type Row } from './splunk-spl.js';

export interface HecTokenConfig {
  /** Indexes the token may write to (default: every existing index). */
  indexes?: string[];
  defaultIndex?: string;
  useAck?: boolean;
  disabled?: boolean;
}

export interface NotableSeed {
  event_id: string;
  search_id?: string;
  status?: number;
  urgency?: string;
  owner?: string;
}

export interface SplunkSimOptions {
  authToken?: string;
  users?: Record<string, string>;
  hecTokens?: Record<string, HecTokenConfig>;
  /** index → events (values are strings, `_time` in epoch seconds). */
  indexes?: Record<string, Row[]>;
  notables?: NotableSeed[];
  /** Whether Enterprise Security (and so notable_update) is installed. Default true. */
  enterpriseSecurity?: boolean;
  /** How result rows are streamed: one `result` line each, `results` batches, or both. */
  resultsMode?: 'result' | 'results' | 'mixed';
  /** Message lines added to every export stream. */
  searchMessages?: Array<{ type: string; text: string }>;
  /** Stream a `preview:true` line first (readers must ignore it). */
  emitPreview?: boolean;
}

export interface Notable {
  event_id: string;
  search_id: string;
  status: number;
  urgency: string;
  owner: string;
  disposition: string;
  comments: string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const URGENCIES = ['informational', 'low', 'medium', 'high', 'critical'];
const REVIEW_STATUSES = new Set([0, 1, 2, 3, 4, 5]);

function hec(status: number, code: number, text: string, extra: Record<string, unknown> = {}): LabResponse {
  return { status, body: { text, code, ...extra } };
}

function mgmtError(status: number, type: string, text: string, json: boolean): LabResponse {
  if (json) return { status, body: { messages: [{ type, text }] } };
  const esc = text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return { status, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <messages>\n    <msg type="${type}">${esc}</msg>\n  </messages>\n</response>\n` };
}

/** Splits a body of concatenated JSON values (`{…}{…}`, whitespace allowed between them). */
export function splitConcatenatedJson(body: string): Array<{ ok: true; value: unknown } | { ok: false }> {
  const out: Array<{ ok: true; value: unknown } | { ok: false }> = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /\s/.test(body[i]!)) i++;
    if (i >= body.length) break;
    if (body[i] !== '{') return [...out, { ok: false }];
    let depth = 0;
    let inStr = false;
    let j = i;
    for (; j < body.length; j++) {
      const ch = body[j];
      if (inStr) {
        if (ch === '\\') j++;
        else if (ch === '"') inStr = false;
      } else if (ch === '"') inStr = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) break;
    }
    if (depth !== 0) return [...out, { ok: false }];
    try {
      out.push({ ok: true, value: JSON.parse(body.slice(i, j + 1)) });
    } catch {
      return [...out, { ok: false }];
    }
    i = j + 1;
  }
  return out;
}

export class SplunkSimulator extends LabServer {
  readonly name = 'Splunk';
  readonly authToken: string;
  readonly users: Record<string, string>;
  readonly hecTokens: Record<string, HecTokenConfig>;
  readonly indexes: Map<string, Row[]>;
  readonly notables = new Map<string, Notable>();
  enterpriseSecurity: boolean;
  resultsMode: 'result' | 'results' | 'mixed';
  searchMessages: Array<{ type: string; text: string }>;
  emitPreview: boolean;
  /** HEC answers 503 code 9 while set. */
  hecBusy = false;
  private readonly pendingAcks = new Map<string, Set<number>>();
  private ackSeq = 0;

  constructor(opts: SplunkSimOptions = {}) {
    super();
    this.authToken = opts.authToken ?? 'splunk-auth-token';
    this.users = opts.users ?? { admin: 'changeme-lab' };
    this.hecTokens = opts.hecTokens ?? { '11111111-2222-3333-4444-555555555555': { defaultIndex: 'main' } };
    this.indexes = new Map(Object.entries(opts.indexes ?? { main: [] }).map(([k, v]) => [k, v.map((r) => ({ ...r }))]));
    for (const n of opts.notables ?? []) {
      this.notables.set(n.event_id, { search_id: '', status: 1, urgency: 'medium', owner: 'unassigned', disposition: '', comments: [], ...n });
    }
    this.enterpriseSecurity = opts.enterpriseSecurity ?? true;
    this.resultsMode = opts.resultsMode ?? 'result';
    this.searchMessages = opts.searchMessages ?? [];
    this.emitPreview = opts.emitPreview ?? false;
  }

  events(index: string): Row[] {
    return (this.indexes.get(index) ?? []).map((r) => ({ ...r }));
  }

  protected handle(req: LabRequest): LabResponse {
    if (req.path.startsWith('/services/collector')) return this.hec(req);
    const form = req.method === 'POST' ? new URLSearchParams(req.body) : new URLSearchParams();
    const json = req.query.get('output_mode') === 'json' || form.get('output_mode') === 'json';
    if (!this.authenticated(req.headers.authorization)) return mgmtError(401, 'WARN', 'call not properly authenticated', json);
    if (req.path === '/services/server/info' && req.method === 'GET') {
      const content = { serverName: 'lab-splunk', version: '9.2.1', build: '78803f08aabb', os_name: 'Linux', product_type: 'enterprise', server_roles: ['indexer', 'search_head'] };
      if (json) return { status: 200, body: { generator: { build: content.build, version: content.version }, entry: [{ name: 'server-info', content }] } };
      return { status: 200, headers: { 'content-type': 'text/xml' }, body: `<feed><entry><title>server-info</title><content><s:dict><s:key name="version">${content.version}</s:key></s:dict></content></entry></feed>` };
    }
    if ((req.path === '/services/search/v2/jobs/export' || req.path === '/services/search/jobs/export') && req.method === 'POST') return this.export(form, json);
    if (req.path === '/services/notable_update' && req.method === 'POST' && this.enterpriseSecurity) return this.notableUpdate(form);
    return mgmtError(404, 'ERROR', 'Not Found', json);
  }

  private authenticated(h: string | undefined): boolean {
    if (h === undefined) return false;
    if (h.startsWith('Bearer ')) return h.slice(7) === this.authToken;
    if (h.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      return u !== undefined && this.users[u] !== undefined && this.users[u] === p.join(':');
    }
    return false;
  }

  private export(form: URLSearchParams, json: boolean): LabResponse {
    const search = form.get('search') ?? '';
    if (search.trim() === '') return mgmtError(400, 'FATAL', 'Empty search.', json);
    if (!json) return mgmtError(400, 'ERROR', 'The lab simulator streams output_mode=json only.', json);
    let result;
    try {
      const now = Math.floor(Date.now() / 1000);
      result = runSpl(search, this.indexes, { earliest: parseTime(form.get('earliest_time'), now), latest: parseTime(form.get('latest_time'), now) });
    } catch (err) {
      if (err instanceof SplError) return mgmtError(400, 'FATAL', err.message, json);
      throw err;
    }
    const lines: unknown[] = [];
    const messages = [...this.searchMessages, ...result.messages];
    if (messages.length > 0) lines.push({ preview: false, messages });
    const rows = result.rows;
    if (this.emitPreview && rows.length > 0) lines.push({ preview: true, offset: 0, result: { ...rows[0], preview_marker: 'ignore-me' } });
    const single = (i: number) => ({ preview: false, offset: i, ...(i === rows.length - 1 ? { lastrow: true } : {}), result: rows[i] });
    if (this.resultsMode === 'result') rows.forEach((_, i) => lines.push(single(i)));
    else if (this.resultsMode === 'results') {
      for (let i = 0; i < rows.length; i += 3) lines.push({ preview: false, init_offset: i, results: rows.slice(i, i + 3) });
    } else {
      const head = Math.ceil(rows.length / 2);
      if (head > 0) lines.push({ preview: false, init_offset: 0, results: rows.slice(0, head) });
      for (let i = head; i < rows.length; i++) lines.push(single(i));
    }
    if (rows.length === 0) lines.push({ preview: false, lastrow: true });
    return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' };
  }

  private notableUpdate(form: URLSearchParams): LabResponse {
    const bad = (message: string): LabResponse => ({ status: 400, body: { success: false, message } });
    const ids = form.getAll('ruleUIDs').flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
    const searchId = form.get('searchID') ?? '';
    if (ids.length === 0 && searchId === '') return bad('Either ruleUIDs or searchID must be specified');
    const status = form.get('status');
    if (status !== null && !(/^\d+$/.test(status) && REVIEW_STATUSES.has(Number(status)))) return bad(`Invalid status '${status}': not a configured review status`);
    const urgency = form.get('urgency');
    if (urgency !== null && !URGENCIES.includes(urgency)) return bad(`Invalid urgency '${urgency}'`);
    const disposition = form.get('disposition');
    if (disposition !== null && !/^disposition:\d+$/.test(disposition)) return bad(`Invalid disposition '${disposition}'`);
    const comment = form.get('comment');
    const owner = form.get('newOwner');
    if (status === null && urgency === null && disposition === null && !comment && !owner) return bad('Nothing to update: specify status, urgency, owner, disposition or comment');
    const targets = ids.length > 0 ? ids : [...this.notables.values()].filter((n) => n.search_id === searchId).map((n) => n.event_id);
    let ok = 0;
    for (const id of targets) {
      const n = this.notables.get(id);
      if (n === undefined) continue;
      ok++;
      if (status !== null) n.status = Number(status);
      if (urgency !== null) n.urgency = urgency;
      if (disposition !== null) n.disposition = disposition;
      if (owner) n.owner = owner;
      if (comment) n.comments.push(comment);
    }
    const failed = targets.length - ok;
    if (ok === 0) return { status: 200, body: { success: false, message: 'No matching notable events were found', success_count: 0, failure_count: failed } };
    return { status: 200, body: { success: true, message: `${ok} event${ok === 1 ? '' : 's'} updated successfully`, success_count: ok, failure_count: failed } };
  }

  // ---- HTTP Event Collector ----

  private hec(req: LabRequest): LabResponse {
    if (req.path === '/services/collector/health' && req.method === 'GET') {
      return this.hecBusy ? hec(503, 9, 'Server is busy') : hec(200, 17, 'HEC is healthy');
    }
    const h = req.headers.authorization;
    let token: string | undefined;
    if (h === undefined) return req.query.has('token') ? hec(400, 16, 'Query string authorization is not enabled') : hec(401, 2, 'Token is required');
    if (h.startsWith('Splunk ')) token = h.slice(7).trim();
    else if (h.startsWith('Basic ')) token = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':');
    else return hec(401, 3, 'Invalid authorization');
    const cfg = this.hecTokens[token];
    if (cfg === undefined) return hec(403, 4, 'Invalid token');
    if (cfg.disabled) return hec(403, 1, 'Token disabled');
    const channelHeader = req.headers['x-splunk-request-channel'];
    const channel = typeof channelHeader === 'string' ? channelHeader : req.query.get('channel') ?? undefined;
    if (channel !== undefined && !GUID.test(channel)) return hec(400, 11, 'Invalid data channel');
    if (req.path === '/services/collector/ack' && req.method === 'POST') return this.ack(cfg, channel, req.body);
    const eventPaths = ['/services/collector', '/services/collector/event', '/services/collector/event/1.0'];
    if (!eventPaths.includes(req.path) || req.method !== 'POST') return hec(404, 404, 'The requested URL was not found on this server.');
    if (cfg.useAck && channel === undefined) return hec(400, 10, 'Data channel is missing');
    if (this.hecBusy) return hec(503, 9, 'Server is busy');
    if (req.body.trim() === '') return hec(400, 5, 'No data');
    const parts = splitConcatenatedJson(req.body);
    const rows: Array<{ index: string; row: Row }> = [];
    for (const [n, part] of parts.entries()) {
      const bad = (code: number, text: string) => hec(400, code, text, { 'invalid-event-number': n });
      if (!part.ok || typeof part.value !== 'object' || part.value === null || Array.isArray(part.value)) return bad(6, 'Invalid data format');
      const env = part.value as Record<string, unknown>;
      if (!('event' in env) || env.event === null) return bad(12, 'Event field is required');
      if (env.event === '' || (typeof env.event === 'string' && env.event.trim() === '')) return bad(13, 'Event field cannot be blank');
      const index = typeof env.index === 'string' && env.index !== '' ? env.index : cfg.defaultIndex ?? 'main';
      if (!this.indexes.has(index) || (cfg.indexes !== undefined && !cfg.indexes.includes(index))) return bad(7, 'Incorrect index');
      const fields = env.fields ?? {};
      const flatValue = (v: unknown) => typeof v === 'string' || typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
      if (typeof fields !== 'object' || fields === null || Array.isArray(fields) || !Object.values(fields).every(flatValue)) return bad(15, 'Error in handling indexed fields');
      const row: Row = {};
      if (typeof env.event === 'object') {
        for (const [k, v] of Object.entries(env.event as object)) if (typeof v !== 'object') row[k] = String(v);
      }
      for (const [k, v] of Object.entries(fields as Record<string, unknown>)) row[k] = Array.isArray(v) ? v.join('\n') : String(v);
      Object.assign(row, {
        _time: String(typeof env.time === 'number' || typeof env.time === 'string' ? Number(env.time) : Date.now() / 1000),
        _raw: typeof env.event === 'string' ? env.event : JSON.stringify(env.event),
        host: typeof env.host === 'string' ? env.host : '127.0.0.1', source: typeof env.source === 'string' ? env.source : 'http:lab',
        sourcetype: typeof env.sourcetype === 'string' ? env.sourcetype : 'httpevent', index,
      });
      rows.push({ index, row });
    }
    for (const { index, row } of rows) this.indexes.get(index)!.push(row);
    if (!cfg.useAck) return hec(200, 0, 'Success');
    const ackId = this.ackSeq++;
    const pending = this.pendingAcks.get(channel!) ?? new Set<number>();
    pending.add(ackId);
    this.pendingAcks.set(channel!, pending);
    return hec(200, 0, 'Success', { ackId });
  }

  private ack(cfg: HecTokenConfig, channel: string | undefined, body: string): LabResponse {
    if (!cfg.useAck) return hec(400, 14, 'ACK is disabled');
    if (channel === undefined) return hec(400, 10, 'Data channel is missing');
    let ids: unknown;
    try {
      ids = (JSON.parse(body) as { acks?: unknown }).acks;
    } catch {
      return hec(400, 6, 'Invalid data format');
    }
    if (!Array.isArray(ids)) return hec(400, 6, 'Invalid data format');
    const pending = this.pendingAcks.get(channel) ?? new Set<number>();
    const acks: Record<string, boolean> = {};
    // Indexing is immediate here, so every id issued on this channel is acknowledged once.
    for (const id of ids) {
      acks[String(id)] = pending.delete(Number(id));
    }
    return { status: 200, body: { acks } };
  }
}
