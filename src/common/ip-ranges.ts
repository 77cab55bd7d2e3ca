/**
 * The address ranges the egress guard (src/common/egress-guard.ts) sorts destinations into, and the
 * per-asset allowances an operator may grant (`--egress-allow loopback|private|<CIDR>`). A leaf:
 * the store validates allowances with it, the apps enforce them.
 */
import { BlockList, isIP } from 'node:net';

/** Where an address lies, as far as the egress policy is concerned. */
export type AddressClass = 'refused' | 'loopback' | 'private' | 'public';

function blocks(v4: string[], v6: string[]): BlockList {
  const b = new BlockList();
  for (const c of v4) b.addSubnet(c.split('/')[0]!, Number(c.split('/')[1]), 'ipv4');
  for (const c of v6) b.addSubnet(c.split('/')[0]!, Number(c.split('/')[1]), 'ipv6');
  return b;
}

/**
 * Never reachable, whatever an asset allows: "this network" (0/8, with 0.0.0.0), link-local (cloud
 * metadata at 169.254.169.254, AWS's fd00:ec2::254), multicast, reserved/broadcast, unspecified.
 */
export const REFUSED_RANGES = {
  v4: ['0.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4'],
  v6: ['::/128', 'fe80::/10', 'ff00::/8', 'fd00:ec2::254/128'],
};
export const LOOPBACK_RANGES = { v4: ['127.0.0.0/8'], v6: ['::1/128'] };
/** RFC 1918, carrier-grade NAT (RFC 6598), unique local (RFC 4193) and the old site-local. */
export const PRIVATE_RANGES = {
  v4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'],
  v6: ['fc00::/7', 'fec0::/10'],
};
const refused = blocks(REFUSED_RANGES.v4, REFUSED_RANGES.v6);
const loopback = blocks(LOOPBACK_RANGES.v4, LOOPBACK_RANGES.v6);
const privateNets = blocks(PRIVATE_RANGES.v4, PRIVATE_RANGES.v6);

/** The 16 bytes of an IPv6 address (as `isIP` accepts it, dotted tail and zone-free), or null. */
function ipv6Bytes(addr: string): number[] | null {
  let a = addr;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    tail = dotted[2]!.split('.').map(Number);
    a = `${dotted[1]}0:0`;
  }
  const [head, rest] = a.split('::') as [string, string | undefined];
  const hs = head === '' ? [] : head.split(':');
  const rs = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - rs.length).fill('0'), ...rs];
  if (groups.length !== 8) return null;
  const bytes = groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The IPv4 address an IPv6 address carries, when it is one that reaches IPv4 space: mapped
 * (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16). Else null.
 */
export function embeddedIpv4(addr: string): string | null {
  const b = ipv6Bytes(addr);
  if (b === null) return null;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zero(0, 12) && !zero(12, 15)) return v4(12); // not :: or ::1
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return null;
}

/** The class of an IP address (v4 or v6, brackets removed); null when `ip` is not an address. */
export function classifyAddress(ip: string): AddressClass | null {
  const family = isIP(ip);
  if (family === 0) return null;
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    if (v4 !== null) {
      // 6to4 and NAT64 reach whatever IPv4 address they carry; so do mapped ones.
      return classifyAddress(v4);
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (refused.check(ip, type)) return 'refused';
  if (loopback.check(ip, type)) return 'loopback';
  if (privateNets.check(ip, type)) return 'private';
  return 'public';
}

/** Why an address of this class is refused, for messages. */
export function classReason(c: AddressClass, ip: string): string {
  if (c === 'refused') {
    const v4 = isIP(ip) === 6 ? embeddedIpv4(ip) ?? ip : ip;
    if (v4.startsWith('169.254.') || /^fe[89ab]/i.test(v4) || /^fd00:ec2:/i.test(v4)) {
      return `${ip} is link-local (where cloud metadata services live)`;
    }
    return `${ip} is an unspecified, multicast, broadcast or reserved address`;
  }
  return c === 'loopback' ? `${ip} is a loopback address` : `${ip} is in a private range`;
}

/** The allowances an asset may hold: `loopback`, `private`, or a CIDR of loopback/private space. */
export interface EgressAllowance {
  loopback: boolean;
  private: boolean;
  cidrs: BlockList;
  /** The entries as given, normalised (sorted, deduplicated): a stable key for caches. */
  entries: string[];
}

/** Why `entry` cannot be an egress allowance, or null when it can. */
export function allowanceProblem(entry: unknown): string | null {
  if (entry === 'loopback' || entry === 'private') return null;
  const shown = typeof entry === 'string' ? JSON.stringify(entry.slice(0, 60)) : typeof entry;
  const m = typeof entry === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(entry) : null;
  const family = m ? isIP(m[1]!) : 0;
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) {
    return `egress allowance ${shown} is not loopback, private or a CIDR (e.g. 10.20.0.0/16)`;
  }
  // A CIDR that covers never-reachable space (169.254.169.254, 0.0.0.0/0 …) is refused whole.
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const net = new BlockList();
  net.addSubnet(m[1]!, Number(m[2]), type);
  for (const r of family === 4 ? REFUSED_RANGES.v4 : REFUSED_RANGES.v6) {
    const one = new BlockList();
    one.addSubnet(r.split('/')[0]!, Number(r.split('/')[1]), type);
    // Two CIDRs overlap exactly when one holds the other's first address.
    if (net.check(r.split('/')[0]!, type) || one.check(m[1]!, type)) {
      return `egress allowance ${shown} overlaps ${r}, which is never reachable (link-local/metadata, `
        + 'unspecified, multicast or broadcast); name the loopback or private network instead';
    }
  }
  return null;
}

/** The allowance of an asset's entries; throws on an invalid one (the store has validated them). */
export function compileAllowance(entries: readonly string[]): EgressAllowance {
  const cidrs = new BlockList();
  for (const e of entries) {
    const problem = allowanceProblem(e);
    if (problem !== null) throw new Error(problem);
    if (e === 'loopback' || e === 'private') continue;
    const [addr, len] = e.split('/') as [string, string];
    cidrs.addSubnet(addr, Number(len), isIP(addr) === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    loopback: entries.includes('loopback'), private: entries.includes('private'), cidrs,
    entries: [...new Set(entries)].sort(),
  };
}

/** Whether the allowance lets a connection reach `ip` (always for public addresses). */
export function addressAllowed(a: EgressAllowance, ip: string): { ok: true } | { ok: false; reason: string } {
  const c = classifyAddress(ip);
  if (c === null) return { ok: false, reason: `${ip} is not an IP address` };
  if (c === 'public') return { ok: true };
  if (c === 'refused') return { ok: false, reason: classReason(c, ip) };
  if (c === 'loopback' ? a.loopback : a.private) return { ok: true };
  const v4 = isIP(ip) === 6 ? embeddedIpv4(ip) : null;
  const probe = v4 ?? ip;
  if (a.cidrs.check(probe, isIP(probe) === 4 ? 'ipv4' : 'ipv6')) return { ok: true };
  return { ok: false, reason: classReason(c, ip) };
}
