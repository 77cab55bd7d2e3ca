/**
 * Ingestion alone: generic-route alerts whose label no playbook listens to, `concurrency` in
 * flight, each counted when the server answers 201 — which it does only after the incident is
 * committed durably (group commit, synchronous=FULL).
 */
import type { RiposteProcess } from './riposte-process.js';
import { keepAliveAgent, pool, request } from './http.js';
import { ingestOnlyAlert } from './seed.js';
import { CpuMeter, RssSampler, type CpuWindow } from './procs.js';
import { distribution, monoMs, round, type Distribution } from './stats.js';
import { roundCpu } from './founding.js';

export interface IngestResult {
  alerts: number;
  concurrency: number;
  perSec: number;
  ackLatencyMs: Distribution;
  serverCpuUsPerAlert: number;
  serverWriteKbPerAlert: number;
  cpu: CpuWindow;
  peakRssMb: number;
}

let batch = 0;

/** Sends `alerts` ingest-only alerts; returns per-alert ack latencies and the wall time. */
export async function ingestLoad(srv: RiposteProcess, alerts: number, concurrency: number, until?: () => boolean): Promise<{ latencies: number[]; wallMs: number; sent: number }> {
  const agent = keepAliveAgent(concurrency);
  const tag = `b${++batch}`;
  const latencies: number[] = [];
  const headers = { authorization: `Bearer ${srv.credentials.genericToken}` };
  const t0 = monoMs();
  await pool(alerts, concurrency, async (n) => {
    if (until?.()) return;
    const sent = monoMs();
    const res = await request(agent, 'POST', `${srv.url}/api/v1/incidents`, ingestOnlyAlert(n, tag), headers);
    if (res.status !== 201) throw new Error(`ingest refused: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    latencies.push(monoMs() - sent);
  });
  agent.destroy();
  return { latencies, wallMs: monoMs() - t0, sent: latencies.length };
}

export async function measureIngest(srv: RiposteProcess, o: { alerts: number; concurrency: number; extraPids: Record<string, number> }): Promise<IngestResult> {
  await ingestLoad(srv, Math.min(2000, o.alerts), o.concurrency); // warm-up (JIT, connections)
  const rss = new RssSampler(srv.pid);
  const cpu = new CpuMeter({ server: srv.pid, bench: process.pid, ...o.extraPids });
  const { latencies, wallMs } = await ingestLoad(srv, o.alerts, o.concurrency);
  const c = cpu.stop();
  return {
    alerts: o.alerts, concurrency: o.concurrency, perSec: round((o.alerts / wallMs) * 1000, 0), ackLatencyMs: distribution(latencies),
    serverCpuUsPerAlert: round(((c.procMs.server ?? NaN) * 1000) / o.alerts, 0),
    serverWriteKbPerAlert: round((c.writeBytes.server ?? NaN) / 1024 / o.alerts, 1), cpu: roundCpu(c), peakRssMb: round(rss.stop(), 1),
  };
}
