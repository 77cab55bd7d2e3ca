/**
 * Matching of values against custom-list items: exact string equality, or an IP address inside
 * an IP/CIDR item (IPv4 and IPv6, via node:net's BlockList). Invalid items never match.
 */
import { BlockList, isIP } from 'node:net';

const MAX_ITEM_LENGTH = 1024;

/** Names of custom lists: they appear in URLs, CLI arguments and playbook code, so they stay plain. */
export const LIST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why `name` cannot name a custom list, or null when it can. */
export function listNameProblem(name: unknown): string | null {
  if (typeof name === 'string' && LIST_NAME_RE.test(name)) return null;
  const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name;
  return `invalid list name ${shown}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`;
}

interface ParsedCidr { address: string; prefix: number; family: 4 | 6 }

/** Parses `addr/prefix`; null when the item is not a (valid) CIDR. */
function parseCidr(item: string): ParsedCidr | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(item);
  if (!m) return null;
  const family = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return null;
  return { address: m[1]!, prefix, family: family as 4 | 6 };
}

/** Builds a matcher once for many lookups against the same items. */
export function compileList(items: readonly string[]): (value: string) => boolean {
  const exact = new Set(items);
  const blocks = new BlockList();
  let hasIpEntries = false;
  for (const item of items) {
    try {
      const fam = isIP(item);
      if (fam !== 0) {
        blocks.addAddress(item, fam === 4 ? 'ipv4' : 'ipv6');
        hasIpEntries = true;
        continue;
      }
      const cidr = parseCidr(item);
      if (cidr) {
        blocks.addSubnet(cidr.address, cidr.prefix, cidr.family === 4 ? 'ipv4' : 'ipv6');
        hasIpEntries = true;
      }
    } catch {
      // Anything BlockList refuses is an invalid entry: it simply never matches.
    }
  }
  return (value: string): boolean => {
    if (exact.has(value)) return true;
    if (!hasIpEntries) return false;
    const fam = isIP(value);
    if (fam === 0) return false;
    try {
      return blocks.check(value, fam === 4 ? 'ipv4' : 'ipv6');
    } catch {
      return false;
    }
  };
}

/** True when `value` equals an item, or is an IP address inside an IP/CIDR item. */
export function ipInList(value: string, items: readonly string[]): boolean {
  return compileList(items)(value);
}

/**
 * Checks one list item before it is stored. Returns an error message, or null when the item is
 * acceptable. Plain strings (hostnames, user names, hashes…) are fine; items that look like a
 * CIDR (`<ip-ish>/<something>`) must be a valid one.
 */
export function validateListItem(item: string): string | null {
  if (typeof item !== 'string' || item.length === 0) return 'list item must be a non-empty string';
  if (item.trim() !== item) return `list item "${item}" has leading or trailing whitespace`;
  if (item.length > MAX_ITEM_LENGTH) return `list item is longer than ${MAX_ITEM_LENGTH} characters`;
  const slash = item.lastIndexOf('/');
  if (slash === -1) return null;
  const addr = item.slice(0, slash);
  const prefix = item.slice(slash + 1);
  const family = isIP(addr);
  // Only items whose left side is (or looks like) an IP address are treated as CIDRs.
  const looksLikeIp = family !== 0 || /^\d+(\.\d+){1,3}$/.test(addr) || (/:.*:/.test(addr) && /^[0-9A-Za-z:.]+$/.test(addr));
  if (!looksLikeIp) return null;
  if (family === 0) return `malformed CIDR "${item}": "${addr}" is not a valid IP address`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    return `malformed CIDR "${item}": prefix must be an integer from 0 to ${max}`;
  }
  return null;
}
