/**
 * The route table: every HTTP route declares who may call it, and an `onRoute` hook enforces the
 * declaration on every route as it is registered. A route missing from the table is refused to
 * everyone (403 `undeclared_route`, fail closed) and fails test/api/permissions-matrix.test.ts,
 * so a new route cannot ship without a declared permission.
 *
 * The permission check runs after the route's own authentication hook (auth.ts), which still
 * checks the role list the route was written with; the two must agree, and the matrix test proves
 * they do for every role.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { SourceKind } from '../store/records.js';
import { API_PREFIX } from './deps.js';
import { ApiError } from './errors.js';
import { hasPermission, rolesWith, type Permission } from './permissions.js';

export type RouteAccess =
  /** An API token whose role holds the permission. */
  | { permission: Permission }
  /** The same, or the token of an ingestion source of this kind. */
  | { permission: Permission; orSource: SourceKind }
  /** Only the token of an ingestion source of this kind (checked by the route's own hook). */
  | { source: SourceKind }
  /** A credential of its own, not an API token (e.g. a repository's push-hook secret), checked by the handler. */
  | { credential: string }
  /** No credential; `why` says what protects the route instead. */
  | { public: string };

const P = API_PREFIX;
const perm = (permission: Permission): RouteAccess => ({ permission });

/** `METHOD path` (Fastify's path syntax) → who may call it. HEAD follows GET. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  [`GET ${P}/health`]: { public: 'answers {status:"ok"} and nothing else' },

  [`POST ${P}/ingest/splunk`]: { source: 'splunk-webhook' },
  [`POST ${P}/incidents`]: { permission: 'incidents.ingest', orSource: 'generic' },
  [`GET ${P}/incidents`]: perm('incidents.read'),
  [`GET ${P}/incidents/:id`]: perm('incidents.read'),
  [`PATCH ${P}/incidents/:id`]: perm('incidents.write'),

  [`GET ${P}/runs`]: perm('runs.read'),
  [`GET ${P}/runs/:id`]: perm('runs.read'),
  [`POST ${P}/runs`]: perm('runs.start'),
  [`POST ${P}/runs/:ref/rerun`]: perm('runs.start'),
  [`GET ${P}/runs/:ref/approvals`]: perm('runs.read'),
  [`POST ${P}/runs/:ref/approvals/decide`]: perm('approvals.decide'),

  [`GET ${P}/lists`]: perm('lists.read'),
  [`GET ${P}/lists/:name`]: perm('lists.read'),
  [`POST ${P}/lists`]: perm('lists.create'),
  // Per list: its editors, else lists.edit; over-broad entries need lists.admin (routes/lists.ts).
  [`POST ${P}/lists/:name/items`]: perm('lists.edit'),
  [`DELETE ${P}/lists/:name/items`]: perm('lists.edit'),
  [`GET ${P}/lists/:name/editors`]: perm('lists.read'),
  [`PUT ${P}/lists/:name/editors`]: perm('lists.admin'),

  // Viewers get a redacted view; audit.read-full the entries as stored (routes/audit.ts).
  [`GET ${P}/audit`]: perm('audit.read'),
  [`GET ${P}/audit/verify`]: perm('audit.read'),

  [`POST ${P}/cases`]: perm('cases.write'),
  [`GET ${P}/cases`]: perm('cases.read'),
  [`GET ${P}/cases/:idOrKey`]: perm('cases.read'),
  [`POST ${P}/cases/:idOrKey/comments`]: perm('cases.write'),
  [`PATCH ${P}/cases/:idOrKey`]: perm('cases.write'),

  [`GET ${P}/approvals`]: perm('approvals.read'),
  [`GET ${P}/approvals/:id`]: perm('approvals.read'),
  [`POST ${P}/approvals/:id/approve`]: perm('approvals.decide'),
  [`POST ${P}/approvals/:id/deny`]: perm('approvals.decide'),
  [`GET ${P}/prompts`]: perm('approvals.read'),
  [`GET ${P}/prompts/:id`]: perm('approvals.read'),
  [`POST ${P}/prompts/:id/answer`]: perm('approvals.decide'),
  ['GET /approvals/email/:token']: { public: 'the single-use signed link is the credential; GET changes nothing' },
  ['POST /approvals/email/:token']: { public: 'the single-use signed link is the credential' },

  [`GET ${P}/policy/kill-switch`]: perm('policy.read'),
  [`PUT ${P}/policy/kill-switch`]: perm('policy.admin'),
  [`GET ${P}/policy/blast-radius`]: perm('policy.read'),
  [`PUT ${P}/policy/blast-radius`]: perm('policy.admin'),
  [`GET ${P}/policy/four-eyes`]: perm('policy.read'),
  [`PUT ${P}/policy/four-eyes`]: perm('policy.admin'),
  [`PUT ${P}/playbooks/:playbookId/automation`]: perm('policy.admin'),
  [`PUT ${P}/playbooks/:playbookId/trigger`]: perm('policy.admin'),
  [`PUT ${P}/assets/:name/policy`]: perm('policy.admin'),
  // Egress actions (e-mail, chat, search, event, HTTP) also need adhoc.run-egress (routes/hitl.ts).
  [`POST ${P}/actions`]: perm('adhoc.run'),

  [`GET ${P}/repos`]: perm('repos.read'),
  [`GET ${P}/repos/:name`]: perm('repos.read'),
  [`POST ${P}/repos`]: perm('repos.admin'),
  [`POST ${P}/repos/:name/sync`]: perm('repos.admin'),
  [`DELETE ${P}/repos/:name`]: perm('repos.admin'),
  [`POST ${P}/playbooks/:id/confirm`]: perm('repos.admin'),
  [`POST ${P}/repos/:name/hook`]: { credential: 'the repository\'s push-hook secret (HMAC of the body, or a token)' },

  [`GET ${P}/schedules`]: perm('schedules.read'),
  [`GET ${P}/schedules/:id`]: perm('schedules.read'),
  [`POST ${P}/schedules`]: perm('schedules.admin'),
  [`DELETE ${P}/schedules/:id`]: perm('schedules.admin'),
};

/** The declaration of a route, or undefined. */
export function accessOf(method: string, url: string): RouteAccess | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  const key = `${m} ${url}`;
  return Object.hasOwn(ROUTE_ACCESS, key) ? ROUTE_ACCESS[key] : undefined;
}

