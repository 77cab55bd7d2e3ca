/**
 * The nftables objects Riposte owns (one table, an IPv4 and an IPv6 set with per-element
 * timeouts, one base chain dropping traffic from and to the sets' addresses), the nft scripts that
 * create and change them, and the parsing of `nft -j` output.
 */
import { isIP } from 'node:net';
import { TerminalError } from '../../sdk/errors.js';

export type NftFamily = 'inet' | 'ip' | 'ip6';

export interface NftObjects {
  family: NftFamily;
  table: string;
  set4: string;
  set6: string;
  chain: string;
  hook: 'input' | 'forward';
  priority: number;
}

/** nft element comments hold at most 128 bytes. */
export const COMMENT_MAX_BYTES = 128;

/** Validates an IP and returns its canonical form and address family. */
export function parseIp(raw: string): { ip: string; v: 4 | 6 } {
  const s = raw.trim();
  const family = isIP(s);
  if (family === 4) return { ip: s, v: 4 };
  // Zone ids (fe80::1%eth0) cannot be set elements.
  if (family === 6 && !s.includes('%')) return { ip: new URL(`http://[${s}]/`).hostname.slice(1, -1), v: 6 };
  throw new TerminalError(`nftables: ip: "${raw}" is not a valid IPv4 or IPv6 address`, { applied: 'no' });
}

/**
 * Text that is safe inside an nft double-quoted string: nft strings have no escape sequences, so
 * double quotes become single quotes and control characters spaces; cut to 128 bytes on a
 * character boundary.
 */
export function nftComment(text: string): string {
  let s = text.replace(/"/g, "'").replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  while (Buffer.byteLength(s, 'utf8') > COMMENT_MAX_BYTES) s = [...s].slice(0, -1).join('');
  return s;
}

/** Sets the family can hold: an `ip` table only filters IPv4, an `ip6` table only IPv6. */
export function setsOf(o: NftObjects): Array<{ v: 4 | 6; name: string }> {
  const sets: Array<{ v: 4 | 6; name: string }> = [];
  if (o.family !== 'ip6') sets.push({ v: 4, name: o.set4 });
  if (o.family !== 'ip') sets.push({ v: 6, name: o.set6 });
  return sets;
}

export function setFor(o: NftObjects, v: 4 | 6): string {
  const s = setsOf(o).find((x) => x.v === v);
  if (s === undefined) {
    throw new TerminalError(`nftables: ip: an ${o.family} table cannot filter IPv${v} addresses (configure family inet)`, { applied: 'no' });
  }
  return s.name;
}

/** The rules of our chain, each identified by its comment. */
export function expectedRules(o: NftObjects): Array<{ rule: string; comment: string }> {
  return setsOf(o).flatMap(({ v, name }) => {
    const proto = v === 4 ? 'ip' : 'ip6';
    return (['saddr', 'daddr'] as const).map((dir) => {
      const comment = `riposte: drop traffic ${dir === 'saddr' ? 'from' : 'to'} addresses in @${name}`;
      return { rule: `${proto} ${dir} @${name} counter drop comment "${comment}"`, comment };
    });
  });
}

/**
 * Creates what is missing and rewrites the chain's rules, in one transaction. `add` of an existing
 * table, set or chain is a no-op; flushing the chain first keeps its rules from being duplicated.
 */
export function setupScript(o: NftObjects): string {
  const t = `${o.family} ${o.table}`;
  const lines = [`add table ${t}`];
  for (const { v, name } of setsOf(o)) lines.push(`add set ${t} ${name} { type ${v === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags timeout; }`);
  lines.push(`add chain ${t} ${o.chain} { type filter hook ${o.hook} priority ${o.priority}; policy accept; }`);
  lines.push(`flush chain ${t} ${o.chain}`);
  for (const r of expectedRules(o)) lines.push(`add rule ${t} ${o.chain} ${r.rule}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Adds (or replaces) one element. `add` then `delete` then `add` in one transaction replaces an
 * existing element atomically, so a repeated block refreshes its timeout and comment without a
 * moment where the address is allowed; the first `add` makes the `delete` never fail.
 */
export function blockScript(o: NftObjects, set: string, ip: string, ttlSeconds: number | undefined, comment: string): string {
  const t = `${o.family} ${o.table} ${set}`;
  const timeout = ttlSeconds === undefined ? '' : ` timeout ${ttlSeconds}s`;
  return [
    `add element ${t} { ${ip} }`,
    `delete element ${t} { ${ip} }`,
    `add element ${t} { ${ip}${timeout} comment "${nftComment(comment)}" }`,
  ].join('\n') + '\n';
}

export function unblockScript(o: NftObjects, set: string, ip: string): string {
  return `delete element ${o.family} ${o.table} ${set} { ${ip} }\n`;
}

export interface BlockedEntry {
  ip: string;
  expiresInSeconds?: number;
  comment?: string;
}

type NftJson = { nftables?: Array<Record<string, any>> };

function parseJson(stdout: string, what: string): Array<Record<string, any>> {
  try {
    const j = JSON.parse(stdout) as NftJson;
    if (!Array.isArray(j.nftables)) throw new Error('no "nftables" array');
    return j.nftables;
  } catch (err) {
    throw new TerminalError(`nftables: unexpected output of ${what}: ${err instanceof Error ? err.message : String(err)}`, { applied: 'no' });
  }
}

/** Elements of `nft -j list set`: plain strings, or `{elem: {val, timeout?, expires?, comment?}}`. */
export function parseSetElements(stdout: string): BlockedEntry[] {
  const set = parseJson(stdout, 'list set').find((x) => x.set !== undefined)?.set as { elem?: unknown[] } | undefined;
  const out: BlockedEntry[] = [];
  for (const e of set?.elem ?? []) {
    if (typeof e === 'string') {
      out.push({ ip: e });
      continue;
    }
    const el = (e as { elem?: Record<string, unknown> }).elem;
    if (el === undefined || typeof el.val !== 'string') continue; // ranges/prefixes are not ours
    const entry: BlockedEntry = { ip: el.val };
    if (typeof el.expires === 'number') entry.expiresInSeconds = el.expires;
    if (typeof el.comment === 'string') entry.comment = el.comment;
    out.push(entry);
  }
  return out;
}

/** Hook, priority and rule comments from `nft -j list chain` output. */
export function parseChain(stdout: string): { hook?: string; priority?: number; ruleComments: string[] } {
  const items = parseJson(stdout, 'list chain');
  const chain = items.find((x) => x.chain !== undefined)?.chain as { hook?: string; prio?: number } | undefined;
  const out: { hook?: string; priority?: number; ruleComments: string[] } = {
    ruleComments: items.flatMap((x) => (x.rule === undefined ? [] : [String(x.rule.comment ?? '')])),
  };
  if (typeof chain?.hook === 'string') out.hook = chain.hook;
  if (typeof chain?.prio === 'number') out.priority = chain.prio;
  return out;
}

/** `nft -j list tables`: nft version and the tables present. */
export function parseTables(stdout: string): { version: string; tables: Array<{ family: string; name: string }> } {
  const items = parseJson(stdout, 'list tables');
  const version = String(items.find((x) => x.metainfo !== undefined)?.metainfo?.version ?? 'unknown');
  const tables = items.flatMap((x) => (x.table === undefined ? [] : [{ family: String(x.table.family), name: String(x.table.name) }]));
  return { version, tables };
}
