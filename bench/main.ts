/**
 * `npm run bench`: the benchmark of the founding scenario against the targets in PRODUCT.md.
 * Three kinds of processes share the machine: the lab simulators (lab-process.ts), Riposte
 * (`riposte serve`, durable as shipped) or the non-durable baseline script, and this process, the
 * load generator. Loopback only; every process started is stopped by PID, also on failure or ^C.
 * Sizes: see config.ts (BENCH_QUICK=1 for a quick run). Results: bench/results/<timestamp>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchConfig, type BenchConfig } from './config.js';
import { startLabProcess, type LabProcess } from './lab-client.js';
import { RiposteProcess, provisionDataDir } from './riposte-process.js';
import { killAllChildren } from './procs.js';
import { formatTable, rows, type PhaseResults } from './report.js';
import { machineInfo } from './machine.js';
import { runPhases } from './phases.js';
import { inRoot } from './paths.js';

export interface BenchRun {
  cfg: BenchConfig;
  tmp: string;
  lab: LabProcess;
  srv: RiposteProcess;
  results: PhaseResults;
  extra: Record<string, unknown>;
  log(m: string): void;
}

export async function runBench(cfg: BenchConfig, opts: { log?: (m: string) => void; writeResults?: boolean } = {}): Promise<{ results: PhaseResults; extra: Record<string, unknown>; table: string; file?: string }> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const tmp = mkdtempSync(join(tmpdir(), 'riposte-bench-'));
  let lab: LabProcess | undefined;
  let srv: RiposteProcess | undefined;
  const startedAt = new Date().toISOString();
  try {
    log(`lab simulators: ${cfg.users} users …`);
    lab = await startLabProcess(cfg.users);
    srv = new RiposteProcess(join(tmp, 'data'));
    await provisionDataDir(srv.dataDir, lab.endpoints);
    const run: BenchRun = { cfg, tmp, lab, srv, results: {}, extra: {}, log };
    await runPhases(run);
    const table = formatTable(rows(run.results));
    let file: string | undefined;
    if (opts.writeResults !== false) {
      mkdirSync(inRoot('bench/results'), { recursive: true });
      file = join(inRoot('bench/results'), `${startedAt.replace(/[:.]/g, '-')}.json`);
      const cfgOut = { ...cfg, phases: [...cfg.phases] };
      writeFileSync(file, `${JSON.stringify({ startedAt, finishedAt: new Date().toISOString(), machine: machineInfo(), config: cfgOut, results: run.results, ...run.extra, table: rows(run.results) }, null, 2)}\n`);
    }
    return { results: run.results, extra: run.extra, table, file };
  } finally {
    await srv?.stop().catch(() => {});
    await lab?.stop().catch(() => {});
    killAllChildren();
    if (!cfg.keep) rmSync(tmp, { recursive: true, force: true });
    else log(`data kept in ${tmp}`);
  }
}

// Run as a program (not when imported by the smoke test).
if (import.meta.url === `file://${process.argv[1]}`) {
  const cfg = benchConfig();
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`${sig}: stopping the benchmark's processes\n`);
      killAllChildren();
      process.exit(130);
    });
  }
  const m = machineInfo();
  process.stderr.write(`Riposte benchmark${cfg.quick ? ' (quick)' : ''} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, node ${m.node}\n`);
  runBench(cfg).then(({ table, file }) => {
    process.stdout.write(`\n${table}\n\n${file ? `results: ${file}\n` : ''}`);
  }, (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
