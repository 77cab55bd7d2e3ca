/**
 * Incident list and search latency with a large store: the server is stopped, the database filled
 * (fill.ts), the server started again, and each kind of query is sent one at a time through the
 * HTTP API — first page, status filter, label filter, a keyset page deep in the list, and `q`
 * searches for a user, an IP, a unique alert id and a term that matches nothing.
 */
import type { RiposteProcess } from './riposte-process.js';
import { keepAliveAgent, request } from './http.js';
import { FILL_USERS, type FillResult } from './fill.js';
import { distribution, monoMs, type Distribution } from './stats.js';

export interface QueryResult {
  name: string;
  kind: 'list' | 'search';
  latencyMs: Distribution;
  /** Rows in the last answer (sanity: a page is full, a miss is empty). */
  lastCount: number;
}

export interface MillionResult {
  incidents: number;
  totalIncidents: number;
  fill: FillResult;
  dbSizeMb: number;
  queries: QueryResult[];
}

/** Per query kind: at most `requests`, and at most ~20 s (a slow query must not hang the benchmark). */
const KIND_BUDGET_MS = 20_000;

/** `sids`: alert ids of some filled incidents (a unique term to search for). */
export async function measureQueries(srv: RiposteProcess, fill: FillResult, requests: number, sids: string[]): Promise<QueryResult[]> {
  const agent = keepAliveAgent(1);
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const deep = () => fill.firstId + rnd(Math.max(1, Math.floor((fill.lastId - fill.firstId) / 10)));
  const kinds: Array<{ name: string; kind: 'list' | 'search'; path: () => string }> = [
    { name: 'list: first page (50)', kind: 'list', path: () => '?limit=50' },
    { name: 'list: status=open', kind: 'list', path: () => '?status=open&limit=50' },
    { name: 'list: label=phishing', kind: 'list', path: () => '?label=phishing&limit=50' },
    { name: 'list: keyset page 90 % deep', kind: 'list', path: () => `?before=${deep()}&limit=50` },
    { name: 'list: status=new + label deep', kind: 'list', path: () => `?status=new&label=malware&before=${deep()}&limit=50` },
    { name: 'search: user name', kind: 'search', path: () => `?q=${encodeURIComponent(`user${rnd(FILL_USERS)}@contoso.example`)}&limit=50` },
    { name: 'search: IP address', kind: 'search', path: () => `?q=${encodeURIComponent(`203.0.${rnd(256)}.${1 + rnd(250)}`)}&limit=50` },
    { name: 'search: unique alert id', kind: 'search', path: () => `?q=${encodeURIComponent(sids[rnd(sids.length)]!.slice(-24))}&limit=50` },
    { name: 'search: no match', kind: 'search', path: () => `?q=no-such-host-${rnd(1_000_000)}&limit=50` },
  ];
  const out: QueryResult[] = [];
  for (const k of kinds) {
    const lat: number[] = [];
    let lastCount = 0;
    const started = monoMs();
    for (let i = 0; i < requests && (i < 10 || monoMs() - started < KIND_BUDGET_MS); i++) {
      const t = monoMs();
      const res = await request(agent, 'GET', `${srv.url}/api/v1/incidents${k.path()}`, undefined, srv.adminHeaders);
      lat.push(monoMs() - t);
      if (res.status !== 200) throw new Error(`${k.name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      lastCount = (JSON.parse(res.body) as { incidents: unknown[] }).incidents.length;
    }
    out.push({ name: k.name, kind: k.kind, latencyMs: distribution(lat), lastCount });
  }
  agent.destroy();
  return out;
}
