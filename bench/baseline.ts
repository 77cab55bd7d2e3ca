/** Drives the non-durable baseline script (baseline-server.ts) with the same closed-loop load. */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LabEndpoints } from '../lab/index.js';
import type { TicketBoard } from './lab-client.js';
import { keepAliveAgent, pool, request } from './http.js';
import { splunkAlert } from './seed.js';
import { CpuMeter, RssSampler, spawnTracked, stopChild, type CpuWindow } from './procs.js';
import { distribution, monoMs, round, type Distribution } from './stats.js';
import { roundCpu } from './founding.js';
import { inRoot } from './paths.js';

export interface BaselineResult {
  concurrency: number;
  runs: number;
  done: number;
  failed: number;
  lastError: string;
  runsPerSec: number;
  latencyMs: Distribution;
  cpuMsPerRun: number;
  cpu: CpuWindow;
  peakRssMb: number;
}

export async function startBaseline(lab: LabEndpoints): Promise<{ child: ChildProcess; url: string }> {
  let stderr = '';
  const child = spawnTracked(process.execPath, [inRoot('dist/bench/baseline-server.js'), JSON.stringify(lab)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`baseline script exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

export async function measureBaseline(lab: LabEndpoints, board: TicketBoard, o: {
  runs: number; concurrency: number; users: number; extraPids: Record<string, number>;
}): Promise<BaselineResult> {
  const { child, url } = await startBaseline(lab);
  try {
    const agent = keepAliveAgent(o.concurrency);
    const send = async (i: number): Promise<number> => {
      const sent = monoMs();
      const res = await request(agent, 'POST', `${url}/alert`, splunkAlert(i % o.users, 'baseline'));
      if (res.status !== 201) throw new Error(`baseline refused the alert: HTTP ${res.status}`);
      const n = (JSON.parse(res.body) as { incidentId: number }).incidentId;
      return (await board.wait(`riposte-baseline-${n}`, 60_000)) - sent;
    };
    // Warm-up: token, PAN-OS key, connections, JIT.
    await pool(Math.min(200, o.runs), o.concurrency, async (i) => { await send(i); });
    const latencies: number[] = [];
    const rss = new RssSampler(child.pid!);
    const cpu = new CpuMeter({ baseline: child.pid!, bench: process.pid, ...o.extraPids });
    const t0 = monoMs();
    let last = t0;
    await pool(o.runs, o.concurrency, async (k) => {
      const ms = await send(k);
      latencies.push(ms);
      last = Math.max(last, monoMs());
    });
    const cpuWindow = cpu.stop();
    const stats = JSON.parse((await request(agent, 'GET', `${url}/stats`)).body) as { done: number; failed: number; lastError: string };
    agent.destroy();
    return {
      concurrency: o.concurrency, runs: o.runs, done: stats.done, failed: stats.failed, lastError: stats.lastError,
      runsPerSec: round((o.runs / (last - t0)) * 1000, 1), latencyMs: distribution(latencies),
      cpuMsPerRun: round((cpuWindow.procMs.baseline ?? NaN) / o.runs, 3), cpu: roundCpu(cpuWindow), peakRssMb: round(rss.stop(), 1),
    };
  } finally {
    await stopChild(child);
    board.clear();
  }
}
