/**
 * Playbook repositories over HTTP (src/repos/).
 *
 * Who may call what:
 *   - GET  /api/v1/repos, /api/v1/repos/:name                  admin, analyst, viewer
 *   (a repository added here is a Git URL; a local directory only from the CLI, on the machine)
 *   - POST /api/v1/repos, /repos/:name/sync, DELETE /repos/:name admin
 *   - POST /api/v1/playbooks/:id/confirm {hash}                  admin: grants what that bundle
 *     declares, 409 `changed` if it is not the active bundle any more (nothing granted)
 *   - POST /api/v1/repos/:name/hook                              a Git host's push hook, with the
 *     repository's hook secret (no API token): GitHub/Gitea's X-Hub-Signature-256 (HMAC of the
 *     body), GitLab's X-Gitlab-Token, or X-Riposte-Hook-Token. An unknown repository and a wrong
 *     secret get the same 401. The sync runs after the answer (hosts give hooks ~10 s); its result
 *     is recorded on the repository and audited.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RepoError, type RepoSyncer, type SyncResult } from '../../repos/sync.js';
import { NoSuchPlaybook, confirmPlaybook } from '../../repos/installed.js';
import { PlaybookChangedError } from '../../store/repo-records.js';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { actorOf, principalOf, READ_ROLES, requireApiToken } from '../auth.js';

export interface RepoRouteDeps extends ApiDeps {
  repos: RepoSyncer;
  onError?: (err: unknown) => void;
  /** A confirmation changed what runs may do: the server reloads its playbooks. */
  onChange?: () => Promise<void> | void;
}

const nameParams = z.strictObject({ name: z.string().min(1).max(64) });
const idParams = z.strictObject({ id: z.string().min(1).max(128) });
/** The bundle the admin reviewed (`riposte playbooks list --json`, `riposte playbooks confirm <id>` show it). */
const confirmBody = z.strictObject({
  hash: z.string().regex(/^[0-9a-f]{16,64}$/, 'a bundle hash: 16 to 64 hex digits'),
});
const addBody = z.strictObject({
  name: z.string().min(1).max(64),
  // A local directory only from the CLI: an API token is not a login on the server's file system.
  kind: z.literal('git').default('git'),
  url: z.string().min(1).max(2000),
  ref: z.string().min(1).max(200).nullable().optional(),
  syncIntervalS: z.number().int().min(60).max(30 * 86_400).nullable().optional(),
  requireTests: z.boolean().default(false),
  sync: z.boolean().default(true),
});

const HOOK_BODY_LIMIT = 1024 * 1024;

/** The answer of a sync: refused and failed are errors a client must see as such. */
function syncAnswer(result: SyncResult): SyncResult {
  if (result.status === 'refused') {
    throw new ApiError(422, 'commit_refused', `repository ${result.repository}: commit ${result.commit ?? ''} was refused; ${result.activeCommit ?? 'nothing'} stays active`,
      result.errors.map((message) => ({ path: '(commit)', code: 'build_error', message })));
  }
  if (result.status === 'failed') {
    throw new ApiError(502, 'fetch_failed', `repository ${result.repository} could not be fetched: ${result.errors.join('; ')}`);
  }
  return result;
}

const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

function hookAuthorized(request: FastifyRequest, secret: string, body: Buffer): boolean {
  const header = (name: string) => {
    const v = request.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const signature = header('x-hub-signature-256');
  if (signature !== undefined) {
    return sameSecret(signature, `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  }
  const token = header('x-gitlab-token') ?? header('x-riposte-hook-token');
  return token !== undefined && sameSecret(token, secret);
}

export function registerRepoRoutes(app: FastifyInstance, d: RepoRouteDeps): void {
  const { store, repos } = d;
  const read = { onRequest: requireApiToken(store, READ_ROLES) };
  const admin = { onRequest: requireApiToken(store, ['admin']) };

  app.get(`${API_PREFIX}/repos`, read, async () => ({ repositories: await store.listRepos() }));

  app.get(`${API_PREFIX}/repos/:name`, read, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const repository = await store.getRepo(name);
    if (!repository) throw new ApiError(404, 'not_found', `repository ${name} does not exist`);
    return { repository, playbooks: await store.repoPlaybooks(name) };
  });

  app.post(`${API_PREFIX}/repos`, admin, async (request, reply) => {
    const body = parseInput(addBody, request.body, 'body');
    if (await store.getRepo(body.name)) throw new ApiError(409, 'conflict', `repository ${body.name} already exists`);
    const actor = actorOf(principalOf(request));
    let repository;
    try {
      repository = await repos.add({ name: body.name, kind: body.kind, url: body.url, ref: body.ref ?? null, syncIntervalS: body.syncIntervalS ?? null, requireTests: body.requireTests }, actor);
    } catch (err) {
      if (err instanceof RepoError || (err as Error).name === 'ValidationError') throw new ApiError(400, 'invalid_body', (err as Error).message);
      throw err;
    }
    const sync = body.sync ? await repos.sync(body.name, actor, 'manual') : null;
    reply.code(201).header('location', `${API_PREFIX}/repos/${encodeURIComponent(body.name)}`);
    return { repository: await store.getRepo(body.name), sync };
  });

  app.post(`${API_PREFIX}/repos/:name/sync`, admin, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    if (!(await store.getRepo(name))) throw new ApiError(404, 'not_found', `repository ${name} does not exist`);
    return { sync: syncAnswer(await repos.sync(name, actorOf(principalOf(request)), 'manual')) };
  });

  app.delete(`${API_PREFIX}/repos/:name`, admin, async (request, reply) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const repo = await store.getRepo(name);
    if (!repo) throw new ApiError(404, 'not_found', `repository ${name} does not exist`);
    if (repo.kind === 'builtin') throw new ApiError(409, 'conflict', 'the built-in repository cannot be removed (disable its playbooks instead)');
    await repos.remove(name, actorOf(principalOf(request)));
    return reply.code(204).send();
  });

  app.post(`${API_PREFIX}/playbooks/:id/confirm`, admin, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const { hash } = parseInput(confirmBody, request.body ?? undefined, 'body');
    try {
      const { playbook, grant } = await confirmPlaybook(store, id, hash, actorOf(principalOf(request)));
      await d.onChange?.();
      return { playbook: id, source: playbook.source, hash, confirmed: playbook.unconfirmed, grant };
    } catch (err) {
      if (err instanceof NoSuchPlaybook) throw new ApiError(404, 'not_found', err.message);
      if (err instanceof PlaybookChangedError) throw new ApiError(409, 'changed', err.message);
      throw err;
    }
  });

  // The push hook reads its body raw (the HMAC is over the bytes sent), in a scope of its own.
  void app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    hooks.post(`${API_PREFIX}/repos/:name/hook`, async (request, reply) => {
      const { name } = parseInput(nameParams, request.params, 'params');
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const secret = (await store.getRepo(name)) ? await store.repoWebhookSecret(name) : null;
      if (secret === null || !hookAuthorized(request, secret, body)) {
        throw new ApiError(401, 'unauthorized', 'unknown repository or wrong hook secret');
      }
      repos.sync(name, `webhook:${name}`, 'webhook').catch((err: unknown) => d.onError?.(err));
      return reply.code(202).send({ accepted: true, repository: name });
    });
  });
}
