/**
 * A realm for playbook code: a V8 isolate (isolated-vm: its own heap with a limit, no Node) with
 * one context whose intrinsics and global object are frozen by SES `lockdown()` + `harden()`.
 * Executions of playbooks share a realm: each evaluates its playbook's bundle afresh (a new module
 * instance, ~30 µs), and since nothing of the realm can be changed — no global can be added, no
 * prototype patched — no execution can see or affect another's. (A new V8 context per execution
 * would cost ~0.7 ms and, in a long-lived isolate, detached contexts outlive their use.)
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
  /** Compiled bundles by hash: compiled once per realm, evaluated once per execution. */
  private readonly scripts = new Map<string, ivm.Script>();
  /** Executions running in this realm now. */
  active = 0;
  /** The isolate died (memory limit): every execution in it is interrupted. */
  lost = false;

  constructor(memoryLimitMb: number, readonly dedicated: boolean) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
    try {
      this.context = this.isolate.createContextSync();
      this.isolate.compileScriptSync(lockdownScript(), { filename: 'ses-lockdown.js' }).runSync(this.context);
    } catch (err) {
      this.isolate.dispose();
      throw new SandboxSetupError(`the playbook sandbox could not be set up: ${(err as Error).message}`);
    }
  }

  /** Evaluates a bundle in this realm: a reference to its guest (a fresh module instance). */
  evaluate(hash: string, code: string, timeoutMs: number): ivm.Reference<Record<string, unknown>> {
    let s = this.scripts.get(hash);
    if (!s) {
      s = this.isolate.compileScriptSync(code, { filename: `playbook-${hash}.js` });
      this.scripts.set(hash, s);
    }
    return s.runSync(this.context, { reference: true, timeout: timeoutMs }) as ivm.Reference<Record<string, unknown>>;
  }

  get usable(): boolean {
    return !this.lost && !this.isolate.isDisposed;
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
