/**
 * The built-in playbook behind ad-hoc actions (`POST /api/v1/actions`): it runs exactly one action
 * on one asset, so a human's one-off action is journaled, audited and gated like any playbook step.
 * Loaded into the sandbox like every playbook (the server builds this module's file), so it may
 * import nothing but the SDK.
 */
import { definePlaybook, type AppDefinition } from '../sdk/index.js';

export const ADHOC_PLAYBOOK_ID = 'adhoc-action';

interface AdhocArgs {
  app: string;
  asset: string;
  action: string;
  params: Record<string, unknown>;
}

const adhocPlaybook = definePlaybook(
  { id: ADHOC_PLAYBOOK_ID, version: 1, description: 'Runs one action requested by a person', triggers: { labels: [] }, automation: 'supervised', roles: {} },
  async (ctx, _incident, args) => {
    const a = args as AdhocArgs;
    const client = ctx.asset({ id: a.app } as AppDefinition, a.asset) as Record<string, (input: unknown) => Promise<unknown>>;
    return client[a.action]!(a.params);
  },
);

export default adhocPlaybook;
