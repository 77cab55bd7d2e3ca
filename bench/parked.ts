/**
 * Memory of runs parked on approvals: the founding playbook is set to 'supervised' (through the
 * API, as an operator would), so a repeat offender's wipe and block each wait for an analyst's
 * approval. `count` such alerts are sent; once every one of their runs is parked, the server's
 * resident memory is compared with before.
 */
import type { RiposteProcess } from './riposte-process.js';
import { keepAliveAgent, pool, request } from './http.js';
import { splunkAlert } from './seed.js';
import { procMem } from './procs.js';
import { openReader } from './founding.js';
import { round, sleep } from './stats.js';

export interface ParkedResult {
  parked: number;
  waiting: number;
  otherStatuses: Record<string, number>;
  pendingApprovals: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  deltaMb: number;
  fireMs: number;
}

async function setAutomation(srv: RiposteProcess, level: 'supervised' | 'autonomous'): Promise<void> {
  const agent = keepAliveAgent(1);
  const res = await request(agent, 'PUT', `${srv.url}/api/v1/playbooks/mobile-unauthorized-ip/automation`, { level }, srv.adminHeaders);
  agent.destroy();
  if (res.status !== 200) throw new Error(`could not set automation ${level}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
}

/** Resident memory after letting the server settle (its garbage collector runs on its own schedule). */
async function settledRss(pid: number): Promise<number> {
  await sleep(2000);
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    samples.push(procMem(pid).rssMb);
    await sleep(100);
  }
  return Math.min(...samples);
}

export async function measureParked(srv: RiposteProcess, o: { count: number; users: number; timeoutMs: number }): Promise<ParkedResult> {
  await setAutomation(srv, 'supervised');
  const rssBeforeMb = await settledRss(srv.pid);
  const agent = keepAliveAgent(32);
  const ids: number[] = [];
  const t0 = Date.now();
  await pool(o.count, 32, async (k) => {
    const res = await request(agent, 'POST', `${srv.url}/api/v1/ingest/splunk?token=${srv.credentials.splunkToken}`, splunkAlert(k % o.users, 'parked'));
    if (res.status !== 201) throw new Error(`alert refused: HTTP ${res.status}`);
    ids.push((JSON.parse(res.body) as { incidentId: number }).incidentId);
  });
  agent.destroy();
  const lo = Math.min(...ids), hi = Math.max(...ids);
  const db = openReader(srv.dataDir);
  try {
    const byStatus = db.prepare<[number, number], { status: string; n: number }>(
      'SELECT status, COUNT(*) AS n FROM runs WHERE incident_id BETWEEN ? AND ? GROUP BY status');
    // Parked = waiting on its approvals; bounded in time so a stuck engine cannot hang the benchmark.
    const until = Date.now() + o.timeoutMs;
    let statuses: Array<{ status: string; n: number }> = [];
    for (;;) {
      statuses = byStatus.all(lo, hi);
      const busy = statuses.filter((s) => s.status === 'queued' || s.status === 'running').reduce((a, s) => a + s.n, 0);
      if (busy === 0 || Date.now() > until) break;
      await sleep(200);
    }
    const fireMs = Date.now() - t0;
    const rssAfterMb = await settledRss(srv.pid);
    const pendingApprovals = db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM approvals a JOIN runs r ON r.id = a.run_id
      WHERE r.incident_id BETWEEN ? AND ? AND a.status = 'pending'`).get(lo, hi)!.n;
    const waiting = statuses.find((s) => s.status === 'waiting')?.n ?? 0;
    return {
      parked: o.count, waiting, otherStatuses: Object.fromEntries(statuses.filter((s) => s.status !== 'waiting').map((s) => [s.status, s.n])),
      pendingApprovals, rssBeforeMb: round(rssBeforeMb, 1), rssAfterMb: round(rssAfterMb, 1), deltaMb: round(rssAfterMb - rssBeforeMb, 1), fireMs,
    };
  } finally {
    db.close();
    await setAutomation(srv, 'autonomous');
  }
}
