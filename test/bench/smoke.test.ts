/**
 * The benchmark, shrunk to a few hundred runs, so the harness cannot rot: the same code as
 * `npm run bench` (lab process, `riposte serve` child, baseline script, every phase), asserting
 * that it completes and that its numbers are sane — never a threshold (timing belongs to the
 * benchmark, not to the test suite).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchConfig } from '../../bench/config.js';
import { runBench } from '../../bench/main.js';

const finite = (x: number, what: string) => assert.ok(Number.isFinite(x) && x > 0, `${what} should be a positive number, got ${x}`);

test('benchmark smoke run: every phase completes with sane numbers', { timeout: 180_000 }, async () => {
  const cfg = benchConfig({
    BENCH_QUICK: '1', BENCH_USERS: '20', BENCH_C1_RUNS: '10', BENCH_RUNS: '60', BENCH_BASELINE_RUNS: '60',
    BENCH_INGEST: '300', BENCH_INGEST_CONCURRENCY: '16', BENCH_PARKED: '30', BENCH_PARKED_IDLE_MS: '1000', BENCH_INCIDENTS: '5000', BENCH_PRUNE_RUNS: '500',
    BENCH_LIST_REQUESTS: '5', BENCH_PRUNE_RATE: '100', BENCH_PRUNE_WITHOUT_MS: '1000',
  });
  const { results: r, table } = await runBench(cfg, { log: () => {}, writeResults: false });

  assert.ok(r.c1 && r.cN && r.baseline && r.ingest && r.parked && r.million && r.prune, 'all phases ran');
  for (const f of [r.c1, r.cN]) {
    assert.equal(f.completed, f.runs, `c=${f.concurrency}: every run completed (${JSON.stringify(f.notCompleted)})`);
    assert.equal(f.fullPath, f.runs, `c=${f.concurrency}: every run made the five connector calls`);
    assert.equal(f.latencyMs.n, f.runs);
    finite(f.runsPerSec, 'runs/s');
    finite(f.latencyMs.p50, 'p50');
    assert.ok(f.latencyMs.p50 <= f.latencyMs.p99, 'p50 <= p99');
    finite(f.serverCpuMsPerRun, 'server CPU per run');
    finite(f.peakRssMb, 'peak RSS');
  }
  assert.equal(r.baseline.failed, 0, r.baseline.lastError);
  assert.ok(r.baseline.done >= r.baseline.runs, 'the baseline script completed every alert');
  finite(r.baseline.runsPerSec, 'baseline runs/s');
  finite(r.ingest.perSec, 'ingestion rate');
  assert.equal(r.ingest.ackLatencyMs.n, 300);
  assert.equal(r.parked.waiting, 30, `every run parked (${JSON.stringify(r.parked.otherStatuses)})`);
  assert.ok(r.parked.pendingApprovals >= 30, 'parked runs wait on approvals');
  assert.equal(r.million.queries.find((q) => q.name.startsWith('list: first page'))!.lastCount, 50);
  assert.equal(r.million.queries.find((q) => q.name === 'search: no match')!.lastCount, 0);
  assert.ok(r.million.queries.find((q) => q.name === 'search: unique alert id')!.lastCount >= 1, 'a unique alert id is found');
  assert.equal(r.prune.pruned.runs, 500, 'the old runs were pruned');
  assert.ok(r.prune.during.n > 0 && r.prune.without.n > 0);
  assert.match(table, /completed runs\/s at c=32/);
});
