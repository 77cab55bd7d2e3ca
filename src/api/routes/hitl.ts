/**
 * Human in the loop over HTTP: approvals inbox and decisions, prompts and answers, the kill
 * switch, automation levels, dry run, asset approvers, blast-radius rules, and ad-hoc actions
 * (which pass the same policy gate as playbook steps).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { newRunId } from '../../store/ids.js';
import { z } from 'zod';
import { API_PREFIX } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { principalOf, READ_ROLES, requireApiToken, WRITE_ROLES } from '../auth.js';
import { idParams } from '../params.js';
import type { Store } from '../../store/store.js';
import type { Hitl } from '../../policy/hitl.js';
import { PolicyError } from '../../policy/errors.js';
import { actorFor, type Actor } from '../../policy/principal.js';
import { BLAST_RADIUS, KILL_SWITCH } from '../../policy/gate.js';
import { FOUR_EYES, fourEyesPolicy } from '../../policy/separation.js';
import type { KillSwitchState } from '../../store/policy-records.js';
import { PlaybookRegistry } from '../../engine/registry.js';
import type { AppCatalog } from '../../broker/catalog.js';
import { ADHOC_PLAYBOOK_ID } from '../../engine/adhoc-playbook.js';
import { rolesWith } from '../permissions.js';
import { callerHolds } from '../route-access.js';

export interface HitlRouteDeps {
  store: Store;
  hitl: Hitl;
  registry: PlaybookRegistry;
  catalog: AppCatalog;
  wake: () => void;
}

const ADMIN = ['admin'] as const;
const STATUS: Record<string, number> = {
  not_found: 404, not_pending: 409, expired: 410, not_eligible: 403, four_eyes: 403, already_decided: 409, invalid_answer: 400,
  invalid_link: 400, link_used: 410, link_expired: 410,
};

/** Runs a policy operation, turning its refusals into API errors with stable codes. */
export async function policyCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PolicyError) throw new ApiError(STATUS[err.code] ?? 400, err.code, err.message);
    throw err;
  }
}

export async function callerActor(request: FastifyRequest, hitl: Hitl): Promise<Actor & { disabled: boolean }> {
  const p = principalOf(request);
  if (p.kind !== 'api-token') throw new ApiError(403, 'forbidden', 'a user token is required');
  return actorFor(hitl.policy, p.name, p.role);
}

/** `cli` when the request came from the riposte CLI, else `api`. */
export const channelOf = (request: FastifyRequest) => (request.headers['x-riposte-client'] === 'cli' ? 'cli' : 'api');

const decisionBody = z.strictObject({ comment: z.string().max(2000).optional() }).optional();
const uuidParams = z.strictObject({ id: z.string().uuid() });
const listQuery = z.strictObject({ status: z.string().optional(), limit: z.string().regex(/^\d+$/).optional() });

