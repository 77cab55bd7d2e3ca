/**
 * Who is calling. Two kinds of credentials exist: API tokens (with a role) sent as
 * `Authorization: Bearer …`, and ingestion source tokens (one per configured source). Splunk's
 * webhook cannot send headers, so its source token travels in the URL (`?token=`); the logger
 * redacts it (see server.ts).
 *
 * Authentication runs as an `onRequest` hook, before the body is read, so an unauthenticated
 * caller never gets a body parsed (or a body-shape error) and nothing is ever written for it.
 * A revoked or expired API token, and one whose user account is disabled, is refused; failed
 * authentication is rate-limited per address and per token (auth-limits.ts).
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Store } from '../store/store.js';
import type { ApiTokenCredential, ApiTokenRecord, SourceKind, SourceRecord } from '../store/records.js';
import { ApiError } from './errors.js';
import { AuthFailureLimiter, type FailureLimits } from './auth-limits.js';

export type Role = ApiTokenRecord['role'];

export type Principal =
  | { kind: 'api-token'; name: string; role: Role }
  | { kind: 'source'; name: string; sourceKind: SourceKind; mapping: unknown };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    authFailures: AuthFailureLimiter;
  }
}

/** Roles that may read incidents, runs, lists and audit. `ingest` is write-only on purpose. */
export const READ_ROLES: readonly Role[] = ['admin', 'analyst', 'viewer'];
/** Roles that may change incidents and lists. */
export const WRITE_ROLES: readonly Role[] = ['admin', 'analyst'];
/** Roles whose API tokens may post incidents on the generic route. */
export const INGEST_ROLES: readonly Role[] = ['admin', 'analyst', 'ingest'];

// Longer values are rejected before hashing; no issued token is anywhere near this.
const MAX_TOKEN_LENGTH = 512;

const unauthorized = (message: string) =>
  new ApiError(401, 'unauthorized', message, undefined, { 'www-authenticate': 'Bearer' });

export function installAuth(app: FastifyInstance, failureLimits: Partial<FailureLimits> = {}): void {
  app.decorateRequest('principal', null);
  app.decorate('authFailures', new AuthFailureLimiter(failureLimits));
}

/**
 * How long a credential found in the store is trusted without asking the store again. Every
 * ingested alert carries a token, and the store lookups (an API token, then a source, each a
 * SHA-256 and a read transaction) were about a tenth of the server's time under ingestion load.
 * Only tokens that exist are kept: an unknown token is looked up every time (a token the CLI just
 * created works at once). Each entry remembers the store's credential generation it was read
 * under, and every lookup reads the current one (one indexed row; triggers bump it on any change
 * to a token, user or source, by any process): a revocation, a disabled user or source is refused
 * on the next request. The time limit is a backstop only.
 */
export const CREDENTIAL_CACHE_MS = 1000;
// Only existing tokens are kept, so nothing an attacker sends grows this; it is a backstop.
const CREDENTIAL_CACHE_MAX = 10_000;

/** What the store said about one token: undefined = not asked yet, null = no such credential. */
interface KnownCredential {
  until: number;
  generation: number;
  token?: ApiTokenCredential | null;
  source?: SourceRecord | null;
}

/** How often a token's last-used time is written at most (per token, per server). */
export const LAST_USED_INTERVAL_MS = 60_000;

// crypto.hash (Node >= 20.12) is the one-shot form, about twice as fast as createHash.
const sha256Base64: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'base64')
  : (text) => crypto.createHash('sha256').update(text).digest('base64');

/** Recently found credentials of one store, keyed by the SHA-256 of the token (never the token). */
class CredentialCache {
  private readonly known = new Map<string, KnownCredential>();
  // Token id → when this server last wrote its last-used time. Only tokens that authenticated.
  private readonly touched = new Map<number, number>();
  constructor(private readonly store: Store) {}

  async apiToken(token: string, key: string): Promise<ApiTokenCredential | null> {
    const e = await this.entry(key);
    if (e.token === undefined) {
      e.token = await this.store.findApiToken(token);
      this.keep(key, e);
    }
    return e.token;
  }

  async source(token: string, key: string): Promise<SourceRecord | null> {
    const e = await this.entry(key);
    if (e.source === undefined) {
      e.source = await this.store.findSourceByToken(token);
      this.keep(key, e);
    }
    return e.source;
  }

  /** The API token of `token` or, when there is none, its source (one hash for both lookups). */
  async apiTokenOrSource(
    token: string, key: string,
  ): Promise<{ token: ApiTokenCredential } | { source: SourceRecord | null }> {
    const e = await this.entry(key);
    if (e.token === undefined) {
      e.token = await this.store.findApiToken(token);
      this.keep(key, e);
    }
    if (e.token) return { token: e.token };
    if (e.source === undefined) {
      e.source = await this.store.findSourceByToken(token);
      this.keep(key, e);
    }
    return { source: e.source };
  }

  /** Writes the token's last-used time unless this server did so less than a minute ago. */
  used(rec: ApiTokenRecord, now: number, onError: (err: unknown) => void): void {
    const last = this.touched.get(rec.id);
    if (last !== undefined && now - last < LAST_USED_INTERVAL_MS) return;
    this.touched.set(rec.id, now);
    // A lazy write on the group commit: nothing waits for it, and losing it loses only a time.
    this.store.touchApiToken(rec.id, new Date(now).toISOString()).catch(onError);
  }

  private async entry(key: string): Promise<KnownCredential> {
    // Read before the credential itself: an entry is never newer-tagged than what it holds.
    const generation = await this.store.credentialGeneration();
    const now = Date.now();
    const e = this.known.get(key);
    if (e !== undefined && e.until > now && e.generation === generation) return e;
    if (e !== undefined) this.known.delete(key);
    return { until: now + CREDENTIAL_CACHE_MS, generation };
  }

