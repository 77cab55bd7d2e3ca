/**
 * The `ctx` a playbook receives: every method is one journaled effect of the run (see
 * execution.ts). Role clients and asset clients are proxies that turn `ctx.roles.mdm.wipeDevice(x)`
 * into an action step on the asset the role is bound to.
 */
import type { AppDefinition } from '../sdk/app.js';
import { capabilities, type CapabilityName } from '../sdk/capabilities.js';
import type {
  IncidentStatus,
  IncidentView,
  PlaybookContext,
  PlaybookConfig,
  PromptResult,
  PromptSpec,
  RelatedQuery,
  RelatedResult,
  Severity,
} from '../sdk/playbook.js';
import type { ActionTarget } from '../steps/protocol.js';

/** The effects behind `ctx`, implemented by the run's execution. */
export interface RunEffects {
  act(label: string, target: ActionTarget, action: string, input: unknown): Promise<unknown>;
  listContains(list: string, value: string): Promise<boolean>;
  /** Throws (synchronously) on a bad list name or value: see list-call.ts. */
  listChange(op: 'add' | 'remove', list: unknown, value: unknown): Promise<unknown>;
  related(q: RelatedQuery): Promise<RelatedResult>;
  incident(
    kind: 'note' | 'status' | 'severity',
    input: { text: string } | { status: IncidentStatus } | { severity: Severity },
  ): Promise<void>;
  sleep(ms: number): Promise<void>;
  prompt(spec: PromptSpec): Promise<PromptResult<unknown>>;
  /** Throws (synchronously) on bad arguments: see child-call.ts. */
  childPlaybook(id: string, input: unknown): Promise<unknown>;
  value(kind: 'now' | 'random'): number;
  patched(id: string): boolean;
  deprecatePatch(id: string): void;
}

export function buildContext(
  runId: string,
  incident: IncidentView,
  playbook: Pick<PlaybookConfig<Record<string, CapabilityName>>, 'roles'>,
  fx: RunEffects,
): PlaybookContext {
  const roles: Record<string, unknown> = {};
  for (const [role, cap] of Object.entries(playbook.roles)) roles[role] = roleClient(role, cap, fx);
  return {
    runId,
    incident,
    roles: roles as PlaybookContext['roles'],
    asset: <A extends AppDefinition>(app: A, assetName: string) =>
      // `then` is not an action: without this guard `await ctx.asset(...)` would call one.
      new Proxy(
        {},
        {
          get: (_t, action) =>
            typeof action === 'string' && action !== 'then'
              ? (input: unknown) => fx.act(assetName, { asset: assetName, appId: app.id }, action, input)
              : undefined,
        },
      ) as never,
    lists: {
      contains: (list, value) => fx.listContains(list, value),
      add: (list, value) => refusedAsRejection(() => fx.listChange('add', list, value)) as never,
      remove: (list, value) => refusedAsRejection(() => fx.listChange('remove', list, value)) as never,
    },
    related: (q) => fx.related(q),
    note: (text) => fx.incident('note', { text }),
    setStatus: (status) => fx.incident('status', { status }),
    setSeverity: (severity) => fx.incident('severity', { severity }),
    sleep: (ms) => fx.sleep(ms),
    prompt: (spec) => fx.prompt(spec) as never,
    playbook: (id, input) => refusedAsRejection(() => fx.childPlaybook(id, input)),
    now: () => new Date(fx.value('now')),
    random: () => fx.value('random'),
    patched: (id) => fx.patched(id),
    deprecatePatch: (id) => fx.deprecatePatch(id),
  };
}

/** Refused arguments reject like a failed step would, so `.catch()` sees them too. */
function refusedAsRejection<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    return Promise.reject(err);
  }
}

function roleClient(role: string, cap: CapabilityName, fx: RunEffects): unknown {
  const known = capabilities[cap] as Record<string, unknown>;
  return new Proxy(
    {},
    {
      get: (_t, action) => {
        if (typeof action !== 'string' || !Object.hasOwn(known, action)) return undefined;
        return (input: unknown) => fx.act(role, { role, capability: cap }, action, input);
      },
    },
  );
}
