/**
 * The HTTP client every first-party app uses to reach its vendor. It maps transport failures and
 * status codes onto the SDK's error family, so every app classifies errors the same way:
 *
 * | what happened                            | error            | applied  |
 * |------------------------------------------|------------------|----------|
 * | connection refused / DNS failure         | RetryableError   | 'no'     |
 * | timeout or reset after the request left  | RetryableError   | 'unknown'|
 * | 429, 503 (honours Retry-After)           | RetryableError   | 'no'     |
 * | other 5xx                                | RetryableError   | 'unknown'|
 * | other 4xx                                | TerminalError    | 'no'     |
 *
 * The vendor's own message is extracted by the app's `describeError` and carried in the error.
 * Secrets never appear in messages: only method, path (no query string) and the vendor message.
 */
import { RetryableError, TerminalError } from '../sdk/errors.js';

export interface VendorErrorInfo {
  message: string;
  code?: string;
}

export interface VendorRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface VendorClientOptions {
  /** Product name used in error messages ("Microsoft Graph", "PAN-OS", …). */
  vendor: string;
  /** Extract the vendor's message/code from an error response body. */
  describeError(status: number, body: string): VendorErrorInfo;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Parse a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Sends one request and returns the response when its status is 2xx/3xx; throws a classified
 * ActionError otherwise. The caller reads the body.
 */
export async function vendorFetch(url: string, req: VendorRequest, opts: VendorClientOptions): Promise<Response> {
  const method = req.method ?? 'GET';
  const where = `${opts.vendor} ${method} ${pathOf(url)}`;
  let res: Response;
  try {
    const init: RequestInit = { method, headers: req.headers ?? {} };
    if (req.body !== undefined) init.body = req.body;
    if (req.signal !== undefined) init.signal = req.signal;
    res = await fetch(url, init);
  } catch (err) {
    const code = causeCode(err);
    if (req.signal?.aborted) {
      throw new RetryableError(`${where}: timed out`, { applied: 'unknown', cause: err });
    }
    const notSent = code !== undefined && NOT_SENT_CODES.has(code);
    throw new RetryableError(`${where}: ${code ?? (err as Error).message}`, { applied: notSent ? 'no' : 'unknown', cause: err });
  }
  if (res.status < 400) return res;
  const body = await res.text().catch(() => '');
  const info = opts.describeError(res.status, body);
  const msg = `${where}: HTTP ${res.status}: ${info.message}`;
  const base = info.code === undefined ? { status: res.status } : { status: res.status, vendorCode: info.code };
  if (res.status === 429 || res.status === 503) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    throw new RetryableError(msg, retryAfterMs === undefined ? { ...base, applied: 'no' } : { ...base, applied: 'no', retryAfterMs });
  }
  if (res.status >= 500) throw new RetryableError(msg, { ...base, applied: 'unknown' });
  throw new TerminalError(msg, { ...base, applied: 'no' });
}

/** Reads a JSON body, turning a malformed one into a retryable error with unknown outcome. */
export async function readJson<T>(res: Response, vendor: string): Promise<T> {
  const text = await res.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RetryableError(`${vendor}: response is not JSON (HTTP ${res.status})`, { status: res.status, applied: 'unknown' });
  }
}

/** Strips a trailing slash so `${base}/path` never doubles it. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}
