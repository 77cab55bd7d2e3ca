/** Playbook runs: list and detail (with the journal, every action attempt and the run's re-runs). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { parseInput } from '../errors.js';
import { resolveRunRef, runRefSchema } from '../run-ref.js';
import { READ_ROLES, requireApiToken } from '../auth.js';
import { limitString, positiveIntString } from '../params.js';
import type { RunQuery } from '../../store/store.js';

const runStatusSchema = z.enum(['queued', 'running', 'waiting', 'completed', 'failed', 'needs_attention', 'cancelled']);

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

  // `:id` is a run id or a unique prefix of one (see run-ref.ts).
  app.get(`${API_PREFIX}/runs/:id`, read, async (request) => {
    const { id } = parseInput(z.strictObject({ id: runRefSchema }), request.params, 'params');
    const run = await resolveRunRef(store, id);
    const [journal, actionResults, children, reruns] = await Promise.all([
      store.loadJournal(run.id), store.listActionResults(run.id), store.listChildRuns(run.id), store.listRuns({ rerunOf: run.id }),
    ]);
    // A child run names its parent (`run.parentRunId`); a parent lists its children (`ctx.playbook`).
    const childRuns = children.map((c) => ({
      id: c.id, playbookId: c.playbookId, status: c.status, parentSeq: c.parentSeq,
    }));
    // The runs that repeat this one (`rerunOf` on the run names the one it repeats).
    const rerunBy = reruns.map((r) => ({
      id: r.id, status: r.status, createdAt: r.createdAt, requestedBy: r.requestedBy,
    }));
    return { run, journal, actionResults, children: childRuns, reruns: rerunBy };
  });
}
