/**
 * PAN-OS XML API client: form-encoded POSTs to `/api/` with the key in `X-PAN-KEY` (never in the
 * URL, so it stays out of proxy and access logs), keygen with a per-asset key cache and one
 * re-key on 403, parsing of every reply (PAN-OS reports most errors as HTTP 200 with
 * `status="error"`), and commit + job polling.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { baseUrl, vendorFetch, type VendorErrorInfo } from '../http.js';
import { singleFlight } from '../single-flight.js';
import { childElements, findPath, firstChild, parseXml, textOf, type XmlElement } from './xml.js';

export interface PanosConfig {
  url: string;
  apiKey?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  vsys: string;
  addressGroup: string;
  commitPollIntervalMs: number;
  commitTimeoutMs: number;
}

const VENDOR = 'PAN-OS';

const CODE_NAMES: Record<string, string> = {
  '1': 'Unknown command', '2': 'Internal error', '3': 'Internal error', '4': 'Internal error', '5': 'Internal error',
  '6': 'Bad Xpath', '7': 'Object not present', '8': 'Object not unique', '10': 'Reference count not zero',
  '11': 'Internal error', '12': 'Invalid object', '13': 'Object not found', '14': 'Operation not possible',
  '15': 'Operation denied', '16': 'Unauthorized', '17': 'Invalid command', '18': 'Malformed command',
  '21': 'Internal error', '22': 'Session timed out', '400': 'Bad request', '403': 'Forbidden',
};
/** Internal errors and session timeouts: worth retrying. Everything else is a refusal. */
const RETRYABLE_CODES = new Set(['2', '3', '4', '5', '11', '21', '22']);
const COMMIT_IN_PROGRESS = /commit is (already )?in progress|another commit/i;

/** One line per `<line>`; User-ID replies nest `<entry message="…">` inside a line. */
function lineText(el: XmlElement): string {
  const messages: string[] = [];
  const walk = (e: XmlElement): void => {
    if (e.attrs.message !== undefined) messages.push(e.attrs.message);
    childElements(e).forEach(walk);
  };
  walk(el);
  return messages.length > 0 ? messages.join('; ') : textOf(el).trim();
}

/** The message of a response: `<msg>` directly or under `<result>`, with `<line>`s or bare text. */
export function responseMessage(r: XmlElement): string {
  const msg = firstChild(r, 'msg') ?? findPath(r, 'result', 'msg');
  if (msg === undefined) return '';
  const lines = childElements(msg, 'line');
  return lines.length > 0 ? lines.map(lineText).filter((l) => l !== '').join('; ') : lineText(msg);
}

export function describePanosError(status: number, body: string): VendorErrorInfo {
  try {
    const r = parseXml(body);
    const message = responseMessage(r) || `HTTP ${status}`;
    return r.attrs.code === undefined ? { message } : { message, code: r.attrs.code };
  } catch {
    return { message: body.replace(/\s+/g, ' ').trim().slice(0, 200) || `HTTP ${status}` };
  }
}

/** Turns a `status="error"` reply into the SDK error family. */
export function panosError(r: XmlElement, what: string, retryAfterMs?: number): ActionError {
  const code = r.attrs.code;
  const msg = responseMessage(r) || 'no message';
  const label = code === undefined ? 'error' : `error ${code}${CODE_NAMES[code] ? ` (${CODE_NAMES[code]})` : ''}`;
  const text = `${VENDOR} ${what}: ${label}: ${msg}`;
  const base = code === undefined ? { status: 200 } : { status: 200, vendorCode: code };
  // Commits serialize on the firewall: nothing of ours was applied, try again later.
  if (COMMIT_IN_PROGRESS.test(msg)) return new RetryableError(text, retryAfterMs === undefined ? { ...base, applied: 'no' } : { ...base, applied: 'no', retryAfterMs });
  if (code !== undefined && RETRYABLE_CODES.has(code)) return new RetryableError(text, { ...base, applied: code === '22' ? 'no' : 'unknown' });
  return new TerminalError(text, { ...base, applied: 'no' });
}

export function isNotPresent(err: unknown): boolean {
  return err instanceof TerminalError && err.vendorCode === '7';
}

