/**
 * Whether an artifact value is what its "contains" type says it is (an IP address, a MAC, a
 * domain, a URL, a hash, an e-mail address, a port…). Ingestion checks every typed CEF field with
 * it (src/ingest/artifact-validation.ts) and typed custom lists check their items with it
 * (src/store/sqlite/lists.ts). Pure functions: no I/O, no state.
 *
 * A field may name several types (`['ip', 'host name']`): the value is valid when it is valid for
 * at least one of them, and only those types are kept. Types this module does not know (a
 * source's own, e.g. `device id`) are checked as text: no control or bidirectional-override
 * characters, at most TEXT_MAX characters.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

/** Longest value of a text-like type (user name, file path, an unknown type). */
export const TEXT_MAX = 1024;
const URL_MAX = 4096;
const EMAIL_MAX = 254;
const HOST_MAX = 253;

// Narrowest prefix an artifact or typed list item may name: "0.0.0.0/0", "::/0" and other
// everything-ranges are no address of anyone.
const MIN_PREFIX = { 4: 8, 6: 16 } as const;

// C0 and C1 controls, DEL, and the bidi overrides/isolates that make text read differently.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const hostnameSchema = z.hostname();
const emailSchema = z.email();
const macSchemas = [z.mac({ delimiter: ':' }), z.mac({ delimiter: '-' })];
const HEX_RE = /^[0-9a-fA-F]+$/;
const HASH_LENGTHS: Readonly<Record<string, readonly number[]>> = {
  hash: [32, 40, 64, 128], md5: [32], sha1: [40], sha256: [64], sha512: [128],
};
const URL_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'ftp:']);

/** Why `value` is not a single IP address, or null. Unspecified, IPv4-mapped and zoned addresses are refused. */
export function ipProblem(value: string): string | null {
  const family = isIP(value);
  if (family === 0) {
    return value.includes('/') ? 'a CIDR range where a single IP address is expected' : 'not an IP address';
  }
  if (value.includes('%')) return 'an IPv6 address with a zone id (%…): not meaningful off its host';
  if (family === 6 && /^::ffff:/i.test(value)) return 'an IPv4-mapped IPv6 address: send the IPv4 address itself';
  if (value === '0.0.0.0' || /^[0:]+$/.test(value)) return 'the unspecified address names no host';
  return null;
}

/**
 * Why `value` is not an IP address or a CIDR range, or null. Artifacts also need a range of
 * useful width (`broad: false`); custom lists leave over-broad entries to their own guard.
 */
export function ipOrCidrProblem(value: string, broad = false): string | null {
  const slash = value.indexOf('/');
  if (slash === -1) return ipProblem(value);
  const addr = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0 || addr.includes('%')) return 'not a CIDR range: the part before "/" is not an IP address';
  if (family === 6 && /^::ffff:/i.test(addr)) return 'an IPv4-mapped IPv6 range: send the IPv4 range itself';
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `not a CIDR range: the prefix must be 0 to ${max}`;
  const min = MIN_PREFIX[family as 4 | 6];
  if (!broad && Number(prefix) < min) return `an over-broad range (/${prefix}): at least /${min} is required`;
  return null;
}

function hostProblem(value: string): string | null {
  if (value.length > HOST_MAX) return `a host name longer than ${HOST_MAX} characters`;
  // z.hostname() takes ASCII only, so look-alike Unicode must arrive as punycode (xn--…).
  if (!hostnameSchema.safeParse(value).success) {
    return 'not a host name (letters, digits, hyphens and dots; Unicode as xn--)';
  }
  return null;
}

function urlProblem(value: string): string | null {
  if (value.length > URL_MAX) return `a URL longer than ${URL_MAX} characters`;
  if (/\s/.test(value)) return 'a URL with white space in it';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not an absolute URL';
  }
  // Reasons never quote the value: they go back to the sender and into logs.
  if (!URL_SCHEMES.has(url.protocol)) return 'a URL whose scheme is not http, https or ftp';
  if (url.hostname === '') return 'a URL without a host';
  return null;
}

