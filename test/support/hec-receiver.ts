/**
 * A small Splunk HTTP Event Collector for tests: POST /services/collector/event (and its alias
 * /services/collector) with `Authorization: Splunk <token>`, a body of concatenated event envelopes,
 * and HEC's status codes and error bodies (docs: "Format events for HTTP Event Collector", the
 * error table in /work/shared/realparts/VENDOR-APIS.md §1b). `busy(n)` answers the next n requests
 * 503 code 9, as an overloaded indexer does. Cleanup: `close()`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HecEvent { time?: number; host?: string; source?: string; sourcetype?: string; index?: string; event: unknown }

export interface HecReceiver {
  url: string;
  events: HecEvent[];
  /** Authorization headers seen, to check the token travels only there. */
  requests: { auth: string | undefined; status: number }[];
  busy(n: number): void;
  close(): Promise<void>;
}

/** Splits concatenated JSON objects (`{…}{…}`, whitespace allowed between), or null when malformed. */
function splitEnvelopes(body: string): unknown[] | null {
  const out: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) {
        try {
          out.push(JSON.parse(body.slice(start, i + 1)));
        } catch {
          return null;
        }
      } else if (depth < 0) return null;
    } else if (depth === 0 && !/\s/.test(c!)) return null;
  }
  return depth === 0 && !inString ? out : null;
}

export async function startHecReceiver(token: string): Promise<HecReceiver> {
  const events: HecEvent[] = [];
  const requests: HecReceiver['requests'] = [];
  let busy = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: Record<string, unknown>): void => {
        requests.push({ auth: req.headers.authorization, status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method !== 'POST' || !['/services/collector/event', '/services/collector'].includes(path)) {
        return answer(404, { text: 'The requested URL was not found on this server.', code: 404 });
      }
      const auth = req.headers.authorization;
      if (auth === undefined) return answer(401, { text: 'Token is required', code: 2 });
      const m = /^Splunk (.+)$/.exec(auth);
      if (!m) return answer(401, { text: 'Invalid authorization', code: 3 });
      if (m[1] !== token) return answer(403, { text: 'Invalid token', code: 4 });
      if (busy > 0) {
        busy--;
        return answer(503, { text: 'Server is busy', code: 9 });
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (body.trim() === '') return answer(400, { text: 'No data', code: 5 });
      const envelopes = splitEnvelopes(body);
      if (envelopes === null) return answer(400, { text: 'Invalid data format', code: 6 });
      const bad = envelopes.findIndex((e) => typeof e !== 'object' || e === null || !('event' in e));
      if (bad >= 0) return answer(400, { text: 'Event field is required', code: 12, 'invalid-event-number': bad });
      const blank = envelopes.findIndex((e) => (e as HecEvent).event === '' || (e as HecEvent).event === null);
      if (blank >= 0) return answer(400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': blank });
      events.push(...(envelopes as HecEvent[]));
      answer(200, { text: 'Success', code: 0 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, events, requests,
    busy: (n) => { busy = n; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
