/**
 * Child processes of the benchmark and what /proc says about them. Every process the benchmark
 * starts is registered here and stopped by its PID — on success, on failure and on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { sleep } from './stats.js';

const children = new Set<ChildProcess>();

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  const child = spawn(cmd, args, opts);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const t = setTimeout(() => { if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(t);
}

/** Kills every child still running (synchronously: usable from an exit handler). */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers 2xx, or the child exits, or the deadline passes. */
export async function waitHttp(url: string, child: ChildProcess, what: string, stderr: () => string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${stderr()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch { /* not up yet */ }
    if (Date.now() > until) throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms: ${stderr()}`);
    await sleep(25);
  }
}

// ── /proc ──────────────────────────────────────────────────────────────────────────────────

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

/** User + system CPU time of a process, in ms. */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime, stime (fields 14, 15)
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
export function procMem(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** Bytes a process has caused to be written to storage so far (/proc/<pid>/io write_bytes). */
export function procWriteBytes(pid: number): number {
  try {
    return Number(/^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (all CPUs). */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
  const idle = line[3]! + line[4]!;
  return { busy: total - idle, total };
}

export interface CpuWindow {
  /** Machine utilisation over the window, 0–100 % of all CPUs. */
  machinePct: number;
  /** CPU ms used by each named process during the window. */
  procMs: Record<string, number>;
  /** CPU ms of everything else on the machine (other users of the machine, the kernel's own work). */
  otherMs: number;
  /** Bytes written to storage by each named child process during the window. */
  writeBytes: Record<string, number>;
  wallMs: number;
}

/** Measures CPU use between start() and stop(): the machine's, and per named PID. */
export class CpuMeter {
  private m0 = machineJiffies();
  private p0 = new Map<string, number>();
  private w0 = new Map<string, number>();
  private t0 = Date.now();
  constructor(private readonly pids: Record<string, number>) {
    for (const [name, pid] of Object.entries(pids)) {
      this.p0.set(name, name === 'bench' ? selfCpuMs() : procCpuMs(pid));
      if (name !== 'bench') this.w0.set(name, procWriteBytes(pid));
    }
  }
  stop(): CpuWindow {
    const m1 = machineJiffies();
    const procMs: Record<string, number> = {};
    const writeBytes: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        procMs[name] = (name === 'bench' ? selfCpuMs() : procCpuMs(pid)) - this.p0.get(name)!;
        if (name !== 'bench') writeBytes[name] = procWriteBytes(pid) - this.w0.get(name)!;
      } catch { /* exited */ }
    }
    const total = m1.total - this.m0.total;
    const busyMs = ((m1.busy - this.m0.busy) * 1000) / CLK_TCK;
    const ours = Object.values(procMs).reduce((a, b) => a + b, 0);
    return {
      machinePct: total > 0 ? ((m1.busy - this.m0.busy) / total) * 100 : NaN, procMs, otherMs: Math.max(0, busyMs - ours), writeBytes,
      wallMs: Date.now() - this.t0,
    };
  }
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Polls a process' RSS every `everyMs` and keeps the maximum seen. */
export class RssSampler {
  maxMb = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly pid: number, everyMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample(): void {
    try {
      this.maxMb = Math.max(this.maxMb, procMem(this.pid).rssMb);
    } catch { /* exited */ }
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.maxMb;
  }
}
