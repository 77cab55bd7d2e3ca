/**
 * The egress guard: where an app may connect on an asset's behalf (SSRF defence). Policy, in
 * src/common/ip-ranges.ts terms:
 *
 * - HTTP apps speak http and https only (`file:`, `gopher:`, … are refused when the asset is
 *   saved and again for every request); no credentials in URLs.
 * - Never reachable: link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10,
 *   fd00:ec2::254), 0.0.0.0/8, multicast, broadcast/reserved, unspecified.
 * - Loopback and private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) only for an
 *   asset whose operator allowed them (`riposte assets add … --egress-allow loopback|private|CIDR`).
 * - Public addresses: always (each app's own allow-list, e.g. the HTTP app's `allowedHosts`,
 *   narrows further).
 *
 * Checked on the address actually connected to: a host name goes through `guardedLookup` (the
 * `lookup` of every socket the apps open), so a name that resolves — or re-resolves, DNS
 * rebinding — to a refused address is refused before the connection is made; an IP literal (after
 * the WHATWG URL parser's normalisation: 2130706433, 0177.0.0.1 and 127.1 are all 127.0.0.1) is
 * checked before the request. Every redirect hop is a new request and is checked the same way.
 *
 * Failure semantics: a refusal happens before any byte leaves, so it is an `EgressRefused`, which
 * the HTTP client turns into a TerminalError with applied 'no' (not retried: the policy will not
 * change between attempts).
 *
 * Scope: the broker runs every handler and reconcile of an asset, and `riposte assets test` its
 * connectivity test, inside `withEgressPolicy(asset)`. Code that calls an app outside any asset
 * (tests of the apps against local simulators) gets `UNSCOPED`: the never-reachable ranges only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import dns from 'node:dns';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { addressAllowed, compileAllowance, type EgressAllowance } from './ip-ranges.js';

/** A destination refused by the egress policy; nothing was sent. */
export class EgressRefused extends Error {
  readonly code = 'ERR_EGRESS_REFUSED';
  constructor(reason: string) {
    super(`refused by the egress policy: ${reason}`);
    this.name = 'EgressRefused';
  }
}

/** The egress policy in force for one asset. */
export interface EgressPolicy {
  /** The asset it belongs to (messages), or '' outside an asset. */
  readonly asset: string;
  readonly allowance: EgressAllowance;
  /** A stable key: connections are pooled per policy, so one asset never reuses another's socket. */
  readonly key: string;
  /** `lookup` for net/tls/http: resolves, then refuses unless every address is allowed. */
  readonly lookup: net.LookupFunction;
}

const HINT = (asset: string) => asset === ''
  ? ''
  : `; an operator may allow it for asset "${asset}" with riposte assets add ${asset} --replace … `
    + '--egress-allow loopback|private|<CIDR>';

/** Why `ip` may not be connected to under `p`, or null. */
export function addressProblem(p: EgressPolicy, ip: string): string | null {
  const r = addressAllowed(p.allowance, ip);
  if (r.ok) return null;
  // Never-reachable ranges cannot be allowed: no hint.
  return /loopback|private/.test(r.reason) ? `${r.reason}${HINT(p.asset)}` : r.reason;
}

function policyFor(asset: string, entries: readonly string[]): EgressPolicy {
  const allowance = compileAllowance(entries);
  const p: EgressPolicy = {
    asset, allowance, key: allowance.entries.join(','),
    lookup: (hostname, options, callback) => guardedLookup(p, hostname, options, callback),
  };
  return p;
}

const policies = new Map<string, EgressPolicy>();
const MAX_POLICIES = 256;

/** The policy of an asset with these allowances (cached: assets are few). */
export function egressPolicy(asset: string, entries: readonly string[]): EgressPolicy {
  const k = `${asset}\0${[...entries].sort().join(',')}`;
  let p = policies.get(k);
  if (p === undefined) {
    p = policyFor(asset, entries);
    if (policies.size >= MAX_POLICIES) policies.clear();
    policies.set(k, p);
  }
  return p;
}

/** Outside any asset: never-reachable ranges refused, loopback and private allowed. */
export const UNSCOPED: EgressPolicy = policyFor('', ['loopback', 'private']);

const scope = new AsyncLocalStorage<EgressPolicy>();

/** Runs `fn` (an app handler, a connectivity test) under an asset's egress policy. */
export function withEgressPolicy<T>(policy: EgressPolicy, fn: () => T): T {
  return scope.run(policy, fn);
}

/** The policy in force here: the asset's inside `withEgressPolicy`, else UNSCOPED. */
export function currentEgressPolicy(): EgressPolicy {
  return scope.getStore() ?? UNSCOPED;
}

type LookupCallback = Parameters<net.LookupFunction>[2];