export interface SeenRoute {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

const seenRoutes = new WeakMap<FastifyInstance, SeenRoute[]>();

/** Every route registered on `app` since `installRouteAccess`, with its declaration. */
export function routesOf(app: FastifyInstance): readonly SeenRoute[] {
  return seenRoutes.get(app) ?? [];
}

function refuseUndeclared(method: string, url: string): onRequestAsyncHookHandler {
  return async () => {
    throw new ApiError(403, 'undeclared_route', `${method} ${url} declares no permission, so no one may call it`);
  };
}

function requireDeclared(access: Extract<RouteAccess, { permission: Permission }>): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const p = request.principal;
    // The route's own hook authenticates; without one there is no caller to grant anything to.
    if (p === null) throw new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
    if (p.kind === 'source') {
      if ('orSource' in access && access.orSource === p.sourceKind) return;
      throw new ApiError(403, 'forbidden', `source ${p.name} may not call this route`);
    }
    if (hasPermission(p.role, access.permission)) return;
    throw new ApiError(403, 'forbidden',
      `this operation needs the permission ${access.permission} (held by the roles ${rolesWith(access.permission)
        .join(', ')}); the token has role ${p.role}`);
  };
}

/** Whether the request's caller is an API token whose role holds `permission` (for checks in a handler). */
export function callerHolds(request: FastifyRequest, permission: Permission): boolean {
  const p = request.principal;
  return p !== null && p.kind === 'api-token' && hasPermission(p.role, permission);
}

/** Installs the enforcement; call before any route is registered. */
export function installRouteAccess(app: FastifyInstance): void {
  const seen: SeenRoute[] = [];
  seenRoutes.set(app, seen);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const access = accessOf(method, route.url);
      seen.push({ method, url: route.url, access });
      const check = access === undefined ? refuseUndeclared(method, route.url)
        : 'permission' in access ? requireDeclared(access) : null;
      if (check === null) continue;
      const own = route.onRequest === undefined ? []
        : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      route.onRequest = [...own, check];
    }
  });
}
