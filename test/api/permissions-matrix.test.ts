/**
 * Role × route matrix, generated from the routes the real server registers (src/server/server.ts,
 * seen by the onRoute hook of src/api/route-access.ts): every route declares who may call it, no
 * token gets 401, every role without the permission gets 403, every role with it gets past
 * authorization. A route added without a declaration fails the first test, and is refused to all.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startTempServer, type TempServer } from '../support/temp-server.js';
import { ROUTE_ACCESS, routesOf, type RouteAccess, type SeenRoute } from '../../src/api/route-access.js';
import { hasPermission, PERMISSIONS, ROLE_PERMISSIONS } from '../../src/api/permissions.js';
import { READ_ROLES, requireApiToken, type Role } from '../../src/api/auth.js';
import { makeHarness, TOKENS } from './harness.js';

const ROLES = Object.keys(ROLE_PERMISSIONS) as Role[];
const TOKEN = (role: Role) => `matrix-${role}-token-5f0c9e1d2b3a4f5e6d7c8b9a0f1e2d3c`;

/** A concrete path for a route pattern; the values exist nowhere, so no handler finds anything to change. */
function concrete(url: string): string {
  const value: Record<string, string> = { id: '00000000-0000-4000-8000-000000000000', ref: '0000000000', idOrKey: 'CASE-999999' };
  return url.replace(/:([A-Za-z]+)/g, (_m, name: string) => value[name] ?? 'matrix-nothing');
}

interface Answer { status: number; code: string | null }

async function call(srv: TempServer, route: SeenRoute, token: string | null): Promise<Answer> {
  const hasBody = !['GET', 'HEAD', 'DELETE'].includes(route.method);
  const res = await fetch(`${srv.url}${concrete(route.url)}`, {
    method: route.method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(hasBody || route.method === 'DELETE' ? { 'content-type': 'application/json' } : {}),
    },
    ...(hasBody || route.method === 'DELETE' ? { body: '{}' } : {}),
  });
  const text = await res.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
  } catch { /* HEAD, HTML pages */ }
  return { status: res.status, code };
}

const label = (r: SeenRoute) => `${r.method} ${r.url}`;
const AUTHZ_REFUSALS = new Set(['forbidden', 'undeclared_route', 'unauthorized']);

