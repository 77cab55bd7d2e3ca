/** The worker thread of typecheck.ts: one check, its diagnostics posted back, then it ends. */
import { parentPort, workerData } from 'node:worker_threads';
import { typeCheckHere } from './typecheck.js';

const { root, entries } = workerData as { root: string; entries: string[] };
typeCheckHere(root, entries).then(
  (diagnostics) => parentPort!.postMessage({ ok: true, diagnostics }),
  (err: unknown) => parentPort!.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
);