function hashProblem(type: string, value: string): string | null {
  const lengths = HASH_LENGTHS[type]!;
  if (!HEX_RE.test(value)) return 'not a hexadecimal hash';
  if (!lengths.includes(value.length)) return `a hash of ${value.length} hex digits: ${type} has ${lengths.join(', ')}`;
  return null;
}

function portProblem(value: string): string | null {
  if (!/^\d{1,5}$/.test(value)) return 'not a port number (1-65535, digits only)';
  const n = Number(value);
  return n >= 1 && n <= 65535 ? null : 'a port number outside 1-65535';
}

/** The rule of one contains type; unknown types are text. */
function typeProblem(type: string, value: string): string | null {
  switch (type.toLowerCase()) {
    case 'ip': case 'ipv4': case 'ipv6': {
      const p = ipProblem(value);
      if (p !== null) return p;
      if (type === 'ipv4' && isIP(value) !== 4) return 'not an IPv4 address';
      if (type === 'ipv6' && isIP(value) !== 6) return 'not an IPv6 address';
      return null;
    }
    case 'ip/cidr': case 'cidr': return ipOrCidrProblem(value);
    case 'mac': case 'mac address':
      return macSchemas.some((s) => s.safeParse(value).success)
        ? null : 'not a MAC address (six hex pairs separated by : or -)';
    case 'domain': case 'host name': case 'hostname': return hostProblem(value);
    case 'url': return urlProblem(value);
    case 'hash': case 'md5': case 'sha1': case 'sha256': case 'sha512': return hashProblem(type.toLowerCase(), value);
    case 'email': case 'e-mail':
      if (value.length > EMAIL_MAX) return `an e-mail address longer than ${EMAIL_MAX} characters`;
      return emailSchema.safeParse(value).success ? null : 'not an e-mail address';
    case 'port': return portProblem(value);
    default:
      return value.length > TEXT_MAX ? `longer than ${TEXT_MAX} characters` : null;
  }
}

export interface ValueCheck {
  /** The types the value is valid for (a subset of those asked, in their order); empty when invalid. */
  valid: string[];
  /** Why it is invalid (the first type's reason, or the control characters); null when valid. */
  problem: string | null;
}

/** Checks one value against its contains types. */
export function checkValue(value: string, types: readonly string[]): ValueCheck {
  if (value === '') return { valid: [], problem: 'empty' };
  if (CONTROL_RE.test(value)) {
    return { valid: [], problem: 'control or bidirectional-override characters in the value' };
  }
  if (value.trim() !== value) return { valid: [], problem: 'white space around the value' };
  const valid: string[] = [];
  let first: string | null = null;
  for (const t of types) {
    const p = typeProblem(t, value);
    if (p === null) valid.push(t);
    else first ??= `${p} (type ${t})`;
  }
  return valid.length > 0 ? { valid, problem: null } : { valid, problem: first ?? 'no contains type' };
}

/** Why `value` is not a valid value of `type`, or null. */
export function valueProblem(type: string, value: string): string | null {
  return checkValue(value, [type]).problem;
}

/** Kinds a custom list may declare (`riposte lists create --kind`): contains types. */
export const LIST_KINDS = [
  'ip', 'domain', 'host name', 'url', 'hash', 'md5', 'sha1', 'sha256', 'email', 'mac address', 'port', 'user name',
] as const;
export type ListKind = (typeof LIST_KINDS)[number];

/**
 * The kind of an untyped list, inferred from its items: `ip` when it has items and every one is an
 * IP address or CIDR range (so an IP allow-list made before kinds existed still refuses
 * `not-an-ip`); null otherwise.
 */
export function inferListKind(items: readonly string[]): ListKind | null {
  return items.length > 0 && items.every((i) => ipOrCidrProblem(i, true) === null) ? 'ip' : null;
}

/**
 * Why `item` cannot be an item of a custom list of `kind`, or null. An `ip` list holds addresses
 * and CIDR ranges (allow-lists do); other kinds use the contains-type rules.
 */
export function listItemProblem(kind: string, item: string): string | null {
  if (kind === 'ip') {
    if (CONTROL_RE.test(item)) return 'control or bidirectional-override characters in the item';
    const p = ipOrCidrProblem(item, true);
    return p === null ? null : `${p} (list kind ip)`;
  }
  return valueProblem(kind, item);
}
