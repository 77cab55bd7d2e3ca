/**
 * The lab vendor simulators (Graph for Intune + Entra ID, PAN-OS, Jira) in their own process, so
 * their CPU is not the server's nor the load generator's. Usage: node dist/bench/lab-process.js <users>
 *
 * stdout, one line each:
 *   {"graphUrl":…,"panosUrl":…,"jiraUrl":…,"graphSeed":{tenantId,clientId,clientSecret}}   once, when ready
 *   T <label> <ms>   for every ticket the Jira simulator created: its dedupe label
 *                    (riposte-incident-<id> or riposte-baseline-<n>) and the CLOCK_MONOTONIC ms at
 *                    which the simulator recorded it — the "arrival" of the alert-to-ticket latency.
 *
 * Housekeeping: the simulators keep every call and object they ever saw and scan them linearly
 * (Jira's search filters all issues). Over tens of thousands of runs that would make every vendor
 * call slower than the last, so every 200 ms this process forgets recorded calls (after streaming
 * the ticket events) and tickets older than 10 s (a run searches only for its own, fresh ticket),
 * and, for static-group PAN-OS blocking, committed block entries and finished commit jobs.
 * Serves until SIGTERM/SIGINT or until its stdin closes (the benchmark died).
 */
import { startLab } from '../lab/index.js';
import type { RecordedCall } from '../lab/lab-server.js';
import { benchSeed } from './seed.js';
import { monoMs } from './stats.js';

const users = Number(process.argv[2] ?? 100);
const seed = benchSeed(users);
const lab = await startLab({ graphSeed: seed, panosCommitDelayMs: 1 });

const LABEL = /^riposte-(incident|baseline)-\d+$/;
const jiraCalls = lab.jira.calls;
const push = jiraCalls.push.bind(jiraCalls);
jiraCalls.push = (...calls: RecordedCall[]): number => {
  const at = monoMs();
  for (const c of calls) {
    if (c.method !== 'POST' || c.path !== '/rest/api/3/issue' || c.status !== 201) continue;
    try {
      const labels = (JSON.parse(c.body) as { fields?: { labels?: string[] } }).fields?.labels ?? [];
      const label = labels.find((l) => LABEL.test(l));
      if (label !== undefined) process.stdout.write(`T ${label} ${at.toFixed(3)}\n`);
    } catch { /* not JSON: the simulator answered 400 anyway */ }
  }
  return push(...calls);
};

const housekeeping = setInterval(() => {
  for (const sim of [lab.graph, lab.panos, lab.jira]) sim.calls.length = 0;
  const jira = lab.jira as unknown as { all: Array<{ created: number }> };
  const old = Date.now() - 10_000;
  // Issues are appended in creation order: drop the prefix older than 10 s.
  const firstFresh = jira.all.findIndex((i) => i.created >= old);
  jira.all.splice(0, firstFresh < 0 ? jira.all.length : firstFresh);
  lab.panos.forgetCommittedBlocks();
  const jobs = (lab.panos as unknown as { jobs: Map<number, { status: string; enqueuedAt: number }> }).jobs;
  for (const [id, j] of jobs) if (j.status === 'FIN' && j.enqueuedAt < old) jobs.delete(id);
}, 200);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(housekeeping);
  await lab.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();

process.stdout.write(`${JSON.stringify({
  graphUrl: lab.graph.url, panosUrl: lab.panos.url, jiraUrl: lab.jira.url,
  graphSeed: { tenantId: seed.tenantId, clientId: seed.clientId, clientSecret: seed.clientSecret },
})}\n`);
