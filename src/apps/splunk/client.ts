/**
 * Splunk clients: the management API (port 8089; `Authorization: Bearer <token>` or Basic) and
 * the HTTP Event Collector (port 8088; `Authorization: Splunk <hecToken>`), plus the reader of
 * the export endpoint's newline-delimited JSON stream.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorClientOptions, type VendorErrorInfo, type VendorResponse } from '../http.js';

export const VENDOR = 'Splunk';
const HEC_VENDOR = 'Splunk HEC';

export const splunkConfig = z.object({
  managementUrl: z.url().describe('Management (REST) URL, e.g. https://splunk.example.com:8089'),
  hecUrl: z.url().optional().describe('HTTP Event Collector URL; default: the management host on port 8088'),
  authToken: z.string().min(1).optional().describe('Splunk authentication token (Bearer)'),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  hecToken: z.string().min(1).optional(),
  verifyTls: z.boolean().default(true),
}).superRefine((c, ctx) => {
  if (c.authToken === undefined && (c.username === undefined || c.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['authToken'], message: 'set authToken, or username and password' });
  }
});
export type SplunkConfig = z.output<typeof splunkConfig>;

/**
 * Error bodies: management `{"messages":[{"type","text"}]}` (or the XML form), ES
 * `{"success":false,"message"}`, HEC `{"text","code"}`.
 */
export function describeSplunkError(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as { messages?: unknown; message?: unknown; text?: unknown; code?: unknown };
    if (Array.isArray(j.messages)) {
      const texts = j.messages.map((m: { type?: unknown; text?: unknown }) => (typeof m?.text === 'string' ? m.text : '')).filter(Boolean);
      const type = (j.messages[0] as { type?: unknown } | undefined)?.type;
      if (texts.length > 0) return typeof type === 'string' ? { message: texts.join('; '), code: type } : { message: texts.join('; ') };
    }
    if (typeof j.text === 'string') return j.code === undefined ? { message: j.text } : { message: `${j.text} (code ${String(j.code)})`, code: String(j.code) };
    if (typeof j.message === 'string') return { message: j.message };
  } catch {
    const msgs = [...body.matchAll(/<msg[^>]*>([\s\S]*?)<\/msg>/g)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&amp;/g, '&').trim());
    if (msgs.length > 0) return { message: msgs.join('; ') };
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

const mgmt: VendorClientOptions = { vendor: VENDOR, describeError: describeSplunkError };
const hecClient: VendorClientOptions = { vendor: HEC_VENDOR, describeError: describeSplunkError };

/** One channel per process: required when the HEC token has indexer acknowledgement on. */
const HEC_CHANNEL = randomUUID();

function checkTls(cfg: SplunkConfig, url: string): void {
  // The shared vendor client verifies certificates against the CA store; refusing is better than
  // silently verifying (or silently disabling checks process-wide).
  if (!cfg.verifyTls && url.startsWith('https:')) {
    throw new TerminalError(`${VENDOR}: verifyTls=false is not supported; add the server's CA to NODE_EXTRA_CA_CERTS instead`, { applied: 'no' });
  }
}

export function hecBase(cfg: SplunkConfig): string {
  if (cfg.hecUrl !== undefined) return baseUrl(cfg.hecUrl);
  const u = new URL(cfg.managementUrl);
  u.port = '8088';
  return baseUrl(`${u.origin}`);
}

export class SplunkClient {
  readonly base: string;

  constructor(private readonly cfg: SplunkConfig, private readonly signal: AbortSignal) {
    this.base = baseUrl(cfg.managementUrl);
  }

  private auth(): string {
    if (this.cfg.authToken !== undefined) return `Bearer ${this.cfg.authToken}`;
    return `Basic ${Buffer.from(`${this.cfg.username}:${this.cfg.password}`).toString('base64')}`;
  }

