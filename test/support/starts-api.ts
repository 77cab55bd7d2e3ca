/**
 * The API in process (Fastify inject) over a real engine, store and human-in-the-loop layer, with
 * the routes that start runs and manage schedules: for the tests of manual starts, re-runs and
 * scheduled playbooks. People: `alice`, `bob` and `carol` (analysts), `root` (admin), `vera` (viewer),
 * `feed` (ingest); each has an API token named after them.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApiServer } from '../../src/api/server.js';
import { registerHitlRoutes } from '../../src/api/routes/hitl.js';
import { registerStartRoutes } from '../../src/api/routes/starts.js';
import { registerScheduleRoutes } from '../../src/api/routes/schedules.js';
import { registerPlaybookTriggerRoutes } from '../../src/api/routes/playbook-triggers.js';
import { RunStarter } from '../../src/ingest/run-starter.js';
import { Scheduler, type SchedulerOptions } from '../../src/ingest/scheduler.js';
import type { AppDefinition } from '../../src/sdk/app.js';
import type { PlaybookDefinition } from '../../src/sdk/playbook.js';
import { makeHarness, type Harness } from './harness.js';

export const PEOPLE = {
  alice: { role: 'analyst', token: 'rpa_test_alice_0123456789abcdef' },
  bob: { role: 'analyst', token: 'rpa_test_bob_0123456789abcdef' },
  carol: { role: 'analyst', token: 'rpa_test_carol_0123456789abcdef' },
  root: { role: 'admin', token: 'rpa_test_root_0123456789abcdef' },
  vera: { role: 'viewer', token: 'rpa_test_vera_0123456789abcdef' },
  feed: { role: 'ingest', token: 'rpa_test_feed_0123456789abcdef' },
} as const;
export type Person = keyof typeof PEOPLE;

export interface StartsApi {
  h: Harness;
  app: FastifyInstance;
  scheduler: Scheduler;
  /** A request as `who` (null: no token). */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    who: Person | null,
    body?: unknown,
  ): Promise<LightMyRequestResponse>;
  /** Audit entries so far. */
  audit(): Promise<number>;
  close(): Promise<void>;
}

export async function makeStartsApi(opts: {
  apps: AppDefinition[];
  playbooks: PlaybookDefinition[];
  scheduler?: SchedulerOptions;
}): Promise<StartsApi> {
  const h = await makeHarness({ apps: opts.apps, playbooks: opts.playbooks, hitl: {} });
  const hitl = h.hitl!;
  const policy = h.store.policyStore();
  for (const [name, p] of Object.entries(PEOPLE)) {
    await policy.putUser({ name, email: null, roles: [p.role], disabled: false }, 'test');
    await h.store.createApiToken({ name, role: p.role, token: p.token }, 'test');
  }
  // The engine may be replaced (h.restart): wake whichever runs now.
  const waker = { wake: () => h.engine.wake() };
  const scheduler = new Scheduler(h.store, h.registry, waker, opts.scheduler);
  const app = await buildApiServer({
    store: h.store,
    ingest: h.ingest,
    extraRoutes: (a) => {
      registerHitlRoutes(a, { store: h.store, hitl, registry: h.registry, catalog: h.catalog, wake: waker.wake });
      registerStartRoutes(a, { store: h.store, hitl, starter: new RunStarter(h.store, h.registry, waker) });
      registerScheduleRoutes(a, { store: h.store, hitl, scheduler });
      registerPlaybookTriggerRoutes(a, { store: h.store, registry: h.registry });
    },
  });
  return {
    h,
    app,
    scheduler,
    call(method, url, who, body) {
      const headers: Record<string, string> = who === null ? {} : { authorization: `Bearer ${PEOPLE[who].token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      return app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    },
    audit: async () => (await h.store.verifyAudit()).entries,
    async close() {
      await scheduler.stop();
      await app.close();
      await h.close();
    },
  };
}
