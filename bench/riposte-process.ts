/**
 * Riposte as the benchmark runs it: `node bin/riposte.js serve --data-dir <tmp> --port <free>`
 * in its own process, with the durability settings as shipped (synchronous=FULL: no
 * --sqlite-sync flag). Its data directory is provisioned beforehand like an operator would:
 * credentials, lab assets pointing at the simulators' process, the founding playbook autonomous,
 * the access list and the founding Splunk mapping.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { LAB_PLAYBOOK, provisionLab, type LabEndpoints } from '../lab/index.js';
import { ensureCredentials, readCredentials, type Credentials } from '../src/server/credentials.js';
import { freePort, spawnTracked, stopChild, waitHttp } from './procs.js';
import { inRoot } from './paths.js';

export async function provisionDataDir(dataDir: string, lab: LabEndpoints): Promise<void> {
  const store = await openSqliteStore({ dataDir });
  try {
    // As on a first start: the credentials and the splunk source, which provisionLab maps.
    await ensureCredentials(store, dataDir);
    await provisionLab(store, lab, 'bench');
    const settings = (await store.getPlaybookSettings(LAB_PLAYBOOK))!;
    await store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'bench');
  } finally {
    await store.close();
  }
}

export interface StartOptions {
  /** Directory for `node --cpu-prof` output; no profiling when absent. */
  profileDir?: string;
  logLevel?: string;
}

export class RiposteProcess {
  child: ChildProcess | null = null;
  port = 0;
  private stderr = '';
  credentials!: Credentials;
  constructor(readonly dataDir: string) {}

  get url(): string { return `http://127.0.0.1:${this.port}`; }
  get pid(): number { return this.child!.pid!; }

  async start(opts: StartOptions = {}): Promise<void> {
    this.port = await freePort();
    const nodeArgs = ['--no-node-snapshot', ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [])];
    // For experiments only (e.g. V8 heap flags, --trace-gc into server.log): the server's node options.
    nodeArgs.push(...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
    // The server's log goes to a file, as in production; a pipe would cost the benchmark CPU.
    const log = openSync(join(this.dataDir, 'server.log'), 'a');
    const env = { ...process.env };
    delete env.RIPOSTE_SQLITE_SYNC; // durability as shipped, whatever the caller's environment says
    delete env.RIPOSTE_ENGINE_CONCURRENCY;
    if (opts.logLevel !== undefined) env.RIPOSTE_LOG_LEVEL = opts.logLevel;
    else delete env.RIPOSTE_LOG_LEVEL;
    const child = spawnTracked(process.execPath, [...nodeArgs, inRoot('bin/riposte.js'), 'serve', '--data-dir', this.dataDir, '--port', String(this.port)], {
      stdio: ['ignore', log, 'pipe'], env,
    });
    closeSync(log);
    this.stderr = '';
    child.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    this.child = child;
    await waitHttp(`${this.url}/api/v1/health`, child, 'riposte serve', () => this.stderr);
    this.credentials = readCredentials(this.dataDir)!;
  }

  /** Graceful stop (SIGTERM: running steps finish, the store closes; a CPU profile is written). */
  async stop(): Promise<void> {
    if (this.child) await stopChild(this.child, 30_000);
    this.child = null;
  }

  get adminHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.credentials.adminToken}` };
  }
}
