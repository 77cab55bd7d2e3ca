/**
 * The founding scenario end to end, closed loop: each of `concurrency` senders posts a Splunk
 * alert, waits for its ticket to arrive at the Jira simulator, then sends the next. Latency is
 * alert POST → ticket recorded by the simulator (CLOCK_MONOTONIC in both processes). Throughput
 * counts runs the server itself recorded as completed, from the first POST to the last finish.
 *
 * Every measured alert is for a user who already had one (the warm-up sends each user's first
 * offence), so every measured run takes the repeat-offender path: findDevice + getUser, wipe +
 * block, ticket — five connector calls — which is checked afterwards in the server's journal.
 */
import type http from 'node:http';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { TicketBoard } from './lab-client.js';
import type { RiposteProcess } from './riposte-process.js';
import { keepAliveAgent, pool, request } from './http.js';
import { splunkAlert } from './seed.js';
import { CpuMeter, RssSampler, procMem, type CpuWindow } from './procs.js';
import { distribution, monoMs, round, sleep, type Distribution } from './stats.js';

export interface FoundingResult {
  concurrency: number;
  runs: number;
  completed: number;
  notCompleted: Record<string, number>;
  /** Completed runs whose journal shows the 5 connector calls and whose outcome is "contained". */
  fullPath: number;
  runsPerSec: number;
  latencyMs: Distribution;
  serverCpuMsPerRun: number;
  /** Bytes the server wrote to storage per completed run (WAL, checkpoints, log). */
  serverWriteKbPerRun: number;
  cpu: CpuWindow;
  peakRssMb: number;
  hwmMb: number;
  wallMs: number;
}

const TICKET_TIMEOUT_MS = 60_000;

/** Reads the server's database (WAL: a reader never blocks the server's writers). */
export function openReader(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, 'riposte.db'), { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

async function postAlert(agent: http.Agent, srv: RiposteProcess, body: unknown): Promise<number> {
  const res = await request(agent, 'POST', `${srv.url}/api/v1/ingest/splunk?token=${srv.credentials.splunkToken}`, body);
  if (res.status !== 201) throw new Error(`alert refused: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return (JSON.parse(res.body) as { incidentId: number }).incidentId;
}

/** Waits until no run of incidents [lo, hi] is queued or running. */
export async function waitSettled(db: Database.Database, lo: number, hi: number, timeoutMs = 120_000): Promise<void> {
  const q = db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM runs WHERE incident_id BETWEEN ? AND ? AND status IN ('queued', 'running')`);
  const until = Date.now() + timeoutMs;
  while (q.get(lo, hi)!.n > 0) {
    if (Date.now() > until) throw new Error(`runs of incidents ${lo}..${hi} still unfinished after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** One first-offence alert per user, `concurrency` at a time; returns when all their runs finished. */
export async function warmUp(srv: RiposteProcess, board: TicketBoard, users: number, concurrency: number): Promise<void> {
  const agent = keepAliveAgent(concurrency);
  const ids: number[] = [];
  await pool(users, concurrency, async (i) => {
    const id = await postAlert(agent, srv, splunkAlert(i, 'first'));
    ids.push(id);
    await board.wait(`riposte-incident-${id}`, TICKET_TIMEOUT_MS);
  });
  agent.destroy();
  const db = openReader(srv.dataDir);
  try {
    await waitSettled(db, Math.min(...ids), Math.max(...ids));
  } finally {
    db.close();
  }
  board.clear();
}

/**
 * `runs` repeat-offender alerts at `concurrency`, for users `firstUser`, `firstUser`+1, … (mod
 * `users`). `extraPids` are measured for CPU alongside the server (e.g. the lab process).
 */
export async function measureFounding(srv: RiposteProcess, board: TicketBoard, o: {
  runs: number; concurrency: number; users: number; firstUser: number; extraPids: Record<string, number>;
}): Promise<FoundingResult> {
  const agent = keepAliveAgent(o.concurrency);
  const latencies: number[] = [];
  const ids: number[] = [];
  const rss = new RssSampler(srv.pid);
  const cpu = new CpuMeter({ server: srv.pid, bench: process.pid, ...o.extraPids });
  const startWall = Date.now();
  const t0 = monoMs();
  await pool(o.runs, o.concurrency, async (k) => {
    const sent = monoMs();
    const id = await postAlert(agent, srv, splunkAlert((o.firstUser + k) % o.users, 'repeat'));
    ids.push(id);
    const at = await board.wait(`riposte-incident-${id}`, TICKET_TIMEOUT_MS);
    latencies.push(at - sent);
  });
  agent.destroy();
  const db = openReader(srv.dataDir);
  try {
    const lo = Math.min(...ids), hi = Math.max(...ids);
    await waitSettled(db, lo, hi);
    const cpuWindow = cpu.stop();
    const wallMs = monoMs() - t0;
    const peakRssMb = rss.stop();
    const byStatus = db.prepare<[number, number], { status: string; n: number; last: string | null }>(
      `SELECT status, COUNT(*) AS n, MAX(finished_at) AS last FROM runs WHERE incident_id BETWEEN ? AND ? GROUP BY status`).all(lo, hi);
    const completed = byStatus.find((s) => s.status === 'completed');
    const notCompleted = Object.fromEntries(byStatus.filter((s) => s.status !== 'completed').map((s) => [s.status, s.n]));
    const fullPath = db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM runs r
      WHERE r.incident_id BETWEEN ? AND ? AND r.status = 'completed' AND json_extract(r.output, '$.outcome') = 'contained'
        AND (SELECT COUNT(*) FROM journal j WHERE j.run_id = r.id AND j.kind = 'action' AND j.status = 'completed') = 5`).get(lo, hi)!.n;
    const windowMs = completed?.last ? Date.parse(completed.last) - startWall : wallMs;
    const n = completed?.n ?? 0;
    return {
      concurrency: o.concurrency, runs: o.runs, completed: n, notCompleted, fullPath,
      runsPerSec: round((n / windowMs) * 1000, 1), latencyMs: distribution(latencies),
      serverCpuMsPerRun: round((cpuWindow.procMs.server ?? NaN) / Math.max(1, n), 3),
      serverWriteKbPerRun: round((cpuWindow.writeBytes.server ?? NaN) / 1024 / Math.max(1, n), 1), cpu: roundCpu(cpuWindow),
      peakRssMb: round(peakRssMb, 1), hwmMb: round(procMem(srv.pid).hwmMb, 1), wallMs: round(wallMs, 0),
    };
  } finally {
    db.close();
    board.clear();
  }
}

export function roundCpu(c: CpuWindow): CpuWindow {
  const r0 = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 0)]));
  return { machinePct: round(c.machinePct, 1), wallMs: c.wallMs, procMs: r0(c.procMs), otherMs: round(c.otherMs, 0), writeBytes: r0(c.writeBytes) };
}