  private keep(key: string, e: KnownCredential): void {
    if (!e.token && !e.source) return;
    if (!this.known.has(key) && this.known.size >= CREDENTIAL_CACHE_MAX) this.known.clear();
    this.known.set(key, e);
  }
}

const caches = new WeakMap<Store, CredentialCache>();
function credentials(store: Store): CredentialCache {
  let c = caches.get(store);
  if (!c) caches.set(store, c = new CredentialCache(store));
  return c;
}

/** The bearer token of the request, or null when there is no usable Authorization header. */
export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  if (!m || m[1] === undefined || m[1].length > MAX_TOKEN_LENGTH) return null;
  return m[1];
}

/**
 * Runs `authenticate` behind the failure limits: a caller over them gets 429 before any lookup,
 * and every 401 it throws counts against the caller's address and the token presented.
 */
async function limited(
  request: FastifyRequest, token: string | null, authenticate: (key: string) => Promise<void>,
  missing = 'missing bearer token (Authorization: Bearer <token>)',
): Promise<void> {
  const limiter = request.server.authFailures;
  const key = token === null ? null : sha256Base64(token);
  limiter.check(request.ip, key);
  try {
    if (key === null) throw unauthorized(missing);
    await authenticate(key);
  } catch (err) {
    if (err instanceof ApiError && err.statusCode === 401) limiter.fail(request.ip, key);
    throw err;
  }
}

/** Refuses a token that is revoked, expired, or whose user account is disabled; notes its use otherwise. */
function acceptApiToken(store: Store, request: FastifyRequest, rec: ApiTokenCredential): void {
  const now = Date.now();
  if (rec.revokedAt !== null) throw unauthorized('this token was revoked');
  if (rec.expiresAt !== null && Date.parse(rec.expiresAt) <= now) throw unauthorized('this token has expired');
  if (rec.userDisabled) throw new ApiError(403, 'user_disabled', `user ${rec.name} is disabled`);
  credentials(store).used(rec, now, (err) => request.log.warn({ err }, 'could not record when an API token was last used'));
}

function checkRole(role: Role, roles: readonly Role[]): void {
  if (!roles.includes(role)) {
    throw new ApiError(403, 'forbidden', `this operation needs one of the roles ${roles.join(', ')}; the token has role ${role}`);
  }
}

/** Hook: requires an API token with one of `roles`. */
export function requireApiToken(store: Store, roles: readonly Role[]): onRequestAsyncHookHandler {
  return async (request) => {
    const token = bearerToken(request);
    await limited(request, token, async (key) => {
      const rec = await credentials(store).apiToken(token!, key);
      if (!rec) throw unauthorized('unknown or revoked token');
      acceptApiToken(store, request, rec);
      checkRole(rec.role, roles);
      request.principal = { kind: 'api-token', name: rec.name, role: rec.role };
    });
  };
}

/** Hook for the generic ingest route: an API token with an ingest-capable role, or a generic source's token. */
export function requireGenericIngestCredential(store: Store): onRequestAsyncHookHandler {
  return async (request) => {
    const token = bearerToken(request);
    await limited(request, token, async (key) => {
      const found = await credentials(store).apiTokenOrSource(token!, key);
      if ('token' in found) {
        const rec = found.token;
        acceptApiToken(store, request, rec);
        checkRole(rec.role, INGEST_ROLES);
        request.principal = { kind: 'api-token', name: rec.name, role: rec.role };
        return;
      }
      const src = found.source;
      if (!src) throw unauthorized('unknown or revoked token');
      if (src.kind !== 'generic') throw new ApiError(403, 'forbidden', `source ${src.name} is of kind ${src.kind} and cannot post to this route`);
      if (!src.enabled) throw new ApiError(403, 'source_disabled', `source ${src.name} is disabled`);
      request.principal = { kind: 'source', name: src.name, sourceKind: src.kind, mapping: src.mapping };
    });
  };
}

/** Hook for the Splunk webhook route: `?token=` of an enabled `splunk-webhook` source. */
export function requireSplunkSource(store: Store): onRequestAsyncHookHandler {
  return async (request) => {
    const q = request.query as Record<string, unknown> | undefined;
    const raw = q?.['token'];
    const token = typeof raw === 'string' && raw !== '' && raw.length <= MAX_TOKEN_LENGTH ? raw : null;
    await limited(request, token, async (key) => {
      const src = await credentials(store).source(token!, key);
      if (!src) throw unauthorized('unknown or revoked token');
      if (src.kind !== 'splunk-webhook') throw new ApiError(403, 'forbidden', `source ${src.name} is of kind ${src.kind}, not splunk-webhook`);
      if (!src.enabled) throw new ApiError(403, 'source_disabled', `source ${src.name} is disabled`);
      request.principal = { kind: 'source', name: src.name, sourceKind: src.kind, mapping: src.mapping };
    }, 'missing source token (?token=<source token>)');
  };
}

/** The authenticated principal; a route without an auth hook calling this is a programming error. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error('route has no authentication hook');
  return request.principal;
}

/** Audit actor: `token:<name>` or `source:<name>`. */
export function actorOf(p: Principal): string {
  return p.kind === 'api-token' ? `token:${p.name}` : `source:${p.name}`;
}

/**
 * The principal a request causes runs for: the person behind an API token (`user:<name>`; tokens
 * are issued to users by name) or the source. Whoever causes a run never approves its destructive
 * actions.
 */
export function causeOf(p: Principal): string {
  return p.kind === 'api-token' ? `user:${p.name}` : `source:${p.name}`;
}