/** Validates an IP and returns its canonical text form and prefix length for a host object. */
export function parseIp(raw: string): { ip: string; hostPrefix: 32 | 128 } {
  const s = raw.trim();
  const family = isIP(s);
  if (family === 4) return { ip: s, hostPrefix: 32 };
  if (family === 6 && !s.includes('%')) {
    // The WHATWG URL parser gives the RFC 5952 form, so "2001:DB8:0::1" and "2001:db8::1" share one object.
    return { ip: new URL(`http://[${s}]/`).hostname.slice(1, -1), hostPrefix: 128 };
  }
  throw new TerminalError(`${VENDOR}: "${raw}" is not a valid IPv4 or IPv6 address`, { applied: 'no' });
}

/** Address object name for an IP: `riposte-1-2-3-4`, `riposte-2001-db8--1`. */
export function objectName(ip: string): string {
  return `riposte-${ip.replace(/[.:]/g, '-')}`;
}

/** Inverse of objectName for names we created (undefined for anything else). */
export function ipFromObjectName(name: string): string | undefined {
  const m = /^riposte-([0-9a-f-]+)$/i.exec(name);
  if (!m) return undefined;
  const body = m[1]!;
  const candidate = /^\d+-\d+-\d+-\d+$/.test(body) ? body.replace(/-/g, '.') : body.replace(/-/g, ':');
  return isIP(candidate) === 0 ? undefined : candidate;
}

interface CachedKey {
  secretDigest: string;
  key: string;
}
/** Keygen results per firewall + account; the digest invalidates the entry when the password changes. */
const keyCache = new Map<string, CachedKey>();
const keyFlights = singleFlight<string>();

export class PanosClient {
  private readonly apiUrl: string;

  constructor(private readonly cfg: PanosConfig, private readonly signal: AbortSignal) {
    const b = baseUrl(cfg.url);
    this.apiUrl = b.endsWith('/api') ? `${b}/` : `${b}/api/`;
  }

  get vsysXpath(): string {
    return `/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='${this.cfg.vsys}']`;
  }

  /** Sends one API request (adding the key) and returns the parsed `status="success"` reply. */
  async call(params: Record<string, string>, what: string, retryAfterMs?: number): Promise<XmlElement> {
    const key = await this.key(false);
    try {
      return await this.send(params, key, what, retryAfterMs);
    } catch (err) {
      // A 403 is answered before anything is applied, so re-keying and re-sending once is safe.
      if (this.cfg.apiKey || !(err instanceof TerminalError) || (err.status !== 403 && err.vendorCode !== '403')) throw err;
      return await this.send(params, await this.key(true), what, retryAfterMs);
    }
  }

  private cacheId(): string {
    return `${this.apiUrl}\0${this.cfg.username ?? ''}`;
  }

  private async key(refresh: boolean): Promise<string> {
    if (this.cfg.apiKey) return this.cfg.apiKey;
    const { username, password } = this.cfg;
    if (!username || !password) {
      throw new TerminalError(`${VENDOR}: the asset needs either apiKey or username and password`, { applied: 'no' });
    }
    const secretDigest = createHash('sha256').update(password).digest('hex');
    const cached = keyCache.get(this.cacheId());
    if (!refresh && cached !== undefined && cached.secretDigest === secretDigest) return cached.key;
    keyCache.delete(this.cacheId());
    // Concurrent actions with a cold cache share one keygen (each still gives up on its own signal).
    const flightKey = `${this.cacheId()}\0${secretDigest}`;
    return keyFlights(flightKey, this.signal, async (shared) => {
      const r = await this.send({ type: 'keygen', user: username, password }, undefined, 'keygen', undefined, shared);
      const key = textOf(findPath(r, 'result', 'key')).trim();
      if (key === '') throw new RetryableError(`${VENDOR} keygen: reply carried no key`, { status: 200, applied: 'no' });
      keyCache.set(this.cacheId(), { secretDigest, key });
      return key;
    }, () => new RetryableError(`${VENDOR} keygen: timed out`, { applied: 'unknown' }));
  }

