/**
 * Does pruning stall ingestion? Alerts are ingested at a steady rate (open loop, so a stall shows
 * as latency instead of being absorbed by a slower sender) first alone, then while
 * `riposte prune --older-than 30d` deletes the old runs from the same database in another process.
 */
import type { ChildProcess } from 'node:child_process';
import type { RiposteProcess } from './riposte-process.js';
import { keepAliveAgent, request } from './http.js';
import { ingestOnlyAlert } from './seed.js';
import { spawnTracked } from './procs.js';
import { inRoot } from './paths.js';
import { distribution, monoMs, round, type Distribution } from './stats.js';

export interface PruneResult {
  ratePerSec: number;
  without: Distribution;
  during: Distribution;
  pruned: { runs: number; journal: number; actionResults: number; batches: number };
  pruneSeconds: number;
  runsDeletedPerSec: number;
}

let batch = 0;

/** Sends ingest-only alerts at `rate`/s until `done()` (or `maxMs`); returns ack latencies. */
async function paced(srv: RiposteProcess, rate: number, done: () => boolean, maxMs: number): Promise<number[]> {
  const agent = keepAliveAgent(128);
  const tag = `p${++batch}`;
  const headers = { authorization: `Bearer ${srv.credentials.genericToken}` };
  const lat: number[] = [];
  const inflight = new Set<Promise<void>>();
  let sent = 0;
  let failure: unknown;
  const t0 = monoMs();
  while (!done() && monoMs() - t0 < maxMs && failure === undefined) {
    const due = Math.floor(((monoMs() - t0) / 1000) * rate);
    for (; sent < due && inflight.size < 512; sent++) {
      const n = sent;
      const t = monoMs();
      const p: Promise<void> = request(agent, 'POST', `${srv.url}/api/v1/incidents`, ingestOnlyAlert(n, tag), headers).then((res) => {
        if (res.status !== 201) throw new Error(`ingest refused: HTTP ${res.status}`);
        lat.push(monoMs() - t);
      }).catch((err: unknown) => { failure ??= err; }).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
  agent.destroy();
  if (failure !== undefined) throw failure;
  return lat;
}

export async function measurePrune(srv: RiposteProcess, o: { rate: number; withoutMs: number; maxMs: number; batch: number }): Promise<PruneResult> {
  await paced(srv, o.rate, () => false, 1000); // warm-up
  const without = await paced(srv, o.rate, () => false, o.withoutMs);
  let out = '';
  let err = '';
  const child: ChildProcess = spawnTracked(process.execPath, [inRoot('bin/riposte.js'), '--data-dir', srv.dataDir, 'prune', '--older-than', '30d', '--batch', String(o.batch), '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  let exited = false;
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => { exited = true; r(code); }));
  const t0 = monoMs();
  const during = await paced(srv, o.rate, () => exited, o.maxMs);
  const code = await exit;
  const pruneSeconds = (monoMs() - t0) / 1000;
  if (code !== 0) throw new Error(`riposte prune exited with ${code}: ${err}`);
  const pruned = JSON.parse(out) as PruneResult['pruned'];
  return {
    ratePerSec: o.rate, without: distribution(without), during: distribution(during), pruned,
    pruneSeconds: round(pruneSeconds, 1), runsDeletedPerSec: round(pruned.runs / pruneSeconds, 0),
  };
}
