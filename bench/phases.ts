/** The order of the benchmark's phases and the data each one leaves for the next. */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BenchRun } from './main.js';
import { measureFounding, warmUp } from './founding.js';
import { measureBaseline } from './baseline.js';
import { ingestLoad, measureIngest } from './ingest.js';
import { measureParked } from './parked.js';
import { fillIncidents } from './fill.js';
import { measureQueries } from './million.js';
import { measurePrune } from './prune-phase.js';
import { latestProfile, summariseProfile } from './profile.js';

export async function runPhases(b: BenchRun): Promise<void> {
  const { cfg, lab, srv, results, log } = b;
  const labPid = { lab: lab.child.pid! };
  const needServer = ['founding', 'ingest', 'parked', 'million', 'prune'].some((p) => cfg.phases.has(p as never));
  if (needServer) await srv.start({ ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}) });

  if (cfg.phases.has('founding') || cfg.phases.has('parked')) {
    log(`warm-up: one first-offence alert per user (${cfg.users}) …`);
    await warmUp(srv, lab.tickets, cfg.users, cfg.concurrency);
  }
  if (cfg.phases.has('founding') && cfg.c1Runs > 0) {
    log(`founding scenario at c=1: ${cfg.c1Runs} runs …`);
    results.c1 = await measureFounding(srv, lab.tickets, { runs: cfg.c1Runs, concurrency: 1, users: cfg.users, firstUser: 0, extraPids: labPid });
    log(`  p50 ${results.c1.latencyMs.p50} ms, p99 ${results.c1.latencyMs.p99} ms, ${results.c1.runsPerSec} runs/s`);
  }
  if (cfg.phases.has('baseline') && cfg.baselineRuns > 0) {
    log(`non-durable script at c=${cfg.concurrency}: ${cfg.baselineRuns} alerts …`);
    results.baseline = await measureBaseline(lab.endpoints, lab.tickets, { runs: cfg.baselineRuns, concurrency: cfg.concurrency, users: cfg.users, extraPids: labPid });
    log(`  ${results.baseline.runsPerSec} runs/s, p99 ${results.baseline.latencyMs.p99} ms, failed ${results.baseline.failed}`);
  }
  if (cfg.phases.has('founding') && cfg.cRuns > 0) {
    log(`founding scenario at c=${cfg.concurrency}: ${cfg.cRuns} runs …`);
    results.cN = await measureFounding(srv, lab.tickets, { runs: cfg.cRuns, concurrency: cfg.concurrency, users: cfg.users, firstUser: cfg.c1Runs, extraPids: labPid });
    log(`  ${results.cN.runsPerSec} runs/s, p99 ${results.cN.latencyMs.p99} ms, machine CPU ${results.cN.cpu.machinePct} %`);
    if (cfg.profile) await profilePass(b);
  }
  if (cfg.phases.has('ingest') && cfg.ingestAlerts > 0) {
    log(`ingestion alone at c=${cfg.ingestConcurrency}: ${cfg.ingestAlerts} alerts …`);
    results.ingest = await measureIngest(srv, { alerts: cfg.ingestAlerts, concurrency: cfg.ingestConcurrency, extraPids: labPid });
    log(`  ${results.ingest.perSec} alerts/s, ack p99 ${results.ingest.ackLatencyMs.p99} ms`);
    if (cfg.profile) await profileIngestPass(b);
  }
  if (cfg.phases.has('parked') && cfg.parked > 0) {
    log(`${cfg.parked} runs parked on approvals …`);
    results.parked = await measureParked(srv, {
      count: cfg.parked, users: cfg.users, timeoutMs: cfg.quick ? 60_000 : 300_000, idleMs: cfg.parkedIdleMs, ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}),
    });
    const pk = results.parked;
    log(`  RSS fresh ${pk.rssBeforeMb} MB → ${pk.rssTransientMb} MB right after, ${pk.rssHeldMb} MB after ${cfg.parkedIdleMs / 1000} s idle, ${pk.rssRestartedMb} MB restarted (${pk.waiting} waiting)`);
  }
  if (cfg.phases.has('million') && cfg.incidents > 0) {
    await srv.stop();
    log(`filling the database with ${cfg.incidents.toLocaleString('en-US')} incidents (${Math.min(cfg.pruneRuns, cfg.incidents)} with old runs) …`);
    const db = new Database(join(srv.dataDir, 'riposte.db'));
    let fill, total, sids: string[];
    try {
      fill = fillIncidents(db, cfg.incidents, Math.min(cfg.pruneRuns, cfg.incidents), log);
      total = (db.prepare('SELECT COUNT(*) AS n FROM incidents').get() as { n: number }).n;
      sids = (db.prepare('SELECT source_id FROM incidents WHERE id >= ? ORDER BY random() LIMIT 200').all(fill.firstId) as Array<{ source_id: string }>).map((r) => r.source_id);
    } finally {
      db.close();
    }
    log(`  ${fill.seconds} s; starting the server on it …`);
    await srv.start({ ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}) });
    const queries = await measureQueries(srv, fill, cfg.listRequests, sids);
    const dbSizeMb = Math.round(statSync(join(srv.dataDir, 'riposte.db')).size / 2 ** 20);
    results.million = { incidents: cfg.incidents, totalIncidents: total, fill, dbSizeMb, queries };
    for (const q of queries) log(`  ${q.name}: p50 ${q.latencyMs.p50} ms, p99 ${q.latencyMs.p99} ms (${q.latencyMs.n} requests)`);
  }
  if (cfg.phases.has('prune') && cfg.pruneRuns > 0) {
    log(`ingestion while pruning ${Math.min(cfg.pruneRuns, cfg.incidents)} old runs …`);
    results.prune = await measurePrune(srv, { rate: cfg.pruneRate, withoutMs: cfg.pruneWithoutMs, maxMs: 600_000, batch: 500 });
    log(`  p99 ${results.prune.during.p99} ms while pruning vs ${results.prune.without.p99} ms without; ${results.prune.runsDeletedPerSec} runs/s deleted`);
  }
}