  private async send(params: Record<string, string>, key: string | undefined, what: string, retryAfterMs?: number, signal = this.signal): Promise<XmlElement> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (key !== undefined) headers['x-pan-key'] = key;
    const res = await vendorFetch(this.apiUrl, { method: 'POST', headers, body: new URLSearchParams(params).toString(), signal },
      { vendor: VENDOR, describeError: describePanosError });
    const text = await res.text();
    let r: XmlElement;
    try {
      r = parseXml(text);
    } catch {
      r = { name: '', attrs: {}, children: [] };
    }
    if (r.name !== 'response') {
      throw new RetryableError(`${VENDOR} ${what}: reply is not a PAN-OS XML response (HTTP ${res.status})`, { status: res.status, applied: 'unknown' });
    }
    if (r.attrs.status !== 'success') throw panosError(r, what, retryAfterMs);
    return r;
  }

  set(xpath: string, element: string): Promise<XmlElement> {
    return this.call({ type: 'config', action: 'set', xpath, element }, 'config set');
  }

  delete(xpath: string): Promise<XmlElement> {
    return this.call({ type: 'config', action: 'delete', xpath }, 'config delete');
  }

  /** `show` reads the running config, `get` the candidate; undefined when the node is absent. */
  async read(xpath: string, source: 'running' | 'candidate'): Promise<XmlElement | undefined> {
    try {
      const r = await this.call({ type: 'config', action: source === 'running' ? 'show' : 'get', xpath }, `config ${source === 'running' ? 'show' : 'get'}`);
      return childElements(firstChild(r, 'result') ?? r)[0];
    } catch (err) {
      if (isNotPresent(err)) return undefined;
      throw err;
    }
  }

  op(cmd: string, what: string): Promise<XmlElement> {
    return this.call({ type: 'op', cmd }, what);
  }

  /**
   * Commits the candidate config and waits for the job. Resolves with the job id, or without one
   * when there was nothing to commit (the candidate already equals the running config).
   */
  async commit(log: (m: string, d?: Record<string, unknown>) => void): Promise<{ jobId?: string; detail: string }> {
    // Suggest waiting a few poll intervals before retrying when someone else's commit is running.
    const r = await this.call({ type: 'commit', cmd: '<commit></commit>' }, 'commit', this.cfg.commitPollIntervalMs * 5);
    const jobId = textOf(findPath(r, 'result', 'job')).trim();
    if (jobId === '') return { detail: responseMessage(r) || 'There are no changes to commit.' };
    log('commit enqueued', { jobId });
    const deadline = Date.now() + this.cfg.commitTimeoutMs;
    for (;;) {
      let job: XmlElement | undefined;
      try {
        await sleep(this.cfg.commitPollIntervalMs, undefined, { signal: this.signal });
        const jr = await this.op(`<show><jobs><id>${jobId}</id></jobs></show>`, 'job status');
        job = findPath(jr, 'result', 'job');
      } catch (err) {
        // The commit is queued on the firewall: whatever went wrong now, it may still apply.
        const why = err instanceof Error && err.name !== 'AbortError' ? err.message : 'timed out';
        throw new RetryableError(`${VENDOR} commit job ${jobId}: could not follow it: ${why}`, { applied: 'unknown', cause: err });
      }
      const status = textOf(firstChild(job, 'status')).trim();
      const result = textOf(firstChild(job, 'result')).trim();
      if (status === 'FIN') {
        const linesOf = (el: XmlElement | undefined): string[] => (el === undefined ? [] : childElements(el, 'line').map((l) => textOf(l).trim()));
        const lines = [...linesOf(firstChild(job, 'details')), ...linesOf(firstChild(job, 'warnings'))].filter((l) => l !== '');
        if (result === 'OK') return { jobId, detail: `committed (job ${jobId})` };
        throw new TerminalError(`${VENDOR} commit job ${jobId} finished with result ${result || 'unknown'}: ${lines.join('; ') || 'no details'}` +
          ' (the change stays in the candidate configuration)', { status: 200, vendorCode: result || 'FAIL', applied: 'no' });
      }
      if (Date.now() >= deadline) {
        throw new RetryableError(`${VENDOR} commit job ${jobId} still ${status || 'unknown'} (progress ${textOf(firstChild(job, 'progress')).trim() || '?'}%) after ${this.cfg.commitTimeoutMs} ms`,
          { applied: 'unknown' });
      }
    }
  }
}
