/**
 * Loads the lab (`lab/` beside `src/`, the demo's vendor simulators) for `riposte serve --lab`.
 * The lab is not part of the published package, so the product never imports it statically: this
 * module imports it by URL at run time, and where it is absent (an installed package) or cannot
 * load, it fails with a `LabUnavailableError` whose one-line message names what is missing.
 * Loading starts and changes nothing: it only evaluates the lab's modules.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Store } from '../store/store.js';

/** A started lab, as the server sees it: what to print at start and how to stop it. */
export interface RunningLab {
  /** Every simulator with the URL it listens on, for the start banner. */
  readonly simulators: ReadonlyArray<{ readonly name: string; readonly url: string }>;
  stop(): Promise<void>;
}

/** What `lab/index.ts` provides to the server (it declares `satisfies LabModule`). */
export interface LabModule {
  /**
   * Starts the simulators on consecutive ports from `firstPort` (0 = random) and points the demo
   * at them in `store`: assets, role bindings, access list and the founding Splunk mapping.
   */
  startDemoLab(store: Store, opts: { firstPort: number }): Promise<RunningLab>;
}

export class LabUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabUnavailableError';
  }
}

/** dist/src/server/lab-loader.js → dist/lab/index.js (the same layout from the sources). */
export const LAB_MODULE_URL = new URL('../../lab/index.js', import.meta.url);

function isLabModule(m: unknown): m is LabModule {
  return typeof m === 'object' && m !== null && typeof (m as { startDemoLab?: unknown }).startDemoLab === 'function';
}

/** Imports the lab module at `url` (a parameter so tests can point it elsewhere). */
export async function loadLab(url: URL = LAB_MODULE_URL): Promise<LabModule> {
  const path = url.protocol === 'file:' ? fileURLToPath(url) : url.href;
  if (!existsSync(path)) {
    throw new LabUnavailableError('--lab needs the lab simulators, which this installation does not include ' +
      `(${path} is missing): run \`riposte serve --lab\` from a clone of the Riposte repository after \`npm ci\`, ` +
      'or serve without --lab');
  }
  let mod: unknown;
  try {
    mod = await import(url.href);
  } catch (err) {
    // Typically a devDependency of the lab that is not installed (`npm ci --omit=dev`).
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new LabUnavailableError(`the lab simulators at ${path} cannot be loaded: ${why} ` +
      '(run `npm ci` in the clone)');
  }
  if (!isLabModule(mod)) {
    throw new LabUnavailableError(`${path} is not a Riposte lab: it exports no startDemoLab function`);
  }
  return mod;
}
