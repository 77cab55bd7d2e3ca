/** The message of an arbitrary API's error reply: the common JSON shapes, else a text excerpt. */
import type { VendorErrorInfo } from '../http.js';

const MAX_MESSAGE = 300;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, MAX_MESSAGE) : undefined;
}

/**
 * `{"error":{"message","code"}}`, `{"error":"code","error_description"}` (OAuth2),
 * `{"message"}`, `{"detail"}`, `{"title"}` (RFC 9457), `{"errors":[{"message"}]}`; otherwise the
 * body's text without markup, cut to 300 characters.
 */
export function describeHttpError(status: number, body: string): VendorErrorInfo {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_MESSAGE);
    return { message: text || `HTTP ${status}` };
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return { message: `HTTP ${status}` };
  const r = j as Record<string, unknown>;
  const err = r.error;
  if (err !== null && typeof err === 'object' && !Array.isArray(err)) {
    const e = err as Record<string, unknown>;
    const message = str(e.message) ?? `HTTP ${status}`;
    const code = str(e.code) ?? (typeof e.code === 'number' ? String(e.code) : undefined);
    return code === undefined ? { message } : { message, code };
  }
  if (typeof err === 'string') {
    const desc = str(r.error_description);
    const code = err.slice(0, 64);
    return { message: desc === undefined ? err.slice(0, MAX_MESSAGE) : `${desc} (${code})`, code };
  }
  const e0: unknown = Array.isArray(r.errors) ? r.errors[0] : undefined;
  const first = e0 !== null && typeof e0 === 'object' ? (e0 as Record<string, unknown>) : undefined;
  const message = str(r.message) ?? str(r.detail) ?? str(r.title) ?? str(first?.message) ?? `HTTP ${status}`;
  const code = str(r.code);
  return code === undefined ? { message } : { message, code };
}
