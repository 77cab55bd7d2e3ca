/** Custom lists (e.g. the access list of allowed destination IPs/CIDRs that playbooks consult). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { actorOf, principalOf, READ_ROLES, requireApiToken, WRITE_ROLES } from '../auth.js';
import type { Store } from '../../store/store.js';
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

async function requireList(store: Store, name: string): Promise<void> {
  const lists = await store.listLists();
  if (!lists.some((l) => l.name === name)) throw new ApiError(404, 'not_found', `list ${name} does not exist`);
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
    return { added: await store.addListItems(name, items, actorOf(principalOf(request))) };
  });

  app.delete(`${API_PREFIX}/lists/:name/items`, write, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const { items } = parseInput(itemsBody, request.body, 'body');
    await requireList(store, name);
    return { removed: await store.removeListItems(name, items, actorOf(principalOf(request))) };
  });
}