/** A separate, profiled pass of the concurrent founding phase (profiling slows the server down). */
async function profilePass(b: BenchRun): Promise<void> {
  const { cfg, lab, srv, log } = b;
  const dir = join(b.tmp, 'profile');
  mkdirSync(dir, { recursive: true });
  await srv.stop();
  await srv.start({ profileDir: dir, ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}) });
  const runs = Math.min(cfg.cRuns, cfg.quick ? 200 : 2000);
  log(`profiled pass (node --cpu-prof): ${runs} runs at c=${cfg.concurrency} …`);
  const r = await measureFounding(srv, lab.tickets, { runs, concurrency: cfg.concurrency, users: cfg.users, firstUser: 0, extraPids: { lab: lab.child.pid! } });
  await srv.stop(); // the profile is written when the process exits
  const file = latestProfile(dir);
  b.extra.profile = file ? { pass: { runs, runsPerSec: r.runsPerSec, p99: r.latencyMs.p99 }, ...summariseProfile(file) } : { error: 'no .cpuprofile written' };
  await srv.start({ ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}) });
}

/** A separate, profiled pass of ingestion alone (the server's CPU per alert, by function). */
async function profileIngestPass(b: BenchRun): Promise<void> {
  const { cfg, srv, log } = b;
  const dir = join(b.tmp, 'profile-ingest');
  mkdirSync(dir, { recursive: true });
  await srv.stop();
  await srv.start({ profileDir: dir, ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}) });
  const alerts = Math.min(cfg.ingestAlerts, 20_000);
  log(`profiled pass (node --cpu-prof): ${alerts} ingest-only alerts at c=${cfg.ingestConcurrency} …`);
  await ingestLoad(srv, Math.min(2000, alerts), cfg.ingestConcurrency); // warm-up, as in the measurement
  const r = await ingestLoad(srv, alerts, cfg.ingestConcurrency);
  await srv.stop(); // the profile is written when the process exits
  const file = latestProfile(dir);
  const pass = { alerts, perSec: Math.round((r.sent / r.wallMs) * 1000) };
  b.extra.ingestProfile = file ? { pass, ...summariseProfile(file) } : { error: 'no .cpuprofile written' };
  await srv.start({ ...(cfg.logLevel ? { logLevel: cfg.logLevel } : {}) });
}
