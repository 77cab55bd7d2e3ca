/**
 * Who is calling. Two kinds of credentials exist: API tokens (with a role) sent as
 * `Authorization: Bearer …`, and ingestion source tokens (one per configured source). Splunk's
 * webhook cannot send headers, so its source token travels in the URL (`?token=`); the logger
 * redacts it (see server.ts).
 *
 * Authentication runs as an `onRequest` hook, before the body is read, so an unauthenticated
 * caller never gets a body parsed (or a body-shape error) and nothing is ever written for it.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Store } from '../store/store.js';
import type { ApiTokenRecord, SourceKind } from '../store/records.js';
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
    const rec = await store.findApiToken(token);
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
    const rec = await store.findApiToken(token);
    if (rec) {
      checkRole(rec.role, INGEST_ROLES);
      request.principal = { kind: 'api-token', name: rec.name, role: rec.role };
      return;
    }
    const src = await store.findSourceByToken(token);
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
    const src = await store.findSourceByToken(token);
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
