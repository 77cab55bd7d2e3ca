/**
 * Base of the lab vendor simulators: a plain node:http server on 127.0.0.1 that records every
 * call (so tests can assert what really reached the "vendor") and can inject faults (429 with
 * Retry-After, 5xx, delays, dropped connections) on matching requests.
 *
 * Every simulator also serves `GET /_lab/calls` (JSON list of recorded calls),
 * `POST /_lab/faults` (add a fault rule) and `POST /_lab/reset`, so a test can drive a simulator
 * running in another process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  seq: number;
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface FaultRule {
  method?: string;
  /** Request path must start with this. */
  pathPrefix?: string;
  /** Request body must contain this substring. */
  bodyIncludes?: string;
  /** How many matching requests the fault applies to (default 1). */
  times?: number;
  /** Reply with this status (and body/headers) instead of handling the request. */
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Delay before handling (or replying with the fault). */
  delayMs?: number;
  /** Handle the request normally, then destroy the socket without replying ("lost reply"). */
  dropReply?: boolean;
  /** Destroy the socket before handling ("never arrived"). */
  dropRequest?: boolean;
}

export interface LabRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface LabResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

/** Headers recorded per call: never Authorization or keys (tests must not see secrets in records). */
const RECORDED_HEADERS = ['content-type', 'user-agent', 'x-request-id'];

export abstract class LabServer {
  readonly calls: RecordedCall[] = [];
  private faults: Array<FaultRule & { remaining: number }> = [];
  private server: http.Server | null = null;
  private seq = 0;
  url = '';
  /** Extra latency on every vendor call: a uniformly random delay in [0, latencyMs] ms. */
  latencyMs = 0;

  /** Vendor name, for logs. */
  abstract readonly name: string;

  protected abstract handle(req: LabRequest): Promise<LabResponse> | LabResponse;

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = http.createServer((req, res) => void this.onRequest(req, res));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const addr = server.address() as AddressInfo;
    this.url = `http://${host}:${addr.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  injectFault(rule: FaultRule): void {
    this.faults.push({ ...rule, remaining: rule.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Recorded calls whose method and path match. */
  callsTo(method: string, pathPrefix: string | RegExp): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && (typeof pathPrefix === 'string' ? c.path.startsWith(pathPrefix) : pathPrefix.test(c.path)));
  }

  /** Forget recorded calls and faults (state of the simulated vendor is kept). */
  resetRecords(): void {
    this.calls.length = 0;
    this.faults = [];
  }

  private takeFault(req: LabRequest): FaultRule | undefined {
    const i = this.faults.findIndex((f) =>
      f.remaining > 0 &&
      (f.method === undefined || f.method === req.method) &&
      (f.pathPrefix === undefined || req.path.startsWith(f.pathPrefix)) &&
      (f.bodyIncludes === undefined || req.body.includes(f.bodyIncludes)));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.remaining -= 1;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://lab');
    const lreq: LabRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };

    if (lreq.path.startsWith('/_lab/')) return this.control(lreq, res);

    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, Math.random() * this.latencyMs));
    const fault = this.takeFault(lreq);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.dropRequest) {
      this.record(lreq, 0);
      req.socket.destroy();
      return;
    }
    let out: LabResponse;
    if (fault?.status !== undefined) {
      out = { status: fault.status, body: fault.body ?? '', headers: fault.headers ?? {} };
    } else {
      try {
        out = await this.handle(lreq);
      } catch (err) {
        out = { status: 500, body: { error: { code: 'InternalError', message: (err as Error).message } } };
      }
    }
    this.record(lreq, out.status);
    if (fault?.dropReply) {
      req.socket.destroy();
      return;
    }
    send(res, out);
  }

  private record(req: LabRequest, status: number): void {
    const headers: Record<string, string> = {};
    for (const h of RECORDED_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    this.calls.push({ seq: ++this.seq, at: Date.now(), method: req.method, path: req.path, query: Object.fromEntries(req.query), headers, body: req.body, status });
  }

  private control(req: LabRequest, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.path === '/_lab/calls') return send(res, { status: 200, body: this.calls });
    if (req.method === 'POST' && req.path === '/_lab/faults') {
      try {
        this.injectFault(JSON.parse(req.body) as FaultRule);
        return send(res, { status: 204 });
      } catch {
        return send(res, { status: 400, body: { error: 'fault rule must be JSON' } });
      }
    }
    if (req.method === 'POST' && req.path === '/_lab/reset') {
      this.resetRecords();
      return send(res, { status: 204 });
    }
    send(res, { status: 404, body: { error: 'unknown lab control route' } });
  }
}

export function send(res: http.ServerResponse, out: LabResponse): void {
  const headers: Record<string, string> = { ...(out.headers ?? {}) };
  let body = '';
  if (out.body !== undefined && out.body !== '') {
    if (typeof out.body === 'string') body = out.body;
    else {
      body = JSON.stringify(out.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  res.writeHead(out.status, headers);
  res.end(body);
}

/** Bearer token from an Authorization header, or undefined. */
export function bearer(headers: http.IncomingHttpHeaders): string | undefined {
  const h = headers.authorization;
  return typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined;
}
