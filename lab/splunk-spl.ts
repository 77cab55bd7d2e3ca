/**
 * The sliver of SPL the Splunk simulator understands: `search` with `index=`, `field=value`
 * (`*` wildcards, case-insensitive), `field!=value`, `field::value` (indexed fields, exact) and
 * bare terms matched against `_raw`; then `| head N`, `| fields [-] a, b` and `| table a b`.
 * A search must start with `search` or `|` (a generating command: `makeresults`), as the export
 * endpoint requires; anything else fails like Splunk does ("Unknown search command").
 */

export type Row = Record<string, string>;

export interface SplResult {
  rows: Row[];
  messages: Array<{ type: string; text: string }>;
}

export class SplError extends Error {}

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(s: string, sep: RegExp): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && sep.test(ch)) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const unquote = (v: string) => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'is');
}

/** Relative (`-24h`, `-15m`, `-7d`, `-30s`), `now`, or epoch seconds → epoch seconds. */
export function parseTime(v: string | null, now: number): number | undefined {
  if (v === null || v === '') return undefined;
  if (v === 'now') return now;
  const rel = /^-(\d+)([smhd])$/.exec(v);
  if (rel) return now - Number(rel[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  throw new SplError(`Invalid earliest_time or latest_time: ${v}`);
}

export function runSpl(query: string, indexes: Map<string, Row[]>, range: { earliest?: number | undefined; latest?: number | undefined }): SplResult {
  const messages: SplResult['messages'] = [];
  const segments = splitOutsideQuotes(query.trim(), /\|/).map((s) => s.trim());
  let rows: Row[];
  let rest: string[];
  if (query.trim().startsWith('|')) {
    const [cmd, ...args] = (segments[1] ?? '').split(/\s+/);
    if (cmd !== 'makeresults') throw new SplError(`Unknown search command '${cmd ?? ''}'.`);
    const count = Number(/^count=(\d+)$/.exec(args[0] ?? '')?.[1] ?? 1);
    const t = String(Math.floor(Date.now() / 1000));
    rows = Array.from({ length: count }, () => ({ _time: t }));
    rest = segments.slice(2);
  } else {
    const [cmd, ...terms] = splitOutsideQuotes(segments[0]!, /\s/).filter((t) => t !== '');
    if (cmd !== 'search') throw new SplError(`Unknown search command '${cmd ?? ''}'.`);
    rows = search(terms, indexes, messages);
    rest = segments.slice(1);
  }
  rows = rows.filter((r) => {
    const t = Number(r._time);
    if (!Number.isFinite(t)) return true;
    return (range.earliest === undefined || t >= range.earliest) && (range.latest === undefined || t <= range.latest);
  });
  for (const seg of rest) {
    const [cmd, ...args] = splitOutsideQuotes(seg, /\s/).filter((t) => t !== '');
    if (cmd === 'head') {
      const n = Number(/^(?:limit=)?(\d+)$/.exec(args[0] ?? '10')?.[1] ?? NaN);
      if (!Number.isInteger(n)) throw new SplError("Error in 'head' command: The argument must be a positive integer.");
      rows = rows.slice(0, n);
    } else if (cmd === 'fields' || cmd === 'table') {
      const drop = cmd === 'fields' && args[0] === '-';
      const names = (drop ? args.slice(1) : args).join(' ').split(/[\s,]+/).filter(Boolean);
      rows = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => (drop ? !names.includes(k) : names.includes(k) || (cmd === 'fields' && k.startsWith('_'))))));
    } else {
      throw new SplError(`Unknown search command '${cmd ?? ''}'.`);
    }
  }
  return { rows, messages };
}

function search(terms: string[], indexes: Map<string, Row[]>, messages: SplResult['messages']): Row[] {
  let index = 'main';
  const preds: Array<(r: Row) => boolean> = [];
  for (const term of terms) {
    if (term === 'AND') continue;
    const m = /^([A-Za-z_][\w.]*)(::|!=|=)(.*)$/s.exec(term);
    if (m) {
      const [, field, op, rawValue] = m as unknown as [string, string, string, string];
      const value = unquote(rawValue);
      if (field === 'index') {
        index = value;
        continue;
      }
      if (op === '::') preds.push((r) => r[field] === value);
      else {
        const re = wildcard(value);
        preds.push(op === '=' ? (r) => r[field] !== undefined && re.test(r[field]) : (r) => r[field] === undefined || !re.test(r[field]));
      }
    } else if (term !== '*') {
      const needle = unquote(term).toLowerCase();
      preds.push((r) => (r._raw ?? '').toLowerCase().includes(needle));
    }
  }
  let pool: Row[];
  if (index.includes('*')) {
    const re = wildcard(index);
    pool = [...indexes.entries()].filter(([name]) => re.test(name)).flatMap(([, rows]) => rows);
  } else {
    const rows = indexes.get(index);
    if (rows === undefined) messages.push({ type: 'WARN', text: `Search on index '${index}' found no such index; no events were searched.` });
    pool = rows ?? [];
  }
  // Splunk returns the newest events first.
  return pool.filter((r) => preds.every((p) => p(r))).sort((a, b) => Number(b._time ?? 0) - Number(a._time ?? 0)).map((r) => ({ ...r }));
}