describe('permissions: role × route matrix on the real server', () => {
  let srv: TempServer;
  let routes: readonly SeenRoute[];
  before(async () => {
    srv = await startTempServer('riposte-perm-matrix-', {
      // The matrix fails authentication on purpose hundreds of times from one address.
      authFailures: { maxFailures: 0, windowMs: 60_000 },
    });
    for (const role of ROLES) await srv.store.createApiToken({ name: `matrix-${role}`, role, token: TOKEN(role) }, 'test');
    routes = srv.routes();
  });
  after(async () => { await srv?.stop(); });

  it('every route the server registers declares who may call it, and the table names no route that is gone', () => {
    assert.ok(routes.length >= 50, `only ${routes.length} routes seen: is the onRoute hook installed?`);
    const undeclared = routes.filter((r) => r.access === undefined).map(label);
    assert.deepEqual(undeclared, [], 'routes without a declared permission (add them to src/api/route-access.ts)');
    const seen = new Set(routes.map(label));
    const stale = Object.keys(ROUTE_ACCESS).filter((k) => !seen.has(k));
    assert.deepEqual(stale, [], 'declarations of routes the server does not have');
  });

  it('every permission named in the table exists, and every role holds only known permissions', () => {
    for (const a of Object.values(ROUTE_ACCESS)) if ('permission' in a) assert.ok(a.permission in PERMISSIONS, a.permission);
    for (const [role, ps] of Object.entries(ROLE_PERMISSIONS)) for (const p of ps) assert.ok(p in PERMISSIONS, `${role}: ${p}`);
  });

  it('no token: 401 on every route that needs a credential', async () => {
    for (const r of routes) {
      if (r.access === undefined || 'public' in r.access) continue;
      const a = await call(srv, r, null);
      assert.equal(a.status, 401, `${label(r)} without a token answered ${a.status}`);
    }
  });

  it('every role: 403 without the permission, past authorization with it', async () => {
    const cells: string[] = [];
    for (const r of routes) {
      const access = r.access as RouteAccess;
      if ('public' in access) continue;
      for (const role of ROLES) {
        const a = await call(srv, r, TOKEN(role));
        if ('source' in access || 'credential' in access) {
          // Only the route's own credential opens it: an API token of any role is none there.
          assert.equal(a.status, 401, `${label(r)} as ${role}: ${a.status}`);
          continue;
        }
        const allowed = hasPermission(role, access.permission);
        cells.push(`${label(r)} ${role} ${allowed ? 'allow' : 'deny'}`);
        if (!allowed) {
          assert.equal(a.status, 403, `${label(r)} as ${role} (lacks ${access.permission}) answered ${a.status}`);
          if (r.method !== 'HEAD') assert.equal(a.code, 'forbidden', `${label(r)} as ${role}`);
        } else {
          assert.notEqual(a.status, 401, `${label(r)} as ${role} (holds ${access.permission})`);
          const refused = a.status === 403 && (r.method === 'HEAD' || AUTHZ_REFUSALS.has(a.code ?? ''));
          assert.ok(!refused, `${label(r)} as ${role} holds ${access.permission} but was refused (${a.code})`);
        }
      }
    }
    // The matrix really has both kinds of cells for each role that reads.
    for (const role of ['analyst', 'viewer'] as const) {
      assert.ok(cells.some((c) => c.endsWith(`${role} allow`)) && cells.some((c) => c.endsWith(`${role} deny`)), role);
    }
  });

  it('docs/permissions.md shows each role\'s permissions as the code grants them', () => {
    const doc = readFileSync(new URL('../../../docs/permissions.md', import.meta.url), 'utf8');
    for (const permission of Object.keys(PERMISSIONS) as Array<keyof typeof PERMISSIONS>) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${permission}\` |`));
      assert.ok(row, `docs/permissions.md has no row for ${permission}`);
      const marks = row.split('|').slice(2, 2 + ROLES.length).map((c) => c.trim() === '✓');
      assert.deepEqual(marks, ROLES.map((r) => hasPermission(r, permission)), `${permission}: columns ${ROLES.join(', ')}`);
    }
  });

  it('public routes are only those whose credential is in the URL or that say nothing', () => {
    const pub = routes.filter((r) => r.access !== undefined && 'public' in r.access).map(label).sort();
    assert.deepEqual(pub, [
      'GET /api/v1/health', 'GET /approvals/email/:token', 'HEAD /api/v1/health', 'HEAD /approvals/email/:token',
      'POST /approvals/email/:token',
    ]);
  });
});

describe('permissions: a route added without a declaration', () => {
  it('is refused to everyone, the admin too (fail closed), and is reported as undeclared', async () => {
    let app: FastifyInstance | undefined;
    const h = await makeHarness({
      extraRoutes: (a, store) => {
        app = a;
        a.get('/api/v1/brand-new', { onRequest: requireApiToken(store, READ_ROLES) }, async () => ({ secret: 'data' }));
      },
    });
    try {
      for (const role of ['admin', 'viewer'] as const) {
        const res = await h.app.inject({ method: 'GET', url: '/api/v1/brand-new', headers: { authorization: `Bearer ${TOKENS[role]}` } });
        assert.equal(res.statusCode, 403, role);
        assert.equal((res.json() as { error: { code: string } }).error.code, 'undeclared_route');
        assert.ok(!res.body.includes('secret'));
      }
      assert.ok(app);
      const seen = routesOf(h.app).find((r) => r.url === '/api/v1/brand-new' && r.method === 'GET');
      assert.equal(seen?.access, undefined);
    } finally {
      await h.close();
    }
  });
});