export function registerHitlRoutes(app: FastifyInstance, d: HitlRouteDeps): void {
  const { store, hitl } = d;
  const read = { onRequest: requireApiToken(store, READ_ROLES) };
  const write = { onRequest: requireApiToken(store, WRITE_ROLES) };
  const admin = { onRequest: requireApiToken(store, ADMIN) };

  // ── approvals ──
  app.get(`${API_PREFIX}/approvals`, read, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const status = q.status === undefined ? undefined : z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']).parse(q.status);
    return { approvals: await hitl.policy.listApprovals({ ...(status ? { status } : {}), limit: q.limit ? Number(q.limit) : 100 }) };
  });
  app.get(`${API_PREFIX}/approvals/:id`, read, async (request) => {
    const { id } = parseInput(uuidParams, request.params, 'params');
    const approval = await hitl.policy.getApproval(id);
    if (!approval) throw new ApiError(404, 'not_found', `approval ${id} does not exist`);
    return { approval };
  });
  for (const decision of ['approve', 'deny'] as const) {
    app.post(`${API_PREFIX}/approvals/:id/${decision}`, write, async (request) => {
      const { id } = parseInput(uuidParams, request.params, 'params');
      const body = parseInput(decisionBody, request.body ?? undefined, 'body');
      const actor = await callerActor(request, hitl);
      const approval = await policyCall(() => hitl.approvals.decide(id, actor, decision, channelOf(request), body?.comment ?? null));
      return { approval };
    });
  }

  // ── prompts ──
  app.get(`${API_PREFIX}/prompts`, read, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const status = q.status === undefined ? undefined : z.enum(['pending', 'answered', 'timed_out', 'cancelled']).parse(q.status);
    return { prompts: await hitl.policy.listPrompts({ ...(status ? { status } : {}), limit: q.limit ? Number(q.limit) : 100 }) };
  });
  app.get(`${API_PREFIX}/prompts/:id`, read, async (request) => {
    const { id } = parseInput(uuidParams, request.params, 'params');
    const prompt = await hitl.policy.getPrompt(id);
    if (!prompt) throw new ApiError(404, 'not_found', `prompt ${id} does not exist`);
    return { prompt };
  });
  app.post(`${API_PREFIX}/prompts/:id/answer`, write, async (request) => {
    const { id } = parseInput(uuidParams, request.params, 'params');
    const body = parseInput(z.strictObject({ answer: z.union([z.string(), z.number(), z.boolean()]) }), request.body, 'body');
    const actor = await callerActor(request, hitl);
    return { prompt: await policyCall(() => hitl.prompts.answer(id, actor, body.answer, channelOf(request))) };
  });

  // ── safety rails and automation (admin) ──
  app.get(`${API_PREFIX}/policy/kill-switch`, read, async () => ({ killSwitch: (await hitl.policy.getSetting<KillSwitchState>(KILL_SWITCH)) ?? { engaged: false } }));
  app.put(`${API_PREFIX}/policy/kill-switch`, admin, async (request) => {
    const body = parseInput(z.strictObject({ engaged: z.boolean(), reason: z.string().min(1).max(500) }), request.body, 'body');
    const actor = await callerActor(request, hitl);
    return { killSwitch: await hitl.setKillSwitch(body.engaged, `user:${actor.name}`, body.reason) };
  });
  app.get(`${API_PREFIX}/policy/blast-radius`, read, async () => ({ rules: (await hitl.policy.getSetting(BLAST_RADIUS)) ?? [] }));
  app.put(`${API_PREFIX}/policy/blast-radius`, admin, async (request) => {
    const rule = z.strictObject({ action: z.string().min(1), app: z.string().optional(), asset: z.string().optional(), max: z.number().int().min(0), windowMs: z.number().int().positive() });
    const body = parseInput(z.strictObject({ rules: z.array(rule).max(100) }), request.body, 'body');
    const actor = await callerActor(request, hitl);
    await hitl.policy.putSetting(BLAST_RADIUS, body.rules, `user:${actor.name}`, 'policy.blast_radius');
    return { rules: body.rules };
  });
  // Four-eyes itself is always on; this says whether incident editors are excluded too (separation.ts).
  app.get(`${API_PREFIX}/policy/four-eyes`, read, async () => ({ fourEyes: await fourEyesPolicy(hitl.policy) }));
  app.put(`${API_PREFIX}/policy/four-eyes`, admin, async (request) => {
    const body = parseInput(z.strictObject({ incidentEditors: z.boolean() }), request.body, 'body');
    const actor = await callerActor(request, hitl);
    await hitl.policy.putSetting(FOUR_EYES, body, `user:${actor.name}`, 'policy.four_eyes');
    return { fourEyes: body };
  });
  app.put(`${API_PREFIX}/playbooks/:playbookId/automation`, admin, async (request) => {
    const { playbookId } = parseInput(z.strictObject({ playbookId: z.string().min(1).max(128) }), request.params, 'params');
    const body = parseInput(z.strictObject({ level: z.enum(['manual', 'supervised', 'autonomous']).optional(), dryRun: z.boolean().optional() }), request.body, 'body');
    if (!d.registry.get(playbookId)) throw new ApiError(404, 'not_found', `playbook ${playbookId} is not installed`);
    const actor = await callerActor(request, hitl);
    const cur = await store.getPlaybookSettings(playbookId);
    const settings = await store.putPlaybookSettings({
      playbookId, enabled: cur?.enabled ?? true, bindings: cur?.bindings ?? {},
      automation: body.level ?? cur?.automation ?? null, dryRun: body.dryRun ?? cur?.dryRun ?? false,
    }, `user:${actor.name}`);
    return { settings };
  });
  app.put(`${API_PREFIX}/assets/:name/policy`, admin, async (request) => {
    const { name } = parseInput(z.strictObject({ name: z.string().min(1).max(128) }), request.params, 'params');
    const body = parseInput(z.strictObject({
      requireApproval: z.boolean(), approvers: z.strictObject({ users: z.array(z.string()).default([]), roles: z.array(z.string()).default([]) }),
      quorum: z.number().int().min(1).max(10).default(1), fourEyes: z.boolean().default(true).refine((v) => v, 'four-eyes cannot be turned off: whoever causes a destructive action never approves it'), approvalTtlMs: z.number().int().positive().optional(),
    }).refine((p) => !p.requireApproval || p.approvers.users.length + p.approvers.roles.length > 0, 'name at least one approver user or role'), request.body, 'body');
    if (!(await store.getAsset(name))) throw new ApiError(404, 'not_found', `asset ${name} does not exist`);
    const actor = await callerActor(request, hitl);
    await hitl.policy.putAssetPolicy(name, body, `user:${actor.name}`);
    return { policy: body };
  });

  // ── ad-hoc actions: one action on an asset, for an incident, through the same policy ──
  app.post(`${API_PREFIX}/actions`, write, async (request, reply) => {
    const body = parseInput(z.strictObject({
      incidentId: z.number().int().positive(), asset: z.string().min(1), action: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}), dryRun: z.boolean().default(false),
    }), request.body, 'body');
    const actor = await callerActor(request, hitl);
    const asset = await store.getAsset(body.asset);
    if (!asset) throw new ApiError(404, 'not_found', `asset ${body.asset} does not exist`);
    const def = d.catalog.action(asset.appId, body.action);
    if (!def) throw new ApiError(400, 'invalid_body', `app ${asset.appId} has no action ${body.action}`);
    // Actions that send data out (e-mail, chat, search, event, HTTP) are not for every analyst.
    if (def.egress === true && !callerHolds(request, 'adhoc.run-egress')) {
      throw new ApiError(403, 'egress_not_permitted', `${asset.appId}.${body.action} sends data out of Riposte; `
        + `running it ad hoc needs the permission adhoc.run-egress (held by the roles ${
          rolesWith('adhoc.run-egress').join(', ')}); nothing was run`);
    }
    // An ad-hoc run keeps its parameters as its arguments: a sensitive one would be stored and shown.
    const sensitive = (def.sensitiveInput ?? []).filter((k) => Object.hasOwn(body.params, k));
    if (sensitive.length > 0) {
      throw new ApiError(400, 'invalid_body', `${asset.appId}.${body.action} takes ${sensitive.join(', ')} as a sensitive input, ` +
        'which an ad-hoc action would store with its run: supply it from a playbook step instead');
    }
    if (!(await store.getIncident(body.incidentId))) throw new ApiError(404, 'not_found', `incident ${body.incidentId} does not exist`);
    const pb = d.registry.get(ADHOC_PLAYBOOK_ID)!;
    const run = await store.createRun(body.incidentId, {
      id: newRunId(), ...PlaybookRegistry.runFields(pb),
      args: { app: asset.appId, asset: body.asset, action: body.action, params: body.params }, dryRun: body.dryRun, requestedBy: `user:${actor.name}`,
    }, `user:${actor.name}`);
    d.wake();
    reply.code(202);
    return { run };
  });

  // ── e-mail links: a confirmation page (GET changes nothing), the decision on POST ──
  const page = (title: string, body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
  app.get('/approvals/email/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    reply.type('text/html; charset=utf-8');
    try {
      const { approval, user, decision } = await hitl.links.inspect(token);
      if (approval.status !== 'pending') return page('Nothing to decide', `<p>This request is already ${esc(approval.status)}.</p>`);
      return page(`${decision === 'approve' ? 'Approve' : 'Deny'}: ${approval.action} on ${approval.asset}`,
        `<p>${esc(user)}, run ${esc(approval.runId)} step ${approval.seq} asks to run <b>${esc(approval.app)}.${esc(approval.action)}</b> on asset <b>${esc(approval.asset)}</b> with <code>${esc(JSON.stringify(approval.params))}</code>.</p>` +
        `<p>Why: ${esc(approval.reasons.join('; '))}. Expires ${esc(approval.expiresAt)}.</p>` +
        `<form method="post"><button type="submit">${decision === 'approve' ? 'Approve' : 'Deny'}</button></form>`);
    } catch (err) {
      if (err instanceof PolicyError) { reply.code(STATUS[err.code] ?? 400); return page('Link not usable', `<p>${esc(err.message)}</p>`); }
      throw err;
    }
  });
  app.post('/approvals/email/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    reply.type('text/html; charset=utf-8');
    try {
      const a = await hitl.links.redeem(token);
      return page('Thank you', `<p>Your decision was recorded. The request is now <b>${esc(a.status)}</b>.</p>`);
    } catch (err) {
      if (err instanceof PolicyError) { reply.code(STATUS[err.code] ?? 400); return page('Link not usable', `<p>${esc(err.message)}</p>`); }
      throw err;
    }
  });
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
