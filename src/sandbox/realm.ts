/**
 * A realm for playbook code: a V8 isolate (isolated-vm: its own heap with a limit, no Node) with
 * one context whose intrinsics and global object are frozen by SES `lockdown()` + `harden()`.
 * Executions of playbooks share a realm. Each gets a fresh module instance of its playbook's
 * bundle, and since nothing of the realm can be changed — no global can be added, no prototype
 * patched — no execution can see or affect another's. (A new V8 context per execution would cost
 * ~0.7 ms and, in a long-lived isolate, detached contexts outlive their use.)
 *
 * The realm's runtime (RUNTIME below, trusted code evaluated right after lockdown, before any
 * playbook code) keeps each bundle's factory and each execution's guest and call queue, out of
 * playbook code's reach. Why a factory: a bundle evaluated as a new script each time would create
 * all its functions at fresh sites, so V8 would run every execution's code cold (no inline caches,
 * never optimized); the factory creates them at the same sites each time, so they share V8's
 * feedback and optimized code while each execution still gets fresh module state.
 *
 * SES is the well-kept library for exactly this (Agoric/Endo's hardened JavaScript); isolated-vm
 * isolates on Node 20 carry a non-standard property on `Math` that lockdown refuses unless Node
 * runs with `--no-node-snapshot`, which isolated-vm requires on Node 20 anyway (see `checkNodeFlags`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ivm from 'isolated-vm';

const require = createRequire(import.meta.url);
let lockdownCode: string | undefined;

/** SES's lockdown, then the realm's global object frozen too. */
function lockdownScript(): string {
  // The package exports no path to its script build; it sits beside its CommonJS entry (dist/).
  const umd = join(dirname(require.resolve('ses')), 'lockdown.umd.min.js');
  lockdownCode ??= `${readFileSync(umd, 'utf8')}
;lockdown({ errorTaming: 'unsafe', overrideTaming: 'moderate', consoleTaming: 'unsafe', evalTaming: 'safeEval', stackFiltering: 'verbose' });
harden(globalThis);`;
  return lockdownCode;
}

/** Longest JSON text one call of `ctx` may carry. */
export const MAX_CALL_BYTES = 1024 * 1024;
/** JSON text the playbook may queue for the host in one turn (between two waits), in all. */
export const MAX_TURN_BYTES = 16 * 1024 * 1024;
/**
 * Calls of `ctx` one turn may make: the host makes a turn's calls in one go, on its event loop
 * (~50 µs each), so a turn is bounded like an entry into the isolate is. More is possible across
 * turns (await between batches).
 */
export const MAX_TURN_CALLS = 1000;

/**
 * The realm's runtime. Queues are arrays the runtime alone creates and fills (with primitives):
 * the host copies one out after each entry, once the isolate's microtasks have drained — so a
 * copy never runs playbook code (an accessor), and holds every call made in that turn.
 */
