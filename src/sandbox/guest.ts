/**
 * The sandbox side of a playbook. Bundled with the playbook's code; the realm's runtime (realm.ts)
 * calls the bundle's factory once per execution, so each execution gets a fresh module instance,
 * in a V8 isolate (isolated-vm) whose intrinsics are frozen (SES lockdown) and where nothing of
 * Node exists: no `process`, `require`, file system, network or timers.
 *
 * The guest talks to the host only through the `port` the runtime hands it — plain strings, never
 * a host object, error or promise whose `constructor` could lead back to the server's realm:
 *   - an effect (`ctx.note`, an action …) is *queued* with `port.emit`, which returns its id; the
 *     host reads the queue once the entry into the isolate is over (all microtasks drained) and
 *     calls `ctx` in the queued order, so a turn of the playbook costs one crossing, not one per call;
 *   - its outcome comes back through `settle` (one entry per outcome, in the engine's order);
 *   - a value needed at once (`ctx.now`, `random`, `patched`, `deprecatePatch`) is a synchronous
 *     `port.call`, which hands the host the queue first, so the host sees every call in order.
 *
 * Nothing here is a security boundary: the isolate, the frozen realm and the host's checks are.
 * Playbook code that tampered with this module could only lie to itself — the journal is the host's.
 */
import type { IncidentView, PlaybookContext, PlaybookDefinition, PromptSpec, RelatedQuery } from '../sdk/playbook.js';
import { ActionFailedError, type ErrorRecord } from '../sdk/errors.js';

/** What the realm's runtime gives one execution (realm.ts). */
export interface GuestPort {
  /** Queues a call of `ctx` (payload: JSON text); returns its id. Throws when the call is refused. */
  emit(op: string, json: string): number;
  /** A synchronous call of `ctx` (payload and answer: JSON text); the queue goes first. */
  call(op: string, json: string): string;
}

/** How an outcome is handed into the isolate: the step's value, its failure, or the host's refusal of the call. */
export const OUTCOME = { failed: 0, ok: 1, refused: 2 } as const;

/** What the runtime calls in the isolate: the value the bundle evaluates to. */
export interface Guest {
  describe(): string;
  start(port: GuestPort, runId: string, incidentJson: string, argsJson: string, roleActionsJson: string): void;
  settle(id: number, kind: number, json: string): void;
}

/** A failure of the playbook, as it crosses to the host. */
export type GuestError = { kind: 'action'; action: string; record: ErrorRecord } | { kind: 'error'; name: string; message: string };

export function makeGuest(definition: PlaybookDefinition): Guest {
  let port: GuestPort | null = null;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const json = (payload: unknown) => JSON.stringify(payload === undefined ? null : payload);

  const call = (op: string, payload: unknown): unknown => {
    if (!port) throw new Error('the run has not started');
    const answer = JSON.parse(port.call(op, json(payload))) as { ok: true; value: unknown } | { ok: false; error: string };
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  };
  const effect = <T>(op: string, payload: unknown): Promise<T> => {
    if (!port) return Promise.reject(new Error('the run has not started'));
    const id = port.emit(op, json(payload));
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
    start: (givenPort, runId, incidentJson, argsJson, roleActionsJson) => {
      port = givenPort;
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
        lists: {
          contains: (list, value) => effect('list', { list, value }),
          // Refused arguments (checked by the host) reject the promise, as in process.
          add: (list, value) => effect('list-change', { op: 'add', list, value }),
          remove: (list, value) => effect('list-change', { op: 'remove', list, value }),
        },
        related: (q: RelatedQuery) => effect('related', q),
        note: (text) => effect('note', { text }),
        setStatus: (status) => effect('status', { status }),
        setSeverity: (severity) => effect('severity', { severity }),
        sleep: (ms) => effect('sleep', { ms }),
        prompt: (spec: PromptSpec) => effect('prompt', spec) as never,
        playbook: (id, input) => {
          // A call refused at once (too large) rejects like a failed step, in process alike.
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
      const done = (result: unknown) => {
        try {
          givenPort.emit('done', json(result));
        } catch (err) {
          // The output itself was refused (too large): the run fails, saying why.
          givenPort.emit('done', json({ ok: false, error: errorOf(err) }));
        }
      };
      p.then(
        (output) => done({ ok: true, output: output === undefined ? null : output }),
        (err: unknown) => done({ ok: false, error: errorOf(err) }),
      );
    },
    settle: (id, kind, text) => {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      const value = JSON.parse(text) as unknown;
      if (kind === OUTCOME.ok) p.resolve(value);
      else if (kind === OUTCOME.failed) {
        const f = value as { action: string; record: ErrorRecord };
        p.reject(new ActionFailedError(f.action, f.record));
      } else p.reject(new Error(typeof value === 'string' ? value : 'the call was refused'));
    },
  };
  return guest;
}