/** dns.lookup with the policy applied to every address the name resolves to. */
function guardedLookup(
  p: EgressPolicy, hostname: string, options: dns.LookupOptions, callback: LookupCallback,
): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    // Refused when any address is: a name that also points at metadata is not one to trust.
    for (const a of addresses) {
      const problem = addressProblem(p, a.address);
      if (problem !== null) return callback(new EgressRefused(`${hostname} resolves to ${problem}`), '', 0);
    }
    // net asks for every address (`all`) when it races IPv4 and IPv6 (autoSelectFamily).
    type AllCallback = (e: null, a: dns.LookupAddress[]) => void;
    if (options.all === true) return (callback as unknown as AllCallback)(null, addresses);
    const first = addresses[0];
    if (first === undefined) {
      return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    }
    callback(null, first.address, first.family);
  });
}

/** The host of a URL without IPv6 brackets. */
export function bareHost(u: URL): string {
  return u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
}

/**
 * Why a request to `u` is refused before any connection (scheme, credentials, an IP literal the
 * policy refuses), or null; host names are checked when they resolve (`policy.lookup`).
 */
export function urlProblem(p: EgressPolicy, u: URL): string | null {
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `scheme ${u.protocol.slice(0, 20)} is not http or https`;
  }
  if (u.username !== '' || u.password !== '') return 'credentials in the URL are not allowed';
  const host = bareHost(u);
  return isIP(host) === 0 ? null : addressProblem(p, host);
}

/**
 * `net.connect(port, host)` — or `tls.connect` with `tlsOptions` — under the policy, for clients
 * that take a connection factory (ldapts): an IP literal fails at once, a name when it resolves.
 */
export function guardedConnect(
  p: EgressPolicy, port: number, host: string, tlsOptions?: tls.ConnectionOptions,
): net.Socket {
  const problem = isIP(host) === 0 ? null : addressProblem(p, host);
  if (problem !== null) {
    // A socket that fails while "connecting", as a refused name would (clients such as ldapts
    // treat a fresh unconnected socket as open and write to it).
    const refuse: net.LookupFunction = (_h, _o, cb) => cb(new EgressRefused(problem), '', 0);
    return net.connect({ port, host: 'egress-refused.invalid', lookup: refuse });
  }
  if (tlsOptions === undefined) return net.connect({ port, host, lookup: p.lookup });
  const servername = isIP(host) === 0 ? { servername: host } : {};
  return tls.connect({ ...servername, ...tlsOptions, port, host, lookup: p.lookup });
}

/** The EgressRefused in an error's cause chain, if any. */
export function egressRefusal(err: unknown): EgressRefused | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== null && typeof e === 'object'; i++) {
    if (e instanceof EgressRefused) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Apps that speak something other than HTTP in their URL fields (every other app: http, https). */
const URL_SCHEMES: Readonly<Record<string, readonly string[]>> = { 'ldap-directory': ['ldap:', 'ldaps:'] };
/** Anything that reads as a URL: `scheme://…`, or a scheme that needs no `//` (file:, data:, …). */
const URL_LIKE = /^([a-z][a-z0-9+.-]*:\/\/|(file|data|gopher|dict|ftp|jar|netdoc|javascript|ldap|ldaps):)/i;

/**
 * Why an asset's configuration (non-secret fields and secrets together) points where its egress
 * policy refuses, checked when the asset is saved: every URL-valued field must use the app's
 * schemes (http/https) without credentials, and an IP literal in it (or in a `host` field) must
 * be allowed. Host names are checked when they resolve. Messages name fields, never values (a
 * value may be a secret).
 */
export function assetEgressProblems(
  appId: string, asset: string, fields: Record<string, unknown>, egressAllow: readonly string[],
): string[] {
  const p = egressPolicy(asset, egressAllow);
  const schemes = URL_SCHEMES[appId] ?? ['http:', 'https:'];
  const out: string[] = [];
  const hostProblem = (host: string) => {
    const problem = isIP(host) === 0 ? null : addressProblem(p, host);
    return problem === null ? null : problem.split(host).join('its host');
  };
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string') continue;
    if (field === 'host') {
      const problem = hostProblem(value.replace(/^\[|\]$/g, ''));
      if (problem !== null) out.push(`${field}: refused by the egress policy: ${problem}`);
      continue;
    }
    if (!URL_LIKE.test(value.trim())) continue;
    let u: URL;
    try {
      u = new URL(value.trim());
    } catch {
      continue; // the app's own schema reports a malformed URL
    }
    if (!schemes.includes(u.protocol)) {
      out.push(`${field}: refused by the egress policy: scheme ${u.protocol.slice(0, 20)} is not `
        + `${schemes.map((s) => s.slice(0, -1)).join(' or ')}`);
      continue;
    }
    if (u.username !== '' || u.password !== '') {
      out.push(`${field}: refused by the egress policy: credentials in the URL are not allowed`);
      continue;
    }
    const problem = hostProblem(bareHost(u));
    if (problem !== null) out.push(`${field}: refused by the egress policy: ${problem}`);
  }
  return out;
}
