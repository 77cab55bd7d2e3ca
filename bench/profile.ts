/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function and per
 * area of the code (Riposte's engine, store, apps, API; SQLite; HTTP; JSON; GC …).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of sampled time per area, largest first. */
  areas: Array<{ area: string; pct: number; ms: number }>;
  /** Top functions by self time. */
  top: Array<{ fn: string; where: string; pct: number; ms: number }>;
}

/** Which part of the system a frame belongs to, from its script URL. */
function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'V8 garbage collector';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8/native (program)';
  if (url === '') return fn.startsWith('(') ? `V8 ${fn}` : 'native (SQLite via better-sqlite3, JSON, crypto …)';
  const m = /\/dist\/(src|playbooks)\/([^/]+)(?:\/([^/]+))?/.exec(url);
  if (m) return m[1] === 'playbooks' ? 'playbook' : `riposte ${m[2]}${m[2] === 'apps' && m[3] ? `/${m[3]}` : ''}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm ${nm[1]}`;
  if (url.startsWith('node:internal/deps/undici')) return 'node undici (fetch)';
  if (/^node:internal\/(http|_http)|^node:_http|node:internal\/streams|node:net|node:internal\/stream_base/.test(url)) return 'node http/net/streams';
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  return url;
}

export function summariseProfile(path: string, topN = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0;
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = functionName || '(anonymous)';
    const area = areaOf(fn, url);
    if (area === 'idle') continue;
    total += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = url === '' ? '' : `${url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${fn}@${where}`;
    const e = fns.get(key) ?? { fn, where, us: 0 };
    e.us += us;
    fns.set(key, e);
  }
  const pct = (us: number) => round((us / Math.max(1, total)) * 100, 1);
  return {
    file: path,
    totalMs: round(total / 1000, 0),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, pct: pct(us), ms: round(us / 1000, 0) })),
    top: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((e) => ({ fn: e.fn, where: e.where, pct: pct(e.us), ms: round(e.us / 1000, 0) })),
  };
}

/** The newest .cpuprofile in `dir`, or undefined. */
export function latestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length === 0 ? undefined : join(dir, files[files.length - 1]!);
}
