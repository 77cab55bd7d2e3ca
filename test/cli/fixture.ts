/**
 * A data directory prepared through the Store API (no server), and a runner for the compiled CLI
 * as a child process against it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import type { JournalEntry } from '../../src/store/records.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { serveConfig } from '../../src/config.js';

/** dist/test/cli → the project root, where bin/riposte.js lives. */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export interface CliResult { code: number; stdout: string; stderr: string }

export function cli(dataDir: string | null, ...args: string[]): CliResult {
  return cliWithEnv(dataDir, {}, ...args);
}

function cliEnv(dataDir: string | null, extraEnv: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_SECRET_KEY: '', NO_COLOR: '1' };
  delete env['RIPOSTE_DEBUG'];
  delete env['RIPOSTE_URL'];
  delete env['RIPOSTE_TOKEN'];
  Object.assign(env, extraEnv);
  if (dataDir === null) delete env['RIPOSTE_DATA_DIR'];
  else env['RIPOSTE_DATA_DIR'] = dataDir;
  return env;
}

export function cliWithEnv(dataDir: string | null, extraEnv: Record<string, string>, ...args: string[]): CliResult {
  const env = cliEnv(dataDir, extraEnv);
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/riposte.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `cliWithEnv` without blocking this process: for commands that talk to a server running in this test. */
export function cliAsync(
  dataDir: string | null, extraEnv: Record<string, string>, ...args: string[]
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/riposte.js'), ...args], {
      cwd: ROOT, env: cliEnv(dataDir, extraEnv), stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * A real Riposte server (API and engine, no lab) in this process on a free port, with its data
 * directory: for CLI commands that go through the API. `stop` also removes the directory.
 */
export async function startCliServer(): Promise<{ server: RunningServer; dataDir: string; stop(): Promise<void> }> {
  const dataDir = tempDir();
  const server = await startServer(serveConfig({ dataDir, port: 0, lab: false, logLevel: 'warn' }, {}));
  return { server, dataDir, stop: async () => { await server.stop(); removeDir(dataDir); } };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'riposte-cli-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// Run ids: the first two share the prefix "aaaaaaa" (ambiguous), "aaaaaaaa" is unique.
export const RUN_DONE = 'aaaaaaaa-1111-4111-8111-111111111111';
export const RUN_PARKED = 'aaaaaaab-2222-4222-8222-222222222222';
export const RUN_PARKED_FW = 'cccccccc-3333-4333-8333-333333333333';
export const BASE = Date.parse('2026-01-10T10:00:00.000Z');
export const at = (offsetMs: number): string => new Date(BASE + offsetMs).toISOString();

function entry(runId: string, seq: number, name: string, start: number, end: number | null, over: Partial<JournalEntry> = {}): JournalEntry {
  return {
    runId, seq, kind: 'action', name, asset: null, app: null, action: null, status: end === null ? 'started' : 'completed',
    input: null, output: null, error: null, attempts: 1, startedAt: at(start), finishedAt: end === null ? null : at(end),
    wakeAt: null, detail: null, ...over,
  };
}

const cef = (user: string, device: string) => ({
  name: `Splunk alert for ${user}`,
  cef: { destinationAddress: '203.0.113.45', sourceAddress: '10.20.30.41', sourceUserName: user, deviceHostname: device },
  contains: { destinationAddress: ['ip'], sourceAddress: ['ip'], sourceUserName: ['user name'] },
});

const newRun = (id: string) => ({ id, playbookId: 'mobile-unauthorized-ip', playbookVersion: 1, playbookHash: '545f3a732bfe4acd', minutesSaved: 45 });

/** Two incidents; one completed run with parallel steps and retries, two runs needing attention. */
export async function seed(dataDir: string): Promise<void> {
  const store: SqliteStore = await openSqliteStore({ dataDir, env: {} });
  try {
    const one = await store.ingest({
      name: 'Mobile device reached unauthorized IP', label: 'mobile-unauthorized-ip', severity: 'high', source: 'splunk',
      sourceId: 'sid-1', artifacts: [cef('jdoe@contoso.example', 'JDOE-IPHONE')],
    }, [newRun(RUN_DONE)], 'test');
    await store.ingest({
      name: 'Phone of asmith reached a bad host', label: 'mobile-unauthorized-ip', severity: 'medium', source: 'splunk',
      sourceId: 'sid-2', artifacts: [cef('asmith@contoso.example', 'ASMITH-PIXEL')],
    }, [newRun(RUN_PARKED), newRun(RUN_PARKED_FW)], 'test');
    const i1 = one.incident.id;
    await store.addNote({ incidentId: i1, runId: RUN_DONE, author: `run:${RUN_DONE}`, text: 'Ticket SEC-1 opened.' });

    const d = RUN_DONE;
    for (const e of [
      entry(d, 0, 'lists.contains', 10, 12, { kind: 'list', input: { list: 'allowed-destinations', value: '203.0.113.45' }, output: false }),
      entry(d, 1, 'mdm.findDevice', 20, 140, { asset: 'intune-lab', app: 'microsoft-intune', action: 'findDevice', input: { deviceName: 'JDOE-IPHONE' }, output: { found: true, device: { id: 'dev-1', name: 'JDOE-IPHONE', serialNumber: 'X'.repeat(200) } } }),
      entry(d, 2, 'directory.getUser', 21, 90, { asset: 'entra-lab', app: 'microsoft-entra-id', action: 'getUser', input: { user: 'jdoe@contoso.example' }, output: { found: true } }),
      entry(d, 3, 'mdm.wipeDevice', 150, 1_650, {
        asset: 'intune-lab', app: 'microsoft-intune', action: 'wipeDevice', input: { deviceId: 'dev-1' }, output: { accepted: true, state: 'pending' }, attempts: 2,
        detail: 'outcome was unknown (timeout); reconciled with the vendor: not applied, so it was sent once more',
      }),
      entry(d, 4, 'note', 1_700, 1_700, { kind: 'note', input: { text: 'Ticket SEC-1 opened.' } }),
    ]) await store.appendJournal(e);
    await store.recordActionResult({ runId: d, seq: 3, attempt: 1, app: 'microsoft-intune', asset: 'intune-lab', action: 'wipeDevice', idempotencyKey: `${d}:3`, outcome: 'timeout', input: { deviceId: 'dev-1' }, output: null, error: { name: 'RetryableError', message: 'request timed out after 1000 ms', retryable: true, applied: 'unknown' }, startedAt: at(150), durationMs: 1_000 });
    await store.recordActionResult({ runId: d, seq: 3, attempt: 2, app: 'microsoft-intune', asset: 'intune-lab', action: 'wipeDevice', idempotencyKey: `${d}:3`, outcome: 'succeeded', input: { deviceId: 'dev-1' }, output: { accepted: true }, error: null, startedAt: at(1_300), durationMs: 350 });
    await store.recordActionResult({ runId: d, seq: 1, attempt: 1, app: 'microsoft-intune', asset: 'intune-lab', action: 'findDevice', idempotencyKey: `${d}:1`, outcome: 'succeeded', input: {}, output: {}, error: null, startedAt: at(20), durationMs: 120 });
    await store.updateRun(d, { status: 'completed', startedAt: at(0), finishedAt: at(1_800), output: { outcome: 'contained' } });

    const reason = (runId: string, seq: number, name: string) =>
      `step ${seq} ${name} on asset "x": outcome unknown (connection reset). It was NOT sent again. Check at the vendor, then resolve the step with \`riposte runs resolve ${runId} ${seq} --applied|--not-applied\`.`;
    await store.appendJournal(entry(RUN_PARKED, 0, 'mdm.wipeDevice', 5, null, {
      asset: 'intune-lab', app: 'microsoft-intune', action: 'wipeDevice', input: { deviceId: 'dev-2' }, detail: reason(RUN_PARKED, 0, 'mdm.wipeDevice'),
      error: { name: 'RetryableError', message: 'connection reset', retryable: true, applied: 'unknown' },
    }));
    await store.updateRun(RUN_PARKED, { status: 'needs_attention', startedAt: at(0), attentionReason: reason(RUN_PARKED, 0, 'mdm.wipeDevice') });
    await store.appendJournal(entry(RUN_PARKED_FW, 0, 'firewall.blockIp', 5, null, {
      asset: 'panos-lab', app: 'palo-alto-panos', action: 'blockIp', input: { ip: '10.20.30.41' }, detail: reason(RUN_PARKED_FW, 0, 'firewall.blockIp'),
    }));
    await store.updateRun(RUN_PARKED_FW, { status: 'needs_attention', startedAt: at(0), attentionReason: reason(RUN_PARKED_FW, 0, 'firewall.blockIp') });

    await store.putAsset({ egressAllow: ['loopback'], name: 'intune-lab', appId: 'microsoft-intune', config: { tenantId: 't' }, secrets: { clientSecret: 's' } }, 'test');
    await store.putAsset({ egressAllow: ['loopback'], name: 'panos-lab', appId: 'palo-alto-panos', config: { url: 'http://x' }, secrets: { password: 'p' } }, 'test');
    await store.createList('allowed-destinations', 'Destinations phones may reach', 'test');
    await store.addListItems('allowed-destinations', ['198.51.100.0/24'], 'test');
  } finally {
    await store.close();
  }
}

/** Opens the seeded store in this process to check what the CLI wrote. */
export function openSeeded(dataDir: string): Promise<SqliteStore> {
  return openSqliteStore({ dataDir, env: {} });
}

/** util-linux `script`, which runs a command on a pseudo-terminal; null when it is not installed. */
export function scriptCommand(): string | null {
  for (const p of ['/usr/bin/script', '/bin/script']) if (existsSync(p)) return p;
  return null;
}

/**
 * The CLI on a pseudo-terminal (stdin and stdout are a TTY, as for a person at a terminal): waits
 * for `prompt` on its output, then types `answer` and Enter. Output is what the terminal showed.
 */
export function cliInTerminal(prompt: string, answer: string, ...args: string[]): Promise<CliResult> {
  const script = scriptCommand();
  if (script === null) throw new Error('util-linux script is not installed');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, join(ROOT, 'bin/riposte.js'), ...args].map(quote).join(' ');
  return new Promise((resolvePromise) => {
    let out = '';
    let typed = false;
    const child = spawn(script, ['-qec', command, '/dev/null'], { cwd: ROOT, env: cliEnv(null, {}), timeout: 20_000 });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!typed && out.includes(prompt)) {
        typed = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout: out, stderr: '' }));
  });
}

/** `riposte serve …` as a child process: its output so far, and a wait for its start banner. */
export interface ServeProcess {
  readonly out: { stdout: string; stderr: string };
  /** Resolves once the banner is printed; fails if the process exits first or after 20 s. */
  started(): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** The exit code, once it exits by itself. */
  exited: Promise<number | null>;
}

export function spawnServe(args: string[], extraEnv: Record<string, string> = {}): ServeProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_SECRET_KEY: '', RIPOSTE_LOG_LEVEL: 'warn', ...extraEnv };
  const child = spawn(process.execPath, [join(ROOT, 'bin/riposte.js'), 'serve', ...args], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out.stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out.stderr += d; });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    out, exited,
    async started() {
      const deadline = Date.now() + 20_000;
      while (!out.stdout.includes('Stop with Ctrl-C.')) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the server did not start:\n${out.stdout}\n${out.stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
