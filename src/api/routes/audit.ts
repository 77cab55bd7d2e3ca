/**
 * The hash-chained audit log: read in order, and verify the chain. Callers without
 * `audit.read-full` (viewers, analysts) get the redacted view of audit-view.ts.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { parseInput } from '../errors.js';
import { READ_ROLES, requireApiToken } from '../auth.js';
import { limitString, nonNegativeIntString } from '../params.js';
import { callerHolds } from '../route-access.js';
import { redactAuditEntry } from '../audit-view.js';

const listQuery = z.strictObject({
  /** Entries with id > after, oldest first. */
  after: nonNegativeIntString.optional(),
  limit: limitString,
});

export function registerAuditRoutes(app: FastifyInstance, { store }: ApiDeps): void {
  const read = { onRequest: requireApiToken(store, READ_ROLES) };

  app.get(`${API_PREFIX}/audit`, read, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const entries = await store.listAudit(q.after === undefined ? { limit: q.limit } : { after: q.after, limit: q.limit });
    const last = entries[entries.length - 1];
    const nextAfter = entries.length === q.limit && last ? last.id : null;
    if (callerHolds(request, 'audit.read-full')) return { entries, redacted: false, nextAfter };
    return { entries: entries.map(redactAuditEntry), redacted: true, nextAfter };
  });

  app.get(`${API_PREFIX}/audit/verify`, read, async () => store.verifyAudit());
}
