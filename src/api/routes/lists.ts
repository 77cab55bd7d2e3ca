/**
 * Custom lists (e.g. the access list of allowed destination IPs/CIDRs that playbooks consult).
 * Editing items is limited twice over (see docs/permissions.md): a list with editors of its own is
 * edited only by them (or `lists.admin`), and an over-broad entry (`0.0.0.0/0`, `::/0`, `*`) is
 * added only with `lists.admin`. A refusal names the list or the entry and adds nothing.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { actorOf, principalOf, READ_ROLES, requireApiToken, WRITE_ROLES } from '../auth.js';
import type { Store } from '../../store/store.js';
import { callerHolds } from '../route-access.js';
import { actorFor, eligible } from '../../policy/principal.js';
import { getListEditors, putListEditors } from '../../policy/list-editors.js';
import { broadEntryProblem, LIST_GUARD_SETTING, listGuardSettings } from '../../policy/list-guard.js';
import { LIST_KINDS } from '../../common/artifact-values.js';

export const MAX_ITEMS_PER_REQUEST = 10_000;

// List names appear in URLs and in playbook code: keep them plain.
const listNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, . _ - starting with a letter or digit');

const nameParams = z.strictObject({ name: z.string().min(1).max(128) });

const createBody = z.strictObject({
  name: listNameSchema,
  description: z.string().max(2000).nullable().optional(),
  /** What the items must be; absent: untyped (an all-IP list is still taken as kind ip). */
  kind: z.enum(LIST_KINDS).optional(),
});

const itemsBody = z.strictObject({
  items: z.array(z.string().min(1).max(1024)).min(1).max(MAX_ITEMS_PER_REQUEST),
});

const editorsBody = z.strictObject({
  users: z.array(z.string().min(1).max(256)).max(100).default([]),
  roles: z.array(z.string().min(1).max(64)).max(20).default([]),
});

async function requireList(store: Store, name: string): Promise<void> {
  const lists = await store.listLists();
  if (!lists.some((l) => l.name === name)) throw new ApiError(404, 'not_found', `list ${name} does not exist`);
}

/** Refuses a caller who is not among the list's own editors (when it has any) and not `lists.admin`. */
async function requireEditor(store: Store, request: FastifyRequest, name: string): Promise<void> {
  const p = principalOf(request);
  if (p.kind !== 'api-token') throw new ApiError(403, 'forbidden', 'a user token is required');
  if (callerHolds(request, 'lists.admin')) return;
  const policy = store.policyStore();
  const editors = await getListEditors(policy, name);
  if (editors === null || eligible(editors, await actorFor(policy, p.name, p.role))) return;
  throw new ApiError(403, 'not_list_editor', `list ${name} may be edited only by its editors (users: ${
    editors.users.join(', ') || 'none'}; roles: ${editors.roles.join(', ') || 'none'}) or with lists.admin`);
}

/** Refuses over-broad entries unless the caller holds `lists.admin`, naming each and why. */
async function requireSpecificEntries(
  store: Store, request: FastifyRequest, name: string, items: string[],
): Promise<void> {
  if (callerHolds(request, 'lists.admin')) return;
  const guard = listGuardSettings(await store.policyStore().getSetting(LIST_GUARD_SETTING));
  const broad = items.flatMap((item) => {
    const why = broadEntryProblem(item, guard);
    return why === null ? [] : [{ item, why }];
  });
  if (broad.length === 0) return;
  const first = broad[0]!;
  throw new ApiError(403, 'broad_entry',
    `list ${name}: "${first.item}" is over-broad (${first.why}); adding it needs the permission lists.admin${
      broad.length > 1 ? ` (${broad.length} such entries)` : ''}; nothing was added`,
    broad.map(({ item, why }) => ({ path: 'items', code: 'broad_entry', message: why, subject: { item } })));
}

export function registerListRoutes(app: FastifyInstance, { store }: ApiDeps): void {
  const read = { onRequest: requireApiToken(store, READ_ROLES) };
  const write = { onRequest: requireApiToken(store, WRITE_ROLES) };

  app.get(`${API_PREFIX}/lists`, read, async () => ({ lists: await store.listLists() }));

  app.get(`${API_PREFIX}/lists/:name`, read, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const items = await store.getListItems(name);
    if (items === null) throw new ApiError(404, 'not_found', `list ${name} does not exist`);
    return { name, items };
  });

  app.post(`${API_PREFIX}/lists`, write, async (request, reply) => {
    const body = parseInput(createBody, request.body, 'body');
    const existing = await store.listLists();
    if (existing.some((l) => l.name === body.name)) throw new ApiError(409, 'conflict', `list ${body.name} already exists`);
    const actor = actorOf(principalOf(request));
    const list = await store.createList(body.name, body.description ?? null, actor, body.kind ?? null);
    return reply.code(201).header('location', `${API_PREFIX}/lists/${encodeURIComponent(list.name)}`).send({ list });
  });

  app.post(`${API_PREFIX}/lists/:name/items`, write, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const { items } = parseInput(itemsBody, request.body, 'body');
    await requireList(store, name);
    await requireEditor(store, request, name);
    await requireSpecificEntries(store, request, name, items);
    return { added: await store.addListItems(name, items, actorOf(principalOf(request))) };
  });

  app.delete(`${API_PREFIX}/lists/:name/items`, write, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const { items } = parseInput(itemsBody, request.body, 'body');
    await requireList(store, name);
    await requireEditor(store, request, name);
    return { removed: await store.removeListItems(name, items, actorOf(principalOf(request))) };
  });

  app.get(`${API_PREFIX}/lists/:name/editors`, read, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    await requireList(store, name);
    const editors = await getListEditors(store.policyStore(), name);
    return { name, editors: editors ?? { users: [], roles: [] }, restricted: editors !== null };
  });

  // lists.admin (route-access.ts); no users and no roles clears the restriction.
  app.put(`${API_PREFIX}/lists/:name/editors`, { onRequest: requireApiToken(store, ['admin']) }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const body = parseInput(editorsBody, request.body, 'body');
    await requireList(store, name);
    await putListEditors(store.policyStore(), name, body, actorOf(principalOf(request)));
    const editors = await getListEditors(store.policyStore(), name);
    return { name, editors: editors ?? { users: [], roles: [] }, restricted: editors !== null };
  });
}
