/**
 * Sizes and switches of the benchmark, from environment variables. Every count is bounded: a full
 * run takes a few minutes on the 2-core development machine, BENCH_QUICK=1 well under one.
 */
export interface BenchConfig {
  quick: boolean;
  /** Users (each with one phone) seeded into the Graph simulator; each gets one first-offence alert. */
  users: number;
  /** Measured repeat-offender runs at concurrency 1, and at concurrency `concurrency`. */
  c1Runs: number;
  cRuns: number;
  concurrency: number;
  /** Alerts sent to the minimal non-durable script at `concurrency`. */
  baselineRuns: number;
  /** Ingestion-only alerts and the number in flight. */
  ingestAlerts: number;
  ingestConcurrency: number;
  /** Runs parked on approvals for the memory measurement, and how long the server then idles. */
  parked: number;
  parkedIdleMs: number;
  /** Incidents written straight into the database for the list/search measurement. */
  incidents: number;
  /** Old finished runs (with journal and action results) written for the pruning measurement. */
  pruneRuns: number;
  /** Requests per kind of list/search query. */
  listRequests: number;
  /** Ingest-only alerts per second sent while pruning (and for as long without, as reference). */
  pruneRate: number;
  pruneWithoutMs: number;
  /** `node --cpu-prof` on a separate pass of the concurrent founding phase. */
  profile: boolean;
  /** Log level of the Riposte server (default: as shipped). */
  logLevel: string | undefined;
  /** Phases to run (all by default). */
  phases: Set<Phase>;
  /** Keep the temporary data directory (for inspection). */
  keep: boolean;
}

export const PHASES = ['founding', 'baseline', 'ingest', 'parked', 'million', 'prune'] as const;
export type Phase = (typeof PHASES)[number];

function num(env: NodeJS.ProcessEnv, name: string, full: number, quick: number, isQuick: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return isQuick ? quick : full;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function benchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1';
  const phases = new Set<Phase>();
  for (const p of (env.BENCH_PHASES ?? PHASES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(PHASES as readonly string[]).includes(p)) throw new Error(`BENCH_PHASES: unknown phase "${p}" (known: ${PHASES.join(', ')})`);
    phases.add(p as Phase);
  }
  // The list/search and pruning phases reuse the data of the founding phase; pruning needs the fill.
  if (phases.has('prune')) phases.add('million');
  return {
    quick,
    users: Math.max(1, num(env, 'BENCH_USERS', 2000, 100, quick)),
    c1Runs: num(env, 'BENCH_C1_RUNS', 300, 30, quick),
    cRuns: num(env, 'BENCH_RUNS', 5000, 200, quick),
    concurrency: Math.max(1, num(env, 'BENCH_CONCURRENCY', 32, 32, quick)),
    baselineRuns: num(env, 'BENCH_BASELINE_RUNS', 5000, 200, quick),
    ingestAlerts: num(env, 'BENCH_INGEST', 30_000, 2000, quick),
    ingestConcurrency: Math.max(1, num(env, 'BENCH_INGEST_CONCURRENCY', 64, 32, quick)),
    parked: num(env, 'BENCH_PARKED', 10_000, 200, quick),
    parkedIdleMs: num(env, 'BENCH_PARKED_IDLE_MS', 60_000, 5000, quick),
    incidents: num(env, 'BENCH_INCIDENTS', 1_000_000, 20_000, quick),
    pruneRuns: num(env, 'BENCH_PRUNE_RUNS', 100_000, 2000, quick),
    listRequests: Math.max(1, num(env, 'BENCH_LIST_REQUESTS', 300, 30, quick)),
    pruneRate: Math.max(1, num(env, 'BENCH_PRUNE_RATE', 500, 200, quick)),
    pruneWithoutMs: Math.max(500, num(env, 'BENCH_PRUNE_WITHOUT_MS', 10_000, 3000, quick)),
    profile: env.BENCH_PROFILE === '1',
    logLevel: env.BENCH_LOG_LEVEL || undefined,
    phases,
    keep: env.BENCH_KEEP === '1',
  };
}
