/**
 * Runs a person starts over HTTP: `POST /runs` (a playbook on an incident) and
 * `POST /runs/:ref/rerun` (a finished run again). Admins and analysts only; the run's cause is the
 * token's user (`user:<name>`), who therefore never approves its destructive actions (four-eyes).
 * A refusal writes nothing and names what is wrong.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { API_PREFIX } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { requireApiToken, WRITE_ROLES } from '../auth.js';
import { resolveRunRef, runRefSchema } from '../run-ref.js';
import type { Store } from '../../store/store.js';
import type { Hitl } from '../../policy/hitl.js';
import { RunStarter, StartRefused, type StartRefusal } from '../../ingest/run-starter.js';
import { callerActor } from './hitl.js';

export interface StartRouteDeps {
  store: Store;
  hitl: Hitl;
  starter: RunStarter;
}

const REFUSAL_STATUS: Record<StartRefusal, number> = {
  unknown_playbook: 404,
  unknown_incident: 404,
  playbook_disabled: 409,
  not_startable: 400,
  run_not_finished: 409,
  invalid_args: 400,
};

/** Runs a start, turning its refusal into an API error with the refusal's code. */
export async function startCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StartRefused) throw new ApiError(REFUSAL_STATUS[err.code], err.code, err.message);
    throw err;
  }
}

const startBody = z.strictObject({
  playbookId: z.string().min(1).max(128),
  incidentId: z.number().int().positive(),
  args: z.record(z.string(), z.unknown()).optional(),
  dryRun: z.boolean().optional(),
});
const rerunBody = z.strictObject({ dryRun: z.boolean().optional() }).optional();

export function registerStartRoutes(app: FastifyInstance, d: StartRouteDeps): void {
  const write = { onRequest: requireApiToken(d.store, WRITE_ROLES) };

  /** The caller as the cause of a run: a person whose account is not disabled. */
  const causeOf = async (request: FastifyRequest): Promise<string> => {
    const actor = await callerActor(request, d.hitl);
    if (actor.disabled) throw new ApiError(403, 'user_disabled', `user ${actor.name} is disabled`);
    return `user:${actor.name}`;
  };

  app.post(`${API_PREFIX}/runs`, write, async (request, reply) => {
    const body = parseInput(startBody, request.body, 'body');
    const cause = await causeOf(request);
    const run = await startCall(() => d.starter.start(body, cause, cause));
    reply.code(202);
    return { run };
  });

  app.post(`${API_PREFIX}/runs/:ref/rerun`, write, async (request, reply) => {
    const { ref } = parseInput(z.strictObject({ ref: runRefSchema }), request.params, 'params');
    const body = parseInput(rerunBody, request.body ?? undefined, 'body');
    const cause = await causeOf(request);
    const original = await resolveRunRef(d.store, ref);
    const opts = body?.dryRun === undefined ? {} : { dryRun: body.dryRun };
    const run = await startCall(() => d.starter.rerun(original, cause, cause, opts));
    reply.code(202);
    return { run };
  });
}
