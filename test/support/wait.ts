/** Waiting helpers shared by the tests, and a seeded PRNG for reproducible random cases. */
import type { RunRecord } from '../../src/store/records.js';
import type { Store } from '../../src/store/store.js';

/** Polls `fn` until it returns something truthy; fails naming `what` after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** The run once it is in one of `states` (default: anything but queued and running). */
export async function runIn(
  store: Pick<Store, 'getRun'>,
  runId: string,
  states?: readonly string[],
  ms = 10_000,
): Promise<RunRecord> {
  return until(
    `run ${runId} to settle`,
    async () => {
      const run = await store.getRun(runId);
      if (!run) return undefined;
      return (states ? states.includes(run.status) : run.status !== 'queued' && run.status !== 'running')
        ? run
        : undefined;
    },
    ms,
  );
}

/** mulberry32: a small deterministic PRNG, so a failure names a reproducible seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
