/**
 * The approvals of one run, the run named by a reference (a full id or a unique prefix, see
 * run-ref.ts): list them, and approve or deny every pending one in one call.
 *
 * A bulk decision needs the caller's proof that it saw what it decides: `approvalIds` must be
 * exactly the run's pending approvals (each bound to an action, asset and parameters). A stale or
 * partial set, an ambiguous reference or a run with nothing pending is refused before anything is
 * written. Then each approval is decided on its own through `ApprovalService.decide` (eligibility,
 * four-eyes, quorum; one transaction each), in step order: a refusal of one (not eligible, expired,
 * decided meanwhile) is reported for that approval and does not stop or undo the others, so the
 * answer gives every approval's outcome. An unexpected failure ends the request with a 500; the
 * approvals decided before it stay decided, and calling again with the still-pending set finishes.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX } from '../deps.js';
import { ApiError, parseInput, type ErrorDetail } from '../errors.js';
import { READ_ROLES, requireApiToken, WRITE_ROLES } from '../auth.js';
import { resolveRunRef, runRefSchema } from '../run-ref.js';
import { callerActor, channelOf } from './hitl.js';
import type { Store } from '../../store/store.js';
import type { Hitl } from '../../policy/hitl.js';
import { PolicyError } from '../../policy/errors.js';
import type { ApprovalRecord, ApprovalStatus } from '../../store/policy-records.js';

export interface RunApprovalRouteDeps {
  store: Store;
  hitl: Hitl;
}

/** More pending approvals than one run ever has; a bulk decision names at most this many. */
const MAX_PER_RUN = 1000;
/** How many ids a refusal message names (the details list every pending approval). */
const NAMED_IN_MESSAGE = 10;

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
const refParams = z.strictObject({ ref: runRefSchema });
const listQuery = z.strictObject({ status: z.enum(STATUSES).optional() });
const decideBody = z.strictObject({
  decision: z.enum(['approve', 'deny']),
  approvalIds: z.array(z.string().uuid()).max(MAX_PER_RUN)
    .refine((ids) => new Set(ids).size === ids.length, 'must not name an approval twice'),
  comment: z.string().max(2000).optional(),
});

export interface DecisionResult {
  id: string;
  status: ApprovalStatus;
  approval: ApprovalRecord | null;
  /** Why this approval was not decided; absent when it was. */
  error?: { code: string; message: string };
}

const runSummary = (r: { id: string; incidentId: number; playbookId: string; status: string }) =>
  ({ id: r.id, incidentId: r.incidentId, playbookId: r.playbookId, status: r.status });

const describe = (a: ApprovalRecord) => `${a.id}: ${a.app}.${a.action} on asset "${a.asset}" (step ${a.seq})`;

function pendingDetails(pending: ApprovalRecord[]): ErrorDetail[] {
  return pending.map((a) => ({
    path: 'approvalIds', code: 'pending_approval', message: describe(a),
    subject: {
      id: a.id, runId: a.runId, seq: a.seq, app: a.app, action: a.action, kind: a.kind, asset: a.asset,
      params: a.params, paramsHash: a.paramsHash, requestedBy: a.requestedBy, expiresAt: a.expiresAt,
    },
  }));
}

const listIds = (ids: string[]) => {
  const more = ids.length > NAMED_IN_MESSAGE ? `, and ${ids.length - NAMED_IN_MESSAGE} more` : '';
  return `${ids.slice(0, NAMED_IN_MESSAGE).join(', ')}${more}`;
};

/** Refuses unless `named` is exactly the pending set; the refusal lists what is pending. */
function requireExactSet(runId: string, pending: ApprovalRecord[], named: string[]): void {
  const pendingIds = new Set(pending.map((a) => a.id));
  const namedIds = new Set(named);
  const stale = named.filter((id) => !pendingIds.has(id));
  const missing = pending.filter((a) => !namedIds.has(a.id)).map((a) => a.id);
  if (stale.length === 0 && missing.length === 0) return;
  const why = [
    missing.length > 0 ? `not named: ${listIds(missing)}` : '',
    stale.length > 0 ? `not pending in this run: ${listIds(stale)}` : '',
  ].filter(Boolean).join('; ');
  const count = `${pending.length} pending approval${pending.length === 1 ? '' : 's'}`;
  throw new ApiError(409, 'confirmation_required',
    `run ${runId} has ${count}; approvalIds must name exactly those you mean to decide (${why}); ` +
    'look at them again (details) and resend; nothing was decided', pendingDetails(pending));
}

export function registerRunApprovalRoutes(app: FastifyInstance, { store, hitl }: RunApprovalRouteDeps): void {
  const read = { onRequest: requireApiToken(store, READ_ROLES) };
  // The same roles as the single-approval decision routes in hitl.ts.
  const write = { onRequest: requireApiToken(store, WRITE_ROLES) };

  app.get(`${API_PREFIX}/runs/:ref/approvals`, read, async (request) => {
    const { ref } = parseInput(refParams, request.params, 'params');
    const q = parseInput(listQuery, request.query, 'query');
    const run = await resolveRunRef(store, ref);
    const approvals = await hitl.policy.listApprovals({
      runId: run.id, limit: MAX_PER_RUN, ...(q.status ? { status: q.status } : {}),
    });
    return { run: runSummary(run), approvals: approvals.sort((a, b) => a.seq - b.seq) };
  });

  app.post(`${API_PREFIX}/runs/:ref/approvals/decide`, write, async (request) => {
    const { ref } = parseInput(refParams, request.params, 'params');
    const body = parseInput(decideBody, request.body, 'body');
    const run = await resolveRunRef(store, ref);
    const actor = await callerActor(request, hitl);
    const pending = (await hitl.policy.listApprovals({ runId: run.id, status: 'pending', limit: MAX_PER_RUN }))
      .sort((a, b) => a.seq - b.seq);
    if (pending.length === 0) {
      throw new ApiError(409, 'nothing_pending', `run ${run.id} has no pending approvals; nothing was decided`);
    }
    requireExactSet(run.id, pending, body.approvalIds);

    const via = channelOf(request);
    const results: DecisionResult[] = [];
    for (const a of pending) {
      try {
        const approval = await hitl.approvals.decide(a.id, actor, body.decision, via, body.comment ?? null);
        results.push({ id: a.id, status: approval.status, approval });
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        const now = await hitl.policy.getApproval(a.id);
        const error = { code: err.code, message: err.message };
        results.push({ id: a.id, status: now?.status ?? a.status, approval: now, error });
      }
    }
    return { run: runSummary(run), decision: body.decision, results };
  });
}
