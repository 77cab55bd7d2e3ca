/**
 * Built-in cases (Riposte's own tickets). Creation is find-or-create on `dedupeKey` and comments
 * are idempotent per `marker`, so a client (the riposte-cases app) may repeat any call safely:
 * a repeat answers 200 with `created: false` instead of 201.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { actorOf, principalOf, READ_ROLES, requireApiToken, WRITE_ROLES } from '../auth.js';
import { limitString, positiveIntString } from '../params.js';
import type { CaseQuery, Store } from '../../store/store.js';
import type { CaseDetail } from '../../store/records.js';

const priority = z.enum(['low', 'medium', 'high', 'critical']);
const status = z.enum(['open', 'in_progress', 'resolved', 'closed']);

const caseParams = z.strictObject({
  idOrKey: z.string().regex(/^(CASE-)?[1-9][0-9]{0,15}$/i, 'must be a case key like CASE-12 or a case id'),
});

const createBody = z.strictObject({
  dedupeKey: z.string().min(1).max(512),
  incidentId: z.number().int().positive().optional(),
  title: z.string().trim().min(1).max(512),
  description: z.string().max(65_536).default(''),
  priority: priority.default('medium'),
  labels: z.array(z.string().min(1).max(255)).max(50).default([]),
});

const listQuery = z.strictObject({
  status: status.optional(),
  before: positiveIntString.optional(),
  limit: limitString,
});

const commentBody = z.strictObject({
  text: z.string().trim().min(1).max(65_536),
  marker: z.string().min(1).max(512).optional(),
});

const patchBody = z.strictObject({ status });

async function requireCase(store: Store, idOrKey: string): Promise<CaseDetail> {
  const c = await store.getCase(idOrKey);
  if (!c) throw new ApiError(404, 'not_found', `case ${idOrKey.toUpperCase()} does not exist`);
  return c;
}

const location = (key: string) => `${API_PREFIX}/cases/${key}`;

export function registerCaseRoutes(app: FastifyInstance, { store }: ApiDeps): void {
  const read = { onRequest: requireApiToken(store, READ_ROLES) };
  const write = { onRequest: requireApiToken(store, WRITE_ROLES) };

  app.post(`${API_PREFIX}/cases`, write, async (request, reply) => {
    const body = parseInput(createBody, request.body, 'body');
    if (body.incidentId !== undefined && !(await store.getIncident(body.incidentId))) {
      const message = `incident ${body.incidentId} does not exist`;
      throw new ApiError(400, 'invalid_body', `invalid request body: incidentId: ${message}`, [{ path: 'incidentId', code: 'not_found', message }]);
    }
    const res = await store.createCase({
      dedupeKey: body.dedupeKey, title: body.title, description: body.description, priority: body.priority, labels: body.labels,
      ...(body.incidentId !== undefined ? { incidentId: body.incidentId } : {}),
    }, actorOf(principalOf(request)));
    return reply.code(res.created ? 201 : 200).header('location', location(res.case.key)).send(res);
  });

  app.get(`${API_PREFIX}/cases`, read, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const query: CaseQuery = { limit: q.limit };
    if (q.status !== undefined) query.status = q.status;
    if (q.before !== undefined) query.before = q.before;
    const cases = await store.listCases(query);
    const last = cases[cases.length - 1];
    return { cases, nextBefore: cases.length === q.limit && last ? last.id : null };
  });

  app.get(`${API_PREFIX}/cases/:idOrKey`, read, async (request) => {
    const { idOrKey } = parseInput(caseParams, request.params, 'params');
    return { case: await requireCase(store, idOrKey) };
  });

  app.post(`${API_PREFIX}/cases/:idOrKey/comments`, write, async (request, reply) => {
    const { idOrKey } = parseInput(caseParams, request.params, 'params');
    const body = parseInput(commentBody, request.body, 'body');
    const c = await requireCase(store, idOrKey);
    const res = await store.addCaseComment({
      caseId: c.id, author: actorOf(principalOf(request)), text: body.text, ...(body.marker !== undefined ? { marker: body.marker } : {}),
    });
    return reply.code(res.created ? 201 : 200).send(res);
  });

  app.patch(`${API_PREFIX}/cases/:idOrKey`, write, async (request) => {
    const { idOrKey } = parseInput(caseParams, request.params, 'params');
    const body = parseInput(patchBody, request.body, 'body');
    const before = await requireCase(store, idOrKey);
    const updated = await store.updateCaseStatus(before.id, body.status, actorOf(principalOf(request)));
    return { case: updated, changed: before.status !== updated.status };
  });
}
