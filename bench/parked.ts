/**
 * Memory of runs parked on approvals: the founding playbook is set to 'supervised' (through the
 * API, as an operator would), so a repeat offender's wipe and block each wait for an analyst's
 * approval. `count` such alerts are sent to a freshly restarted server; once every run is parked,
 * its resident memory is read three ways:
 *   - transient: 2 s after the last run parked (the heap is still as large as the work made it);
 *   - held: the lowest reading over the next 60 s of idleness — V8 gives unused heap pages back
 *     only after it has been idle a while (its "memory reducer": with --trace-gc its "(reduce)"
 *     collections came 43 s after the last run parked in one run, and not within 40 s in
 *     another), so this is what stays;
 *   - restarted: a fresh server process with the same runs still parked (nothing in memory is
 *     rebuilt for them: a parked run is a row).
 * Each is compared with a fresh server's resident memory before the alerts.
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
  /** Fresh server, idle. */
  rssBeforeMb: number;
  rssTransientMb: number;
  rssHeldMb: number;
  rssRestartedMb: number;
  /** held − before: what the parked runs (and the work of parking them) keep resident. */
  deltaMb: number;
  fireMs: number;
}

async function setAutomation(srv: RiposteProcess, level: 'supervised' | 'autonomous'): Promise<void> {
  const agent = keepAliveAgent(1);
  const res = await request(agent, 'PUT', `${srv.url}/api/v1/playbooks/mobile-unauthorized-ip/automation`, { level }, srv.adminHeaders);
  agent.destroy();
  if (res.status !== 200) throw new Error(`could not set automation ${level}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
}

const rss = (pid: number) => procMem(pid).rssMb;

/** Lowest RSS over `ms` of idleness, sampled every second. */
async function lowestRss(pid: number, ms: number): Promise<number> {
  let low = rss(pid);
  for (let t = 0; t < ms; t += 1000) {
    await sleep(1000);
    low = Math.min(low, rss(pid));
  }
  return low;
}

export async function measureParked(srv: RiposteProcess, o: { count: number; users: number; timeoutMs: number; idleMs: number; logLevel?: string }): Promise<ParkedResult> {
  const start = async () => srv.start(o.logLevel ? { logLevel: o.logLevel } : {});
  await srv.stop();
  await start();
  await setAutomation(srv, 'supervised');
  const rssBeforeMb = await lowestRss(srv.pid, 5000);
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
    await sleep(2000);
    const rssTransientMb = rss(srv.pid);
    const rssHeldMb = await lowestRss(srv.pid, o.idleMs);
    const pendingApprovals = db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM approvals a JOIN runs r ON r.id = a.run_id
      WHERE r.incident_id BETWEEN ? AND ? AND a.status = 'pending'`).get(lo, hi)!.n;
    const waiting = statuses.find((s) => s.status === 'waiting')?.n ?? 0;
    await setAutomation(srv, 'autonomous');
    await srv.stop();
    await start();
    const rssRestartedMb = await lowestRss(srv.pid, 5000);
    return {
      parked: o.count, waiting, otherStatuses: Object.fromEntries(statuses.filter((s) => s.status !== 'waiting').map((s) => [s.status, s.n])),
      pendingApprovals, rssBeforeMb: round(rssBeforeMb, 1), rssTransientMb: round(rssTransientMb, 1), rssHeldMb: round(rssHeldMb, 1),
      rssRestartedMb: round(rssRestartedMb, 1), deltaMb: round(rssHeldMb - rssBeforeMb, 1), fireMs,
    };
  } finally {
    db.close();
  }
}
