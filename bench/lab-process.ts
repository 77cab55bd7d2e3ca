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
import type { XmlElement } from '../src/apps/panos/xml.js';
import { childElements, firstChild, textOf } from '../src/apps/panos/xml.js';
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

/** Removes committed riposte-block members (and their address objects) from both configurations. */
function pruneStaticBlocks(): void {
  const vsysOf = (cfg: XmlElement) => firstChild(firstChild(firstChild(firstChild(cfg, 'devices'), 'entry'), 'vsys'), 'entry');
  const group = (cfg: XmlElement) => childElements(firstChild(vsysOf(cfg) ?? cfg, 'address-group') ?? cfg, 'entry').find((e) => e.attrs.name === 'riposte-block');
  const running = group(lab.panos.running);
  const members = new Set(childElements(firstChild(running ?? lab.panos.running, 'static') ?? lab.panos.running, 'member').map((m) => textOf(m)));
  if (running === undefined || members.size === 0) return;
  for (const cfg of [lab.panos.running, lab.panos.candidate]) {
    const g = group(cfg);
    const stat = g && firstChild(g, 'static');
    if (stat) stat.children = stat.children.filter((c) => typeof c === 'string' || !members.has(textOf(c)));
    const addr = firstChild(vsysOf(cfg) ?? cfg, 'address');
    if (addr) addr.children = addr.children.filter((c) => typeof c === 'string' || !members.has(c.attrs.name ?? ''));
  }
}

const housekeeping = setInterval(() => {
  for (const sim of [lab.graph, lab.panos, lab.jira]) sim.calls.length = 0;
  const jira = lab.jira as unknown as { all: Array<{ created: number }> };
  const old = Date.now() - 10_000;
  // Issues are appended in creation order: drop the prefix older than 10 s.
  const firstFresh = jira.all.findIndex((i) => i.created >= old);
  jira.all.splice(0, firstFresh < 0 ? jira.all.length : firstFresh);
  pruneStaticBlocks();
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
