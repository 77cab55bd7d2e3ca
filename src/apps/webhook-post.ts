/**
 * POST to a chat webhook whose URL is the credential (Slack incoming webhooks, Teams connectors
 * and Workflows). It goes through the shared vendor client, whose error messages include the
 * request path: here the path (and query) carry the secret, so every error is rebuilt with them
 * redacted. Classification (retryable, applied, retryAfterMs, status, vendorCode) is unchanged.
 */
import { ActionError, RetryableError, TerminalError } from '../sdk/errors.js';
import { vendorFetch, type VendorErrorInfo, type VendorResponse } from './http.js';

export const REDACTED_URL = '[webhook URL redacted]';

/** `url` with everything after the host replaced (for logs and messages). */
export function redactWebhookUrl(url: string): string {
  try {
    return `${new URL(url).origin}/${REDACTED_URL}`;
  } catch {
    return REDACTED_URL;
  }
}

/** Replaces the path, the query and each long path segment/parameter value of `url` in `text`. */
export function redactIn(text: string, url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return text.split(url).join(REDACTED_URL);
  }
  // Whole forms first, then any long segment or parameter value (secrets are ≥ 20 characters;
  // short ones like "services" or Slack's T…/B… ids are left readable).
  const pieces = [...u.pathname.split('/'), ...[...u.searchParams.values()]].filter((p) => p.length >= 16);
  const parts = [url, `${u.pathname}${u.search}`, u.pathname, u.search, ...pieces]
    .filter((p) => p.length > 1)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const p of parts) out = out.split(p).join(REDACTED_URL);
  return out;
}

function rebuild(err: ActionError, message: string): ActionError {
  const opts = {
    applied: err.applied,
    ...(err.status !== undefined ? { status: err.status } : {}),
    ...(err.vendorCode !== undefined ? { vendorCode: err.vendorCode } : {}),
  };
  if (err instanceof RetryableError) {
    return new RetryableError(message, err.retryAfterMs === undefined ? opts : { ...opts, retryAfterMs: err.retryAfterMs });
  }
  return new TerminalError(message, opts);
}

export interface WebhookPost {
  vendor: string;
  url: string;
  body: string;
  signal: AbortSignal;
  describeError(status: number, body: string): VendorErrorInfo;
}

/** Sends the JSON body; returns the 2xx/3xx response or throws a classified, redacted error. */
export async function postWebhook(p: WebhookPost): Promise<VendorResponse> {
  try {
    return await vendorFetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: p.body, signal: p.signal }, {
      vendor: p.vendor,
      describeError: p.describeError,
    });
  } catch (err) {
    // The cause (a transport error) is dropped on purpose: some carry the request URL or host.
    if (err instanceof ActionError) throw rebuild(err, redactIn(err.message, p.url));
    throw new RetryableError(`${p.vendor} POST ${REDACTED_URL}: ${redactIn(String((err as Error)?.message ?? err), p.url)}`, { applied: 'unknown' });
  }
}

/** A webhook URL must be https, or http on a loopback host (the lab). */
export function isAcceptableWebhookUrl(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.username !== '' || u.password !== '') return false;
    if (u.protocol === 'https:') return true;
    return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}
