/** The results table: each metric against its target from PRODUCT.md ("Targets"). */
import type { BaselineResult } from './baseline.js';
import type { FoundingResult } from './founding.js';
import type { IngestResult } from './ingest.js';
import type { ParkedResult } from './parked.js';
import type { MillionResult } from './million.js';
import type { PruneResult } from './prune-phase.js';
import os from 'node:os';
import type { CpuWindow } from './procs.js';
import { round } from './stats.js';

export interface PhaseResults {
  c1?: FoundingResult;
  cN?: FoundingResult;
  baseline?: BaselineResult;
  ingest?: IngestResult;
  parked?: ParkedResult;
  million?: MillionResult;
  prune?: PruneResult;
}

export interface Row {
  metric: string;
  measured: string;
  target: string;
  met: boolean | null;
}

const yes = (ok: boolean | null) => (ok === null ? '-' : ok ? 'yes' : 'NO');
const cores = os.cpus().length;

/** Who used the machine's CPU during a window, in % of all cores. */
function share(c: CpuWindow): string {
  const pct = (ms: number | undefined) => `${round(((ms ?? 0) / (c.wallMs * cores)) * 100, 0)}`;
  const p = c.procMs;
  const main = p.server !== undefined ? `server ${pct(p.server)}` : `script ${pct(p.baseline)}`;
  return `${main}, lab ${pct(p.lab)}, load gen ${pct(p.bench)}, other ${pct(c.otherMs)}`;
}

export function rows(r: PhaseResults): Row[] {
  const out: Row[] = [];
  const add = (metric: string, measured: string, target: string, met: boolean | null) => out.push({ metric, measured, target, met });
  if (r.cN) {
    const c = r.cN.concurrency;
    add(`completed runs/s at c=${c}`, `${r.cN.runsPerSec}`, '>= 600', r.cN.runsPerSec >= 600);
    if (r.baseline) {
      const ratio = round((r.cN.runsPerSec / r.baseline.runsPerSec) * 100, 0);
      add(`  vs non-durable script (${r.baseline.runsPerSec} runs/s)`, `${ratio} %`, '>= 70 %', ratio >= 70);
      add(`  script: p99, machine CPU`, `${r.baseline.latencyMs.p99} ms, ${r.baseline.cpu.machinePct} % (${share(r.baseline.cpu)})`, '-', null);
    }
    add(`alert-to-ticket p50 / p90 / p99 at c=${c}`, `${r.cN.latencyMs.p50} / ${r.cN.latencyMs.p90} / ${r.cN.latencyMs.p99} ms`, 'p99 <= 100 ms', r.cN.latencyMs.p99 <= 100);
    add(`server CPU / storage writes per run at c=${c}`, `${r.cN.serverCpuMsPerRun} ms / ${r.cN.serverWriteKbPerRun} KB`, '-', null);
    add(`machine CPU busy at c=${c} (${cores} cores)`, `${r.cN.cpu.machinePct} % (${share(r.cN.cpu)})`, '-', null);
    add(`runs on the full repeat-offender path`, `${r.cN.fullPath} / ${r.cN.runs}`, `= ${r.cN.runs}`, r.cN.fullPath === r.cN.runs);
  } else if (r.baseline) {
    add('non-durable script runs/s', `${r.baseline.runsPerSec}`, '-', null);
  }
  if (r.c1) {
    add('alert-to-ticket p50 / p90 / p99 at c=1', `${r.c1.latencyMs.p50} / ${r.c1.latencyMs.p90} / ${r.c1.latencyMs.p99} ms`, 'p50 <= 10 ms', r.c1.latencyMs.p50 <= 10);
    add('server CPU / storage writes per run at c=1', `${r.c1.serverCpuMsPerRun} ms / ${r.c1.serverWriteKbPerRun} KB`, '-', null);
  }
  if (r.ingest) {
    add(`ingestion alone at c=${r.ingest.concurrency} (durable ack)`, `${r.ingest.perSec} alerts/s`, '>= 10,000/s', r.ingest.perSec >= 10_000);
    add('  server CPU / storage writes per alert', `${r.ingest.serverCpuUsPerAlert} µs / ${r.ingest.serverWriteKbPerAlert} KB (machine ${r.ingest.cpu.machinePct} %: ${share(r.ingest.cpu)})`, '-', null);
  }
  const peaks = [r.cN?.peakRssMb, r.ingest?.peakRssMb].filter((x): x is number => x !== undefined);
  if (peaks.length > 0) {
    const peak = Math.max(...peaks);
    add('server peak RSS under load', `${peak} MB`, '<= 200 MB', peak <= 200);
  }
  if (r.parked) {
    const pk = r.parked;
    const per10k = round((pk.deltaMb * 10_000) / Math.max(1, pk.parked), 1);
    const scaled = pk.parked === 10_000 ? '' : ` (${per10k} MB per 10,000)`;
    add(`RSS added by ${pk.parked} parked runs (after idling)`, `${pk.deltaMb} MB${scaled}`, '<= 50 MB per 10,000', per10k <= 50 && pk.waiting === pk.parked);
    add('  RSS fresh / right after / idle / restarted', `${pk.rssBeforeMb} / ${pk.rssTransientMb} / ${pk.rssHeldMb} / ${pk.rssRestartedMb} MB`, '-', null);
  }
  if (r.million) {
    const n = r.million.incidents.toLocaleString('en-US');
    const list = Math.max(...r.million.queries.filter((q) => q.kind === 'list').map((q) => q.latencyMs.p99));
    const search = Math.max(...r.million.queries.filter((q) => q.kind === 'search').map((q) => q.latencyMs.p99));
    add(`incident list p99 (worst query) at ${n}`, `${list} ms`, '<= 50 ms', list <= 50);
    add(`incident search p99 (worst query) at ${n}`, `${search} ms`, '<= 50 ms', search <= 50);
  }
  if (r.prune) {
    const p = r.prune;
    const ok = p.during.p99 <= 2 * p.without.p99 + 5 && p.during.max < 1000;
    add(`ingest ack p99 / max while pruning ${p.pruned.runs} runs`, `${p.during.p99} / ${p.during.max} ms (without: ${p.without.p99} / ${p.without.max} ms)`,
      'p99 <= 2x without, no ack > 1 s', ok);
  }
  return out;
}

export function formatTable(rs: Row[]): string {
  const head = ['metric', 'measured', 'target', 'met?'];
  const cells = rs.map((r) => [r.metric, r.measured, r.target, yes(r.met)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
