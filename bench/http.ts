/**
 * The load generator's HTTP client: node:http with a keep-alive agent (one connection per
 * concurrent sender), cheaper per request than fetch — the load generator shares the CPUs with
 * the server and the simulators, so it should take as little of them as it can.
 */
import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
}

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export function request(agent: http.Agent, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const u = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, method, hostname: u.hostname, port: u.port, path: u.pathname + u.search,
      headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight; rejects on the first failure. */
export async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined) {
      const i = next++;
      if (i >= n) return;
      try {
        await task(i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  if (failed !== undefined) throw failed;
}
