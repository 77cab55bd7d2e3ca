/** Playbook runs: list and detail (with the journal and every action attempt). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { READ_ROLES, requireApiToken } from '../auth.js';
import { limitString, positiveIntString } from '../params.js';
import type { RunQuery } from '../../store/store.js';

const runStatusSchema = z.enum(['queued', 'running', 'waiting', 'completed', 'failed', 'needs_attention', 'cancelled']);

// Run ids are UUIDs today; accept any short token-like id so other id schemes keep working.
const runIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a run id');

const listQuery = z.strictObject({
  incidentId: positiveIntString.optional(),
  status: runStatusSchema.optional(),
  playbookId: z.string().min(1).max(128).optional(),
  limit: limitString,
});

export function registerRunRoutes(app: FastifyInstance, { store }: ApiDeps): void {
  const read = { onRequest: requireApiToken(store, READ_ROLES) };

  app.get(`${API_PREFIX}/runs`, read, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const query: RunQuery = { limit: q.limit };
    if (q.incidentId !== undefined) query.incidentId = q.incidentId;
    if (q.status !== undefined) query.status = q.status;
    if (q.playbookId !== undefined) query.playbookId = q.playbookId;
    return { runs: await store.listRuns(query) };
  });

  app.get(`${API_PREFIX}/runs/:id`, read, async (request) => {
    const { id } = parseInput(z.strictObject({ id: runIdSchema }), request.params, 'params');
    const run = await store.getRun(id);
    if (!run) throw new ApiError(404, 'not_found', `run ${id} does not exist`);
    const [journal, actionResults] = await Promise.all([store.loadJournal(id), store.listActionResults(id)]);
    return { run, journal, actionResults };
  });
}
