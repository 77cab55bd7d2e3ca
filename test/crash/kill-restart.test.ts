/**
 * Crash test: the server runs as a child process and is SIGKILLed at random moments while alerts
 * stream in and runs talk to the (slowed-down) vendor simulators, which live in this test process
 * and so survive every kill. Afterwards the simulators' own records must show that every wipe,
 * block and ticket happened exactly once — or, where the server died with a destructive call in
 * flight, that it was reconciled or parked for a human — and never twice.
 *
 * Size: RIPOSTE_CRASH_USERS (default 60) users × 2 alerts (first offence, then repeat offender).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { provisionLab, startLab, type Lab } from '../../lab/index.js';
import { GraphSimulator, type GraphSimOptions } from '../../lab/graph-sim.js';
import { ensureCredentials, readCredentials, type Credentials } from '../../src/server/credentials.js';
import type { RunRecord } from '../../src/store/records.js';

const USERS = Number(process.env.RIPOSTE_CRASH_USERS ?? 60);
const SENDERS = 8;

function seed(): GraphSimOptions {
  const base = GraphSimulator.demoSeed();
  const users = [], devices = [];
  for (let i = 0; i < USERS; i++) {
    const hex = i.toString(16).padStart(4, '0');
    users.push({ id: `00000000-0000-4000-8000-00000000${hex}`, userPrincipalName: `user${i}@contoso.example`, displayName: `User ${i}`, mail: `user${i}@contoso.example`, department: 'Crash test' });
    devices.push({ id: `d0000000-0000-4000-8000-00000000${hex}`, deviceName: `PHONE-${i}`, serialNumber: `SN${hex}`, operatingSystem: 'iOS', userPrincipalName: `user${i}@contoso.example` });
  }
  return { ...base, users, devices };
}

const srcIp = (i: number) => `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

class ServerProcess {
  child: ChildProcess | null = null;
  kills = 0;
  starts = 0;
  stderr = '';
  constructor(private readonly dataDir: string, readonly port: number) {}
  get url() { return `http://127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    this.starts++;
    const child = spawn(process.execPath, ['bin/riposte.js', 'serve', '--data-dir', this.dataDir, '--port', String(this.port)], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RIPOSTE_LOG_LEVEL: 'error' },
    });
    child.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    this.child = child;
    const until = Date.now() + 60_000; // generous: CI machines are busy
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${this.stderr}`);
      try {
        const res = await fetch(`${this.url}/api/v1/health`);
        if (res.ok) return;
      } catch { /* not up yet */ }
      if (Date.now() > until) throw new Error(`server did not come up: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.kills++;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

function alertBody(i: number, n: number) {
  const sid = `scheduler__admin__search__RMD5crash_at_${i}_${n}`;
  return {
    sid, search_name: 'Mobile device reached unauthorized IP', app: 'search', owner: 'admin', results_link: `http://splunk.example.local:8000/app/search/@go?sid=${sid}`,
    result: { dest_ip: '203.0.113.45', src_ip: srcIp(i), user: `user${i}@contoso.example`, device_name: `PHONE-${i}`, dest_port: '443', severity: 'high' },
  };
}

