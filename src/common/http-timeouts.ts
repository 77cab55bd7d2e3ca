/** How long an HTTP client may take; the server side lives in src/api/http-server.ts. */
export interface HttpTimeouts {
  /** Whole request, headers and body, from the first byte; default 30 s. */
  requestMs: number;
  /** Request line and headers; default 10 s. */
  headersMs: number;
  /** An idle keep-alive connection between two requests; default 5 s. */
  keepAliveMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000 };

/** Refuses a timeout set that Node would reject or that cannot work (headers after the request). */
export function checkTimeouts(t: HttpTimeouts): HttpTimeouts {
  for (const [name, v] of Object.entries(t)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`HTTP timeout ${name} must be a positive number of milliseconds, got ${v}`);
  }
  if (t.headersMs > t.requestMs) throw new Error(`the header timeout (${t.headersMs} ms) must not be longer than the request timeout (${t.requestMs} ms)`);
  return t;
}
