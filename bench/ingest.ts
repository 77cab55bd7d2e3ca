/**
 * Ingestion alone: generic-route alerts whose label no playbook listens to, `concurrency` in
 * flight, each counted when the server answers 201 — which it does only after the incident is
 * committed durably (group commit, synchronous=FULL).
 */
import type { RiposteProcess } from './riposte-process.js';
import net from 'node:net';
import type { HttpResult } from './http.js';
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

/**
 * One keep-alive HTTP/1.1 connection that sends one request at a time and waits for its whole
 * answer — what an http.Agent with one socket per sender does, without node:http's per-request
 * objects (ClientRequest, IncomingMessage, header validation, stream plumbing): the load generator
 * shares the two cores with the server, and node:http's client took ~180 µs of CPU per alert.
 * Answers are read by Content-Length (the server always sends it); anything else is an error.
 */
class Connection {
  private readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: HttpResult) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  /** Sends `request` (head and body, already formatted) and resolves with the answer. */
  send(request: string): Promise<HttpResult> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.waiting) return Promise.reject(new Error('one request at a time per connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!status || !length) {
      this.fail(new Error(`unexpected answer: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buf.length < total) return;
    if (this.buf.length > total) {
      this.fail(new Error('answer longer than its Content-Length, or an unasked answer'));
      return;
    }
    const body = this.buf.toString('utf8', end + 4, total);
    this.buf = Buffer.alloc(0);
    const w = this.waiting;
    this.waiting = null;
    w?.resolve({ status: Number(status[1]), body });
  }
}

/** Sends `alerts` ingest-only alerts; returns per-alert ack latencies and the wall time. */
export async function ingestLoad(srv: RiposteProcess, alerts: number, concurrency: number, until?: () => boolean): Promise<{ latencies: number[]; wallMs: number; sent: number }> {
  const tag = `b${++batch}`;
  const latencies: number[] = [];
  const head = `POST /api/v1/incidents HTTP/1.1\r\nhost: 127.0.0.1:${srv.port}\r\nauthorization: Bearer ${srv.credentials.genericToken}\r\n`
    + 'content-type: application/json\r\ncontent-length: ';
  const conns = Array.from({ length: Math.min(alerts, concurrency) }, () => new Connection(srv.port));
  let next = 0;
  let failed: unknown;
  const t0 = monoMs();
  // One sender per connection, each with one alert in flight; the first failure stops them all.
  await Promise.all(conns.map(async (conn) => {
    try {
      while (failed === undefined && !until?.()) {
        const n = next++;
        if (n >= alerts) return;
        // Every alert is distinct (its own name and sourceId), serialised as the server receives it.
        const body = JSON.stringify(ingestOnlyAlert(n, tag));
        const sent = monoMs();
        const res = await conn.send(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
        if (res.status !== 201) throw new Error(`ingest refused: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        latencies.push(monoMs() - sent);
      }
    } catch (err) {
      failed ??= err;
    } finally {
      conn.close();
    }
  }));
  if (failed !== undefined) throw failed;
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