const RUNTIME = `(function (host) {
  "use strict";
  const factories = new Map();
  const executions = new Map();
  const MAX_CALL = ${MAX_CALL_BYTES}, MAX_TURN = ${MAX_TURN_BYTES}, MAX_CALLS = ${MAX_TURN_CALLS};
  // What a thrown value says, read here — where the entry's timeout still holds — as a string:
  // a value that crossed to the host as an exception would have its accessors run there, unbounded.
  const reason = (e) => {
    try {
      const text = e instanceof Error ? e.message : String(e);
      return typeof text === 'string' ? text.slice(0, 4000) : 'the playbook threw';
    } catch (_) {
      return 'the playbook threw a value that cannot be read';
    }
  };
  const guarded = (x, fn) => {
    try {
      fn();
    } catch (e) {
      x.queue.push(0, 'fault', reason(e));
    }
    return x.queue;
  };
  const portOf = (x) => harden({
    emit(op, json) {
      if (typeof op !== 'string' || typeof json !== 'string') throw new TypeError('malformed call');
      if (x.done) throw new Error('the run has already ended');
      if (json.length > MAX_CALL) throw new Error('a call to ctx carries at most ' + MAX_CALL + ' bytes of JSON');
      if (x.bytes + json.length + 16 > MAX_TURN) throw new Error('the playbook handed more than ' + MAX_TURN + ' bytes of JSON to ctx without waiting once');
      if (x.calls >= MAX_CALLS && op !== 'done') throw new Error('the playbook made more than ' + MAX_CALLS + ' calls to ctx without waiting once');
      if (op === 'done') x.done = true;
      x.bytes += json.length + 16;
      x.calls++;
      const id = op === 'done' ? 0 : x.nextId++;
      x.queue.push(id, op, json);
      return id;
    },
    call(op, json) {
      if (typeof op !== 'string' || typeof json !== 'string') throw new TypeError('malformed call');
      if (json.length > MAX_CALL) throw new Error('a call to ctx carries at most ' + MAX_CALL + ' bytes of JSON');
      // Emptied in place: the array the entry returns is this one, read after the turn.
      const queued = x.queue.splice(0, x.queue.length);
      return host(x.id, op, json, JSON.stringify(queued));
    },
  });
  const turn = (x) => { x.queue = []; x.bytes = 0; x.calls = 0; return x; };
  return harden({
    register(hash, factory) { factories.set(hash, factory); },
    start(hash, id, runId, incidentJson, argsJson, rolesJson) {
      const factory = factories.get(hash);
      const x = turn({ id, guest: null, queue: [], bytes: 0, calls: 0, nextId: 1, done: false });
      executions.set(id, x);
      return guarded(x, () => {
        x.guest = factory();
        x.guest.start(portOf(x), runId, incidentJson, argsJson, rolesJson);
      });
    },
    settle(id, stepId, kind, json) {
      const x = executions.get(id);
      if (x === undefined) return [];
      return guarded(turn(x), () => x.guest.settle(stepId, kind, json));
    },
    // Runs what a stopped entry left in the microtask queue, under a timeout of its own.
    drain() {},
    // A bundle's declared configuration, for loading it: its text, or why it could not be read.
    describe(factory) {
      try {
        const text = factory().describe();
        return typeof text === 'string' ? 'ok:' + text : 'error:describe() did not return text';
      } catch (e) {
        return 'error:' + reason(e);
      }
    },
    drop(id) { executions.delete(id); },
  });
})`;

type Queue = unknown[];
/** Answers an execution's synchronous call: (op, JSON payload, JSON of the calls queued before it). */
export type SyncHandler = (op: unknown, json: unknown, queued: unknown) => string;
const UNKNOWN_EXECUTION = JSON.stringify({ ok: false, error: 'the execution is over' });
const COPY = { result: { copy: true } } as const;

export class SandboxSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxSetupError';
  }
}

/** Playbook code needs `node --no-node-snapshot` (isolated-vm's requirement on Node 20). */
export function checkNodeFlags(): void {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  if (!flags.includes('--no-node-snapshot')) {
    throw new SandboxSetupError('the playbook sandbox needs Node.js started with --no-node-snapshot '
      + '(bin/riposte.js and npm start pass it; elsewhere run `node --no-node-snapshot …` or set NODE_OPTIONS=--no-node-snapshot)');
  }
}

export class Realm {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  /** The runtime's entry points (see RUNTIME). */
  private readonly runtime: {
    register: ivm.Reference<(hash: string, factory: unknown) => void>;
    start: ivm.Reference<(...a: unknown[]) => Queue>;
    settle: ivm.Reference<(id: number, stepId: number, kind: number, json: string) => Queue>;
    drop: ivm.Reference<(id: number) => void>;
    drain: ivm.Reference<() => void>;
    describe: ivm.Reference<(factory: unknown) => string>;
  };
  /** Bundles whose factory the runtime holds. */
  private readonly registered = new Set<string>();
  /**
   * Synchronous calls by execution: the realm has one host function, and the runtime (not
   * playbook code) names the execution calling it.
   */
  private readonly handlers = new Map<number, SyncHandler>();
  /** Executions running in this realm now. */
  active = 0;
  /** The isolate died (memory limit): every execution in it is interrupted. */
  lost = false;

