/**
 * The benchmark's side of the lab process: starts it, reads its endpoints, and turns its ticket
 * events into per-label arrival times that the load generator can wait for.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LabEndpoints } from '../lab/index.js';
import { spawnTracked, stopChild } from './procs.js';
import { inRoot } from './paths.js';

export class TicketBoard {
  private readonly arrived = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();
  count = 0;

  record(label: string, at: number): void {
    this.count++;
    const w = this.waiters.get(label);
    if (w) {
      this.waiters.delete(label);
      w(at);
    } else {
      this.arrived.set(label, at);
    }
  }

  /** Resolves with the arrival time (monotonic ms) of the ticket labelled `label`, or rejects after `timeoutMs`. */
  wait(label: string, timeoutMs: number): Promise<number> {
    const at = this.arrived.get(label);
    if (at !== undefined) {
      this.arrived.delete(label);
      return Promise.resolve(at);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(label);
        reject(new Error(`no ticket ${label} at the Jira simulator within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(label, (v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }

  /** Forget arrivals nobody waited for (e.g. warm-up tickets). */
  clear(): void {
    this.arrived.clear();
  }
}

export interface LabProcess {
  child: ChildProcess;
  endpoints: LabEndpoints;
  tickets: TicketBoard;
  stop(): Promise<void>;
}

export async function startLabProcess(users: number): Promise<LabProcess> {
  let stderr = '';
  const child = spawnTracked(process.execPath, [inRoot('dist/bench/lab-process.js'), String(users)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const tickets = new TicketBoard();
  const lines = createInterface({ input: child.stdout! });
  const endpoints = await new Promise<LabEndpoints>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`lab process did not start within 30 s: ${stderr}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`lab process exited with ${code}: ${stderr}`)));
    lines.on('line', (line) => {
      if (line.startsWith('T ')) {
        const [, label, at] = line.split(' ');
        tickets.record(label!, Number(at));
      } else if (line.startsWith('{')) {
        clearTimeout(t);
        resolve(JSON.parse(line) as LabEndpoints);
      }
    });
  });
  return { child, endpoints, tickets, stop: () => stopChild(child) };
}
