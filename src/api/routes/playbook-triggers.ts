/**
 * An operator's trigger condition for a playbook (`PUT /api/v1/playbooks/:id/trigger`, admin
 * only): it replaces the playbook's own `triggers.when`; `{ "when": null }` clears it. The
 * expression is parsed and every custom list it names must exist before anything is written; the
 * change is audited (`playbook.trigger`, with the condition before) by the store.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX } from '../deps.js';
import { ApiError, parseInput } from '../errors.js';
import { causeOf, principalOf, requireApiToken } from '../auth.js';
import type { Store } from '../../store/store.js';
import { MAX_TRIGGER_LENGTH } from '../../store/records.js';
import type { PlaybookRegistry } from '../../engine/registry.js';
import { effectiveTrigger, parseTriggerCondition, TriggerConditionError } from '../../engine/trigger-condition.js';

export interface PlaybookTriggerRouteDeps {
  store: Store;
  registry: PlaybookRegistry;
}

const params = z.strictObject({ playbookId: z.string().min(1).max(128) });
const body = z.strictObject({ when: z.string().max(MAX_TRIGGER_LENGTH).nullable() });

export function registerPlaybookTriggerRoutes(
  app: FastifyInstance, { store, registry }: PlaybookTriggerRouteDeps,
): void {
  const admin = { onRequest: requireApiToken(store, ['admin']) };

  app.put(`${API_PREFIX}/playbooks/:playbookId/trigger`, admin, async (request) => {
    const { playbookId } = parseInput(params, request.params, 'params');
    const { when } = parseInput(body, request.body, 'body');
    const playbook = registry.get(playbookId);
    if (!playbook) throw new ApiError(404, 'not_found', `playbook ${playbookId} is not installed`);
    if (when !== null) {
      let lists: readonly string[];
      try {
        lists = parseTriggerCondition(when).lists;
      } catch (err) {
        if (!(err instanceof TriggerConditionError)) throw err;
        throw new ApiError(400, 'invalid_trigger', err.message, [{
          path: 'when', code: 'invalid_trigger', message: err.problem,
          ...(err.position !== null ? { subject: { position: err.position } } : {}),
        }]);
      }
      const known = new Set((await store.listLists()).map((l) => l.name));
      const missing = [...new Set(lists)].filter((l) => !known.has(l));
      if (missing.length > 0) {
        throw new ApiError(400, 'unknown_list', `the trigger condition names custom lists that do not exist: ${
          missing.map((l) => `"${l}"`).join(', ')} (create them first: riposte lists create <name>)`);
      }
    }
    const settings = await store.setPlaybookTrigger(playbookId, when, causeOf(principalOf(request)));
    return { playbookId, trigger: effectiveTrigger(playbook.config.triggers.when, settings.triggerWhen) };
  });
}
