/** Incident queue, detail and triage changes. Creation is in routes/ingest.ts. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { actorOf, principalOf, READ_ROLES, requireApiToken, WRITE_ROLES } from '../auth.js';
import { idParams, limitString, positiveIntString } from '../params.js';
import { severitySchema } from '../../ingest/mapping.js';
import { INCIDENT_STATUSES } from '../../common/domain.js';
import type { IncidentQuery } from '../../store/store.js';

const statusSchema = z.enum(INCIDENT_STATUSES);

const listQuery = z.strictObject({
  status: statusSchema.optional(),
  label: z.string().min(1).max(128).optional(),
  q: z.string().min(1).max(256).optional(),
  before: positiveIntString.optional(),
  limit: limitString,
});

const patchBody = z.strictObject({
  status: statusSchema.optional(),
  severity: severitySchema.optional(),
  owner: z.string().min(1).max(256).nullable().optional(),
}).refine((b) => Object.keys(b).length > 0, 'give at least one of status, severity, owner');

/** Runs shown on an incident's detail page. */
const DETAIL_RUNS = 100;

export function registerIncidentRoutes(app: FastifyInstance, { store }: ApiDeps): void {
  const read = { onRequest: requireApiToken(store, READ_ROLES) };
  const write = { onRequest: requireApiToken(store, WRITE_ROLES) };

  app.get(`${API_PREFIX}/incidents`, read, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const query: IncidentQuery = { limit: q.limit };
    if (q.status !== undefined) query.status = q.status;
    if (q.label !== undefined) query.label = q.label;
    if (q.q !== undefined) query.q = q.q;
    if (q.before !== undefined) query.before = q.before;
    const incidents = await store.listIncidents(query);
    // Keyset pagination, newest first: pass nextBefore as `before` to get the next page.
    const last = incidents[incidents.length - 1];
    return { incidents, nextBefore: incidents.length === q.limit && last ? last.id : null };
  });

  app.get(`${API_PREFIX}/incidents/:id`, read, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const incident = await store.getIncident(id);
    if (!incident) throw new ApiError(404, 'not_found', `incident ${id} does not exist`);
    const [notes, runs] = await Promise.all([store.listNotes(id), store.listRuns({ incidentId: id, limit: DETAIL_RUNS })]);
    return { incident, notes, runs };
  });

  app.patch(`${API_PREFIX}/incidents/:id`, write, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(patchBody, request.body, 'body');
    if (!(await store.getIncident(id))) throw new ApiError(404, 'not_found', `incident ${id} does not exist`);
    const patch: Parameters<typeof store.updateIncident>[1] = {};
    if (body.status !== undefined) patch.status = body.status;
    if (body.severity !== undefined) patch.severity = body.severity;
    if (body.owner !== undefined) patch.owner = body.owner;
    const incident = await store.updateIncident(id, patch, actorOf(principalOf(request)));
    return { incident };
  });
}