/** Sends until the server acknowledges (2xx): a kill can swallow the request or the answer. */
async function deliver(srv: ServerProcess, creds: Credentials, body: unknown, stats: { resends: number; duplicates: number }): Promise<number> {
  const giveUp = Date.now() + 120_000; // bounded, but long enough to span restarts on a loaded machine
  for (;;) {
    try {
      const res = await fetch(`${srv.url}/api/v1/ingest/splunk?token=${creds.splunkToken}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = await res.json() as { incidentId: number; created: boolean };
      if (res.status === 200 || res.status === 201) {
        if (!json.created) stats.duplicates++;
        return json.incidentId;
      }
      throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
    } catch (err) {
      if (Date.now() > giveUp) throw err;
      stats.resends++;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function allRuns(srv: ServerProcess, creds: Credentials): Promise<RunRecord[]> {
  const res = await fetch(`${srv.url}/api/v1/runs?limit=500`, { headers: { authorization: `Bearer ${creds.adminToken}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { runs: RunRecord[] }).runs;
}

test(`kill -9 at random points of ${USERS * 2} runs: no wipe, block or ticket is ever duplicated`, { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-crash-'));
  let lab: Lab | null = null;
  const srv = new ServerProcess(dir, await freePort());
  try {
    lab = await startLab({ graphSeed: seed(), panosCommitDelayMs: 10 });
    for (const sim of [lab.graph, lab.panos, lab.jira]) sim.latencyMs = 25;
    const store = await openSqliteStore({ dataDir: dir });
    await ensureCredentials(store, dir);
    await provisionLab(store, lab);
    const settings = (await store.getPlaybookSettings('mobile-unauthorized-ip'))!;
    await store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'test');
    await store.close();
    await srv.start();
    const creds = readCredentials(dir)!;
    const stats = { resends: 0, duplicates: 0 };

    // Alerts: each user's first offence, then (after it is acknowledged) the repeat offence.
    let next = 0;
    const incidents = new Map<number, number[]>();
    const senders = Array.from({ length: SENDERS }, async () => {
      for (let i = next++; i < USERS; i = next++) {
        const a = await deliver(srv, creds, alertBody(i, 1), stats);
        await new Promise((r) => setTimeout(r, Math.random() * 100));
        const b = await deliver(srv, creds, alertBody(i, 2), stats);
        incidents.set(i, [a, b]);
      }
    });
    let sending = true;
    const all = Promise.all(senders).finally(() => { sending = false; });

    // The killer: SIGKILL at random moments while alerts and runs are in flight.
    const killer = (async () => {
      let settledChecks = 0;
      while (settledChecks < 1) {
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
        if (!sending) {
          const runs = await allRuns(srv, creds).catch(() => []);
          // On a fast, idle machine everything can finish between a few kills: keep killing until the minimum is reached.
          if (srv.kills >= 5 && runs.length === USERS * 2 && runs.every((r) => !['queued', 'running', 'waiting'].includes(r.status))) { settledChecks++; continue; }
          if (srv.kills >= 12 + USERS / 2) continue; // enough chaos: let it finish
        }
        await srv.kill();
        await new Promise((r) => setTimeout(r, Math.random() * 50));
        await srv.start();
      }
    })();
    await all;
    await killer;

    // Final picture from the server's store and from the simulators' records.
    const runs = await allRuns(srv, creds);
    const byIncident = new Map(runs.map((r) => [r.incidentId, r]));
    const statuses: Record<string, number> = {};
    for (const r of runs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    let wipes = 0, blocks = 0, tickets = 0, parked = 0, duplicated = 0;
    const problems: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const [first, repeat] = incidents.get(i)!;
      const deviceId = `d0000000-0000-4000-8000-00000000${i.toString(16).padStart(4, '0')}`;
      const rFirst = byIncident.get(first!)!, rRepeat = byIncident.get(repeat!)!;
      const wipeCount = lab.graph.wipeCount(deviceId);
      wipes += wipeCount;
      if (wipeCount > 1) { duplicated++; problems.push(`user${i}: device wiped ${wipeCount} times`); }
      if (lab.panos.isIpBlocked(srcIp(i))) blocks++;
      for (const [incidentId, run] of [[first!, rFirst], [repeat!, rRepeat]] as const) {
        const n = lab.jira.issuesWithLabel(`riposte-incident-${incidentId}`).length;
        tickets += n;
        if (n > 1) { duplicated++; problems.push(`incident ${incidentId}: ${n} tickets`); }
        if (run.status === 'completed' && n !== 1) problems.push(`incident ${incidentId}: completed with ${n} tickets`);
        if (run.status === 'needs_attention') parked++;
        else if (run.status !== 'completed') problems.push(`incident ${incidentId}: run ${run.id} ${run.status} ${JSON.stringify(run.error)}`);
      }
      if (rFirst.status === 'completed' && (rFirst.output as { outcome: string }).outcome !== 'first-offence') problems.push(`user${i}: first alert took ${(rFirst.output as { outcome: string }).outcome}`);
      if (rRepeat.status === 'completed') {
        if ((rRepeat.output as { outcome: string }).outcome !== 'contained') problems.push(`user${i}: repeat alert took ${(rRepeat.output as { outcome: string }).outcome}`);
        if (wipeCount !== 1) problems.push(`user${i}: contained but wiped ${wipeCount} times`);
        if (!lab.panos.isIpBlocked(srcIp(i))) problems.push(`user${i}: contained but ${srcIp(i)} not blocked`);
      } else if (rRepeat.status === 'needs_attention') {
        assert.match(rRepeat.attentionReason ?? '', /outcome unknown|NOT sent again/, `parked run must say why: ${rRepeat.attentionReason}`);
      }
    }
    // How often a kill landed with an action in flight, from the journal's own explanations.
    await srv.stop();
    const after = await openSqliteStore({ dataDir: dir });
    const details = after.db.prepare(`SELECT name, detail FROM journal WHERE detail IS NOT NULL`).all() as Array<{ name: string; detail: string }>;
    await after.close();
    const reconciledApplied = details.filter((d) => /the action had been applied/.test(d.detail)).length;
    const reconciledNotApplied = details.filter((d) => /not applied, so it was sent once more/.test(d.detail)).length;
    const idempotentResent = details.filter((d) => /idempotent, so it was sent again/.test(d.detail)).length;
    const summary = { runs: runs.length, reconciledApplied, reconciledNotApplied, idempotentResent, kills: srv.kills, starts: srv.starts, alertResends: stats.resends, duplicateDeliveriesDeduped: stats.duplicates, statuses, wipes, blockedIps: blocks, tickets, parked, duplicatedEffects: duplicated };
    console.log(`# crash summary ${JSON.stringify(summary)}`);
    assert.equal(runs.length, USERS * 2, 'one incident and one run per distinct alert, despite resends');
    assert.ok(srv.kills >= 5, `the test must actually kill the server (killed ${srv.kills} times)`);
    assert.equal(duplicated, 0, problems.join('\n'));
    assert.deepEqual(problems, []);
  } finally {
    await srv.stop();
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