  /** A management call; `form` is sent form-encoded. The response body is left to the caller. */
  async call(method: string, pathAndQuery: string, form?: URLSearchParams, stream = false): Promise<VendorResponse> {
    checkTls(this.cfg, this.base);
    const headers: Record<string, string> = { authorization: this.auth(), accept: 'application/json' };
    const req: { method: string; headers: Record<string, string>; signal: AbortSignal; body?: string; stream: boolean } = { method, headers, signal: this.signal, stream };
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      req.body = form.toString();
    }
    return vendorFetch(`${this.base}${pathAndQuery}`, req, mgmt);
  }

  async json<T>(method: string, pathAndQuery: string, form?: URLSearchParams): Promise<T> {
    return readJson<T>(await this.call(method, pathAndQuery, form), VENDOR);
  }

  /** Sends one HEC body (one or more concatenated envelopes). */
  async hec(body: string): Promise<{ text?: string; code?: number; ackId?: number }> {
    if (this.cfg.hecToken === undefined) throw new TerminalError(`${HEC_VENDOR}: the asset has no hecToken`, { applied: 'no' });
    const base = hecBase(this.cfg);
    checkTls(this.cfg, base);
    const res = await vendorFetch(`${base}/services/collector/event`, {
      method: 'POST', body, signal: this.signal,
      headers: { authorization: `Splunk ${this.cfg.hecToken}`, 'content-type': 'application/json', 'x-splunk-request-channel': HEC_CHANNEL },
    }, hecClient);
    const j = await readJson<{ text?: string; code?: number; ackId?: number }>(res, HEC_VENDOR);
    if (j?.code !== undefined && j.code !== 0) {
      throw new TerminalError(`${HEC_VENDOR}: ${j.text ?? 'error'} (code ${j.code})`, { status: res.status, vendorCode: String(j.code), applied: 'no' });
    }
    return j ?? {};
  }
}

export interface ExportResult {
  rows: Array<Record<string, string>>;
  messages: Array<{ type: string; text: string }>;
  truncated: boolean;
}

function cell(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(cell).join('\n'); // multivalue fields, as Splunk displays them
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Reads the export stream line by line: `{"result":{…}}`, `{"results":[…]}` and
 * `{"messages":[…]}` lines; `preview:true` lines are superseded by final ones and skipped.
 * Stops (and cancels the stream) once more than `maxRows` rows arrived.
 */
export async function readExportStream(body: AsyncIterable<Uint8Array> | null, maxRows: number): Promise<ExportResult> {
  const out: ExportResult = { rows: [], messages: [], truncated: false };
  if (body === null) return out;
  const decoder = new TextDecoder();
  let buf = '';
  const take = (line: string): boolean => {
    if (line.trim() === '') return false;
    let j: { preview?: unknown; result?: unknown; results?: unknown; messages?: unknown };
    try {
      j = JSON.parse(line) as typeof j;
    } catch {
      throw new RetryableError(`${VENDOR}: export stream has a line that is not JSON`, { applied: 'no' });
    }
    if (Array.isArray(j.messages)) {
      for (const m of j.messages as Array<{ type?: unknown; text?: unknown }>) out.messages.push({ type: cell(m?.type), text: cell(m?.text) });
    }
    if (j.preview === true) return false;
    const rows = j.result !== undefined && j.result !== null && typeof j.result === 'object' ? [j.result] : Array.isArray(j.results) ? j.results : [];
    for (const r of rows as Array<Record<string, unknown>>) {
      if (Object.keys(r).length === 0) continue;
      if (out.rows.length >= maxRows) {
        out.truncated = true;
        return true;
      }
      out.rows.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cell(v)])));
    }
    return false;
  };
  try {
    // Leaving the loop early (return) ends the iteration, which cancels the stream.
    for await (const chunk of body) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (take(line)) return out;
      }
    }
    buf += decoder.decode();
    take(buf);
  } catch (err) {
    if (err instanceof RetryableError) throw err;
    // The connection broke mid-stream; a search changes nothing, so it is safe to run again.
    throw new RetryableError(`${VENDOR}: export stream broke: ${(err as Error).message}`, { applied: 'no', cause: err });
  }
  return out;
}
