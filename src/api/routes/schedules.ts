/**
 * Scheduled playbooks over HTTP: list and show (read roles), create and remove (admin only). A
 * schedule's runs are caused by the admin who created it (`user:<name>`): that person never
 * approves their destructive actions (four-eyes). Bad input (a cron expression or time zone that
 * does not parse, unknown or disabled playbook, args that are not a small JSON object) is a 4xx
 * naming the problem, and nothing is stored.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { READ_ROLES, requireApiToken } from '../auth.js';
import type { Store } from '../../store/store.js';
import type { Hitl } from '../../policy/hitl.js';
import type { ScheduleRecord } from '../../store/schedule-records.js';
import type { Scheduler } from '../../ingest/scheduler.js';
import { CronError } from '../../ingest/cron.js';
import { callerActor } from './hitl.js';
import { startCall } from './starts.js';

export interface ScheduleRouteDeps {
  store: Store;
  hitl: Hitl;
  scheduler: Scheduler;
}

const createBody = z.strictObject({
  playbookId: z.string().min(1).max(128),
  cron: z.string().min(1).max(200),
  timezone: z.string().min(1).max(64).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
});
const idParams = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a schedule id (a number)')
    .transform(Number),
});

export function registerScheduleRoutes(app: FastifyInstance, d: ScheduleRouteDeps): void {
  const read = { onRequest: requireApiToken(d.store, READ_ROLES) };
  const admin = { onRequest: requireApiToken(d.store, ['admin']) };
  const view = (s: ScheduleRecord) => ({ ...s, nextFireAt: d.scheduler.nextFireAt(s) });

  app.get(`${API_PREFIX}/schedules`, read, async () => ({ schedules: (await d.store.listSchedules()).map(view) }));

  app.get(`${API_PREFIX}/schedules/:id`, read, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const s = await d.store.getSchedule(id);
    if (!s) throw new ApiError(404, 'not_found', `schedule ${id} does not exist`);
    return { schedule: view(s) };
  });

  app.post(`${API_PREFIX}/schedules`, admin, async (request, reply) => {
    const body = parseInput(createBody, request.body, 'body');
    const actor = await callerActor(request, d.hitl);
    if (actor.disabled) throw new ApiError(403, 'user_disabled', `user ${actor.name} is disabled`);
    const who = `user:${actor.name}`;
    let s: ScheduleRecord;
    try {
      s = await startCall(() => d.scheduler.create(body, who, who));
    } catch (err) {
      if (err instanceof CronError) throw new ApiError(400, 'invalid_cron', err.message);
      throw err;
    }
    reply.code(201);
    return { schedule: view(s) };
  });

  app.delete(`${API_PREFIX}/schedules/:id`, admin, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const actor = await callerActor(request, d.hitl);
    return { schedule: await d.scheduler.remove(id, `user:${actor.name}`) };
  });
}