  constructor(memoryLimitMb: number, readonly dedicated: boolean) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
    try {
      this.context = this.isolate.createContextSync();
      this.isolate.compileScriptSync(lockdownScript(), { filename: 'ses-lockdown.js' }).runSync(this.context);
      const init = this.isolate.compileScriptSync(RUNTIME, { filename: 'riposte-runtime.js' }).runSync(this.context, { reference: true }) as ivm.Reference<(host: ivm.Callback) => unknown>;
      const host = new ivm.Callback((execution: unknown, op: unknown, json: unknown, queued: unknown) =>
        (typeof execution === 'number' ? this.handlers.get(execution) : undefined)?.(op, json, queued) ?? UNKNOWN_EXECUTION);
      const api = init.applySync(undefined, [host], { result: { reference: true } }) as unknown as ivm.Reference<Record<string, unknown>>;
      init.release();
      const fn = <T>(name: string) => api.getSync(name, { reference: true }) as ivm.Reference<T>;
      this.runtime = { register: fn('register'), start: fn('start'), settle: fn('settle'), drop: fn('drop'), drain: fn('drain'), describe: fn('describe') };
      api.release();
    } catch (err) {
      this.isolate.dispose();
      throw new SandboxSetupError(`the playbook sandbox could not be set up: ${(err as Error).message}`);
    }
  }

  /** The bundle as a factory of fresh module instances (it is one expression whose value is the guest). */
  private factoryScript(bundle: { hash: string; code: string }): string {
    return `(function () {\nreturn (${bundle.code});\n})`;
  }

  /** The bundle's factory in this realm (creating it runs none of the bundle's code). */
  private factory(bundle: { hash: string; code: string }, timeoutMs: number): ivm.Reference<() => unknown> {
    const script = this.isolate.compileScriptSync(this.factoryScript(bundle), { filename: `playbook-${bundle.hash}.js` });
    return script.runSync(this.context, { reference: true, timeout: timeoutMs }) as ivm.Reference<() => unknown>;
  }

  /** What the bundle declares (`describe`): `ok:<json>` or `error:<why>` — read inside the isolate. */
  describe(bundle: { hash: string; code: string }, timeoutMs: number): string {
    const factory = this.factory(bundle, timeoutMs);
    try {
      return this.runtime.describe.applySync(undefined, [factory.derefInto()], { timeout: timeoutMs }) as unknown as string;
    } finally {
      factory.release();
    }
  }

  /** `describe` without holding the event loop (isolated-vm's threads run the code). */
  async describeAsync(bundle: { hash: string; code: string }, timeoutMs: number): Promise<string> {
    const script = await this.isolate.compileScript(this.factoryScript(bundle), { filename: `playbook-${bundle.hash}.js` });
    const factory = (await script.run(this.context, { reference: true, timeout: timeoutMs })) as ivm.Reference<() => unknown>;
    return (await this.runtime.describe.apply(undefined, [factory.derefInto()], { timeout: timeoutMs })) as unknown as string;
  }

  /**
   * Starts an execution of a bundle (a fresh module instance from the bundle's factory): the
   * calls its first turn queued. `onCall` answers its synchronous calls.
   */
  start(bundle: { hash: string; code: string }, execution: number, onCall: SyncHandler, args: string[], timeoutMs: number): Queue {
    this.handlers.set(execution, onCall);
    if (!this.registered.has(bundle.hash)) {
      const factory = this.factory(bundle, timeoutMs);
      try {
        this.runtime.register.applySync(undefined, [bundle.hash, factory.derefInto()], { timeout: timeoutMs });
      } finally {
        factory.release();
      }
      this.registered.add(bundle.hash);
    }
    return this.runtime.start.applySync(undefined, [bundle.hash, execution, ...args], { ...COPY, timeout: timeoutMs });
  }

  /**
   * After an entry was stopped (timeout), what it had queued as microtasks would run at the
   * isolate's next use — another execution's entry, or a compilation with no timeout. Running
   * them now, under a timeout, empties the queue (a stop during microtasks discards the rest).
   * False when even that had to be stopped.
   */
  drain(timeoutMs: number): boolean {
    try {
      this.runtime.drain.applySync(undefined, [], { timeout: timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /** Hands a step's outcome to an execution: the calls its turn queued. */
  settle(execution: number, stepId: number, kind: number, json: string, timeoutMs: number): Queue {
    return this.runtime.settle.applySync(undefined, [execution, stepId, kind, json], { ...COPY, timeout: timeoutMs });
  }

  /** Forgets an execution's guest (it finished or parked). A dedicated realm is disposed instead. */
  drop(execution: number): void {
    this.handlers.delete(execution);
    if (this.usable && !this.dedicated) this.runtime.drop.applySync(undefined, [execution], { timeout: 50 });
  }

  get usable(): boolean {
    return !this.lost && !this.isolate.isDisposed;
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
