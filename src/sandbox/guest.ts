/**
 * The sandbox side of a playbook. Bundled with the playbook's code and evaluated, once per
 * execution, in a V8 isolate (isolated-vm) whose intrinsics are frozen (SES lockdown), where
 * nothing of Node exists: no `process`, `require`, file system, network or timers. Evaluating the
 * bundle yields this module's guest; the host starts it with a host function `host(op, json)` —
 * plain JSON in, plain JSON out — so nothing of the server's realm ever reaches this one (no host
 * object, error or promise whose `constructor` could lead back). The playbook's `ctx` turns each
 * method into one synchronous call of it; an effect's call returns a promise id, which the host
 * settles later through `settle` (one call into the isolate per outcome, in the engine's order).
 *
 * Nothing here is a security boundary: the isolate and the frozen realm are. Playbook code can
 * tamper with this module; it then only has what `ctx` gives anyway, and can only lie to itself —
 * the host validates every call, and the journal is the host's.
 */
import type { IncidentView, PlaybookContext, PlaybookDefinition, PromptSpec, RelatedQuery } from '../sdk/playbook.js';
import { ActionFailedError, type ErrorRecord } from '../sdk/errors.js';

type HostFunction = (op: string, json: string) => string;

/** What the host calls in the isolate: the value the bundle evaluates to. */
export interface Guest {
  describe(): string;
  start(host: HostFunction, runId: string, incidentJson: string, argsJson: string, roleActionsJson: string): void;
  settle(id: number, ok: boolean, json: string): void;
}

/** A failure of the playbook, as it crosses to the host. */
export type GuestError = { kind: 'action'; action: string; record: ErrorRecord } | { kind: 'error'; name: string; message: string };

export function makeGuest(definition: PlaybookDefinition): Guest {
  let host: HostFunction = () => JSON.stringify({ ok: false, error: 'the run has not started' });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  const call = (op: string, payload: unknown): unknown => {
    const answer = JSON.parse(host(op, JSON.stringify(payload === undefined ? null : payload))) as
      { ok: true; value: unknown } | { ok: false; error: string };
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  };
  const effect = <T>(op: string, payload: unknown): Promise<T> => {
    const id = call(op, payload) as number;
    return new Promise<T>((resolve, reject) => pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  };
  const errorOf = (err: unknown): GuestError =>
    err instanceof ActionFailedError
      ? { kind: 'action', action: err.action, record: err.record }
      : { kind: 'error', name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) };

  const guest: Guest = {
    describe: () => {
      const { id, version, description, triggers, automation, minutesSaved, roles } = definition;
      return JSON.stringify({ id, version, description, triggers, automation, minutesSaved, roles });
    },
    start: (hostFunction, runId, incidentJson, argsJson, roleActionsJson) => {
      host = hostFunction;
      const incident = JSON.parse(incidentJson) as IncidentView;
      const args = JSON.parse(argsJson) as unknown;
      const roleActions = JSON.parse(roleActionsJson) as Record<string, string[]>;
      const roles: Record<string, unknown> = {};
      for (const [role, actions] of Object.entries(roleActions)) {
        const client: Record<string, (input: unknown) => Promise<unknown>> = {};
        for (const action of actions) client[action] = (input) => effect('act', { role, action, input });
        roles[role] = Object.freeze(client);
      }
      const ctx: PlaybookContext = {
        runId,
        incident,
        roles: Object.freeze(roles) as PlaybookContext['roles'],
        asset: (app, assetName) =>
          new Proxy({}, {
            // `then` is not an action: without this guard `await ctx.asset(...)` would call one.
            get: (_t, action) => (typeof action === 'string' && action !== 'then'
              ? (input: unknown) => effect('act', { asset: assetName, appId: app.id, action, input })
              : undefined),
          }) as never,
        lists: { contains: (list, value) => effect('list', { list, value }) },
        related: (q: RelatedQuery) => effect('related', q),
        note: (text) => effect('note', { text }),
        setStatus: (status) => effect('status', { status }),
        setSeverity: (severity) => effect('severity', { severity }),
        sleep: (ms) => effect('sleep', { ms }),
        prompt: (spec: PromptSpec) => effect('prompt', spec) as never,
        playbook: (id, input) => {
          // A call the host refuses (bad id or input) rejects like a failed step, in process alike.
          try {
            return effect('playbook', { id, input });
          } catch (err) {
            return Promise.reject(err);
          }
        },
        now: () => new Date(call('now', null) as number),
        random: () => call('random', null) as number,
        patched: (id) => call('patched', { id }) as boolean,
        deprecatePatch: (id) => void call('deprecatePatch', { id }),
      };
      let p: Promise<unknown>;
      try {
        p = Promise.resolve(definition.run(Object.freeze(ctx), incident, args === null ? undefined : args));
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (output) => call('done', { ok: true, output: output === undefined ? null : output }),
        (err: unknown) => call('done', { ok: false, error: errorOf(err) }),
      );
    },
    settle: (id, ok, json) => {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      const value = JSON.parse(json) as unknown;
      if (ok) p.resolve(value);
      else {
        const f = value as { action: string; record: ErrorRecord };
        p.reject(new ActionFailedError(f.action, f.record));
      }
    },
  };
  return guest;
}
