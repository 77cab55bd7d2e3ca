/**
 * Credentials of a generic HTTP asset as request headers: Basic, Bearer, an API key header, or an
 * OAuth2 client-credentials token (cached per asset until shortly before it expires, one token
 * request shared by concurrent callers, fetched again once when the API answers 401).
 *
 * Failure semantics: a failure while obtaining a token is always `applied: 'no'` (the API call
 * was never sent), whatever the token endpoint did.
 */
import { createHash } from 'node:crypto';
import type https from 'node:https';
import { ActionError, RetryableError, TerminalError } from '../../sdk/errors.js';
import { readJson, vendorFetch, type VendorClientOptions } from '../http.js';
import { singleFlight } from '../single-flight.js';
import type { HttpConfig } from './config.js';
import { describeHttpError } from './describe-error.js';

const TOKEN_VENDOR = 'OAuth2 token endpoint';
const tokenClient: VendorClientOptions = { vendor: TOKEN_VENDOR, describeError: describeHttpError };

/** The name of the header the asset's credentials travel in, or null for auth none. */
export function authHeaderName(c: HttpConfig): string | null {
  if (c.auth === 'none') return null;
  if (c.auth === 'apiKey') return c.apiKeyHeader!.toLowerCase();
  return 'authorization';
}

interface CachedToken { token: string; refreshAt: number }
const tokenCache = new Map<string, CachedToken>();
const tokenFlights = singleFlight<string>();

/** Forget every cached token (tests, or after an asset's credentials change). */
export function clearHttpTokenCache(): void {
  tokenCache.clear();
}

function tokenKey(c: HttpConfig): string {
  // The secret's fingerprint keeps an asset with a wrong or rotated secret from borrowing a token.
  const fp = createHash('sha256').update(c.clientSecret ?? '').digest('hex').slice(0, 16);
  return [c.tokenUrl, c.clientId, c.scope ?? '', c.tokenAuth, fp].join('|');
}

/** The same error, marked as certainly not applied (token failures: the API call was not sent). */
function notApplied(err: unknown): unknown {
  if (!(err instanceof ActionError) || err.applied === 'no') return err;
  const opts = {
    applied: 'no' as const,
    ...(err.status === undefined ? {} : { status: err.status }),
    ...(err.vendorCode === undefined ? {} : { vendorCode: err.vendorCode }),
  };
  if (err instanceof RetryableError) {
    const retry = err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs };
    return new RetryableError(err.message, { ...opts, ...retry });
  }
  return new TerminalError(err.message, opts);
}

/** The cached access token of an OAuth2 asset, if any (to scrub it from what a server echoes). */
export function cachedToken(c: HttpConfig): string | undefined {
  return c.auth === 'oauth2' ? tokenCache.get(tokenKey(c))?.token : undefined;
}

/** An access token (client credentials), from the cache unless `force`. */
export async function oauthToken(
  c: HttpConfig, agent: https.Agent | undefined, signal: AbortSignal, force: boolean,
): Promise<string> {
  const key = tokenKey(c);
  const hit = tokenCache.get(key);
  if (!force && hit !== undefined && Date.now() < hit.refreshAt) return hit.token;
  tokenCache.delete(key);
  const timedOut = () =>
    new RetryableError(`${TOKEN_VENDOR}: timed out waiting for a token`, { applied: 'no' });
  try {
    return await tokenFlights(key, signal, (shared) => fetchToken(c, key, agent, shared), timedOut);
  } catch (err) {
    throw notApplied(err);
  }
}

async function fetchToken(
  c: HttpConfig, key: string, agent: https.Agent | undefined, signal: AbortSignal,
): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (c.scope !== undefined) form.set('scope', c.scope);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded', accept: 'application/json',
  };
  if (c.tokenAuth === 'basic') {
    // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
    const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${enc(c.clientId!)}:${enc(c.clientSecret!)}`).toString('base64')}`;
  } else {
    form.set('client_id', c.clientId!);
    form.set('client_secret', c.clientSecret!);
  }
  const res = await vendorFetch(c.tokenUrl!, {
    method: 'POST', headers, body: form.toString(), signal, maxBodyBytes: 64 * 1024,
    ...(agent ? { httpsAgent: agent } : {}),
  }, tokenClient);
  const json = await readJson<unknown>(res, TOKEN_VENDOR);
  const rec = json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  if (typeof rec.access_token !== 'string' || rec.access_token === '') {
    throw new RetryableError(`${TOKEN_VENDOR}: token response has no access_token`, { status: res.status });
  }
  const type = typeof rec.token_type === 'string' ? rec.token_type.toLowerCase() : 'bearer';
  if (type !== 'bearer') {
    const what = `token_type ${type.slice(0, 20)} is not supported (only Bearer)`;
    throw new TerminalError(`${TOKEN_VENDOR}: ${what}`, { status: res.status });
  }
  const expiresIn = typeof rec.expires_in === 'number' ? rec.expires_in : Number(rec.expires_in);
  // Without expires_in the token is kept for an hour; a 401 fetches a new one anyway.
  const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600) * 1000;
  // Refresh 60 s early (or halfway through a short-lived token) so a token never expires in flight.
  const refreshAt = Date.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 2);
  tokenCache.set(key, { token: rec.access_token, refreshAt });
  return rec.access_token;
}

/** The credential header's value for the asset (an OAuth2 token is fetched or taken from the cache). */
export async function authHeaderValue(
  c: HttpConfig, agent: https.Agent | undefined, signal: AbortSignal, forceToken = false,
): Promise<string | null> {
  switch (c.auth) {
    case 'none':
      return null;
    case 'basic':
      return `Basic ${Buffer.from(`${c.username!}:${c.password!}`).toString('base64')}`;
    case 'bearer':
      return `Bearer ${c.token!}`;
    case 'apiKey':
      return c.apiKey!;
    case 'oauth2':
      return `Bearer ${await oauthToken(c, agent, signal, forceToken)}`;
  }
}
