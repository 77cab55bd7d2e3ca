/**
 * Who is calling. Two kinds of credentials exist: API tokens (with a role) sent as
 * `Authorization: Bearer …`, and ingestion source tokens (one per configured source). Splunk's
 * webhook cannot send headers, so its source token travels in the URL (`?token=`); the logger
 * redacts it (see server.ts).
 *
 * Authentication runs as an `onRequest` hook, before the body is read, so an unauthenticated
 * caller never gets a body parsed (or a body-shape error) and nothing is ever written for it.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Store } from '../store/store.js';
import type { ApiTokenRecord, SourceKind, SourceRecord } from '../store/records.js';
import { ApiError } from './errors.js';

export type Role = ApiTokenRecord['role'];

export type Principal =
  | { kind: 'api-token'; name: string; role: Role }
  | { kind: 'source'; name: string; sourceKind: SourceKind; mapping: unknown };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
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

export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
}

/**
 * How long a credential found in the store is trusted without asking the store again. Every
 * ingested alert carries a token, and the store lookups (an API token, then a source, each a
 * SHA-256 and a read transaction) were about a tenth of the server's time under ingestion load.
 * Only tokens that exist are kept: an unknown token is looked up every time (a token the CLI just
 * created works at once), and a token removed or a source disabled in the database stops working
 * within this time.
 */
export const CREDENTIAL_CACHE_MS = 1000;
// Only existing tokens are kept, so nothing an attacker sends grows this; it is a backstop.
const CREDENTIAL_CACHE_MAX = 10_000;

/** What the store said about one token: undefined = not asked yet, null = no such credential. */
interface KnownCredential {
  until: number;
  token?: ApiTokenRecord | null;
  source?: SourceRecord | null;
}

// crypto.hash (Node >= 20.12) is the one-shot form, about twice as fast as createHash.
const sha256Base64: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'base64')
  : (text) => crypto.createHash('sha256').update(text).digest('base64');

/** Recently found credentials of one store, keyed by the SHA-256 of the token (never the token). */
class CredentialCache {
  private readonly known = new Map<string, KnownCredential>();
  constructor(private readonly store: Store) {}

  async apiToken(token: string): Promise<ApiTokenRecord | null> {
    const [key, e] = this.entry(token);
    if (e.token === undefined) {
      e.token = await this.store.findApiToken(token);
      this.keep(key, e);
    }
    return e.token;
  }

  async source(token: string): Promise<SourceRecord | null> {
    const [key, e] = this.entry(token);
    if (e.source === undefined) {
      e.source = await this.store.findSourceByToken(token);
      this.keep(key, e);
    }
    return e.source;
  }

  /** The API token of `token` or, when there is none, its source (one hash for both lookups). */
  async apiTokenOrSource(token: string): Promise<{ token: ApiTokenRecord } | { source: SourceRecord | null }> {
    const [key, e] = this.entry(token);
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

  private entry(token: string): [string, KnownCredential] {
    const key = sha256Base64(token);
    const now = Date.now();
    const e = this.known.get(key);
    if (e !== undefined && e.until > now) return [key, e];
    if (e !== undefined) this.known.delete(key);
    return [key, { until: now + CREDENTIAL_CACHE_MS }];
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

function checkRole(role: Role, roles: readonly Role[]): void {
  if (!roles.includes(role)) {
    throw new ApiError(403, 'forbidden', `this operation needs one of the roles ${roles.join(', ')}; the token has role ${role}`);
  }
}

/** Hook: requires an API token with one of `roles`. */
export function requireApiToken(store: Store, roles: readonly Role[]): onRequestAsyncHookHandler {
  return async (request) => {
    const token = bearerToken(request);
    if (token === null) throw unauthorized('missing bearer token (Authorization: Bearer <token>)');
    const rec = await credentials(store).apiToken(token);
    if (!rec) throw unauthorized('unknown or revoked token');
    checkRole(rec.role, roles);
    request.principal = { kind: 'api-token', name: rec.name, role: rec.role };
  };
}

/** Hook for the generic ingest route: an API token with an ingest-capable role, or a generic source's token. */
export function requireGenericIngestCredential(store: Store): onRequestAsyncHookHandler {
  return async (request) => {
    const token = bearerToken(request);
    if (token === null) throw unauthorized('missing bearer token (Authorization: Bearer <token>)');
    const found = await credentials(store).apiTokenOrSource(token);
    if ('token' in found) {
      const rec = found.token;
      checkRole(rec.role, INGEST_ROLES);
      request.principal = { kind: 'api-token', name: rec.name, role: rec.role };
      return;
    }
    const src = found.source;
    if (!src) throw unauthorized('unknown or revoked token');
    if (src.kind !== 'generic') throw new ApiError(403, 'forbidden', `source ${src.name} is of kind ${src.kind} and cannot post to this route`);
    if (!src.enabled) throw new ApiError(403, 'source_disabled', `source ${src.name} is disabled`);
    request.principal = { kind: 'source', name: src.name, sourceKind: src.kind, mapping: src.mapping };
  };
}

/** Hook for the Splunk webhook route: `?token=` of an enabled `splunk-webhook` source. */
export function requireSplunkSource(store: Store): onRequestAsyncHookHandler {
  return async (request) => {
    const q = request.query as Record<string, unknown> | undefined;
    const token = q?.['token'];
    if (typeof token !== 'string' || token === '') throw unauthorized('missing source token (?token=<source token>)');
    if (token.length > MAX_TOKEN_LENGTH) throw unauthorized('unknown or revoked token');
    const src = await credentials(store).source(token);
    if (!src) throw unauthorized('unknown or revoked token');
    if (src.kind !== 'splunk-webhook') throw new ApiError(403, 'forbidden', `source ${src.name} is of kind ${src.kind}, not splunk-webhook`);
    if (!src.enabled) throw new ApiError(403, 'source_disabled', `source ${src.name} is disabled`);
    request.principal = { kind: 'source', name: src.name, sourceKind: src.kind, mapping: src.mapping };
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
