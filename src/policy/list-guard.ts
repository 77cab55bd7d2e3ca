/**
 * Over-broad custom-list entries: an item that covers every address or domain, or nearly. In an
 * allow-list such an entry makes every later alert close as benign; in a block list it blocks
 * everything. Only a caller with `lists.admin` may add one (routes/lists.ts); the CLI works on the
 * data directory directly and so is an administrator already.
 *
 * Syntax is someone else's concern (ip-match.ts `validateListItem`): an item that is not a CIDR or
 * a wildcard domain is never broad here.
 */
import { BlockList, isIP } from 'node:net';

/** Shortest prefix that is still specific enough: an IPv4 /7 or IPv6 /31 (and shorter) is broad. */
export interface ListGuardSettings {
  minIpv4Prefix: number;
  minIpv6Prefix: number;
}

export const LIST_GUARD_SETTING = 'lists.guard';
export const DEFAULT_LIST_GUARD: ListGuardSettings = { minIpv4Prefix: 8, minIpv6Prefix: 32 };

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d): a matcher treats IPv4 values as inside them, so
// `::ffff:0:0/96` is as broad as 0.0.0.0/0.
const mapped = new BlockList();
mapped.addSubnet('::ffff:0:0', 96, 'ipv6');

function subnet(address: string, prefix: number, family: 'ipv4' | 'ipv6'): BlockList | null {
  const b = new BlockList();
  try {
    b.addSubnet(address, prefix, family);
    return b;
  } catch {
    return null;
  }
}

function cidrProblem(item: string, g: ListGuardSettings): string | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(item);
  if (!m) return null;
  const address = m[1]!;
  const prefix = Number(m[2]);
  const family = isIP(address);
  if (family === 4) {
    if (prefix > 32 || prefix >= g.minIpv4Prefix) return null;
    return prefix === 0 ? 'it covers every IPv4 address'
      : `its prefix /${prefix} is shorter than /${g.minIpv4Prefix} (2^${32 - prefix} IPv4 addresses)`;
  }
  if (family !== 6 || prefix > 128) return null;
  if (prefix < g.minIpv6Prefix) {
    return prefix === 0 ? 'it covers every IPv6 (and IPv4) address'
      : `its prefix /${prefix} is shorter than /${g.minIpv6Prefix}`;
  }
  const b = subnet(address, prefix, 'ipv6');
  if (b === null) return null;
  if (b.check('0.0.0.0', 'ipv4') && b.check('255.255.255.255', 'ipv4')) {
    return 'it covers every IPv4 address (IPv4-mapped)';
  }
  if (prefix > 96 && mapped.check(address, 'ipv6') && prefix - 96 < g.minIpv4Prefix) {
    return `as an IPv4-mapped range it is an IPv4 /${prefix - 96}, shorter than /${g.minIpv4Prefix}`;
  }
  return null;
}

function domainProblem(item: string): string | null {
  if (!item.includes('*')) return null;
  // `*`, `*.*`, `**`: nothing but wildcards and dots.
  if (/^[*.]+$/.test(item)) return 'it matches every domain';
  // `*.com`, `*.internal`: a wildcard over a single label (a top-level domain).
  const m = /^\*\.([^.]+)\.?$/.exec(item);
  if (m) return `it matches every domain under the top-level domain .${m[1]}`;
  return null;
}

/** Why `item` is over-broad under `g`, or null when it is specific enough. */
export function broadEntryProblem(item: string, g: ListGuardSettings = DEFAULT_LIST_GUARD): string | null {
  return cidrProblem(item, g) ?? domainProblem(item);
}

/** The settings stored by an operator, checked; anything else falls back to the defaults. */
export function listGuardSettings(stored: unknown): ListGuardSettings {
  type Stored = Partial<Record<keyof ListGuardSettings, unknown>>;
  const s = (typeof stored === 'object' && stored !== null ? stored : {}) as Stored;
  const pick = (v: unknown, max: number, dflt: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : dflt;
  return {
    minIpv4Prefix: pick(s.minIpv4Prefix, 32, DEFAULT_LIST_GUARD.minIpv4Prefix),
    minIpv6Prefix: pick(s.minIpv6Prefix, 128, DEFAULT_LIST_GUARD.minIpv6Prefix),
  };
}
