/**
 * Failed authentication is limited: each answer 401 counts against the caller's address (an IPv6
 * address by its /64, which one host usually owns whole) and against the token presented (by its
 * SHA-256). A key with `maxFailures` failures inside its window is answered 429 with Retry-After
 * until the window ends, before any store lookup — also for a good token from that address, which
 * is the price of stopping a guesser. Successful requests are never counted or slowed.
 *
 * Memory is bounded: at most `maxTracked` keys per kind. Windows are of equal length, so the map's
 * insertion order is the order in which they end; expired keys are dropped from the front, and when
 * the map is full its oldest key goes. An attacker with more addresses than that can therefore
 * reset their own counts: the limit slows a guesser by orders of magnitude, it is not a wall.
 * Counts live in this process only (a restart forgets them).
 */
import { isIP } from 'node:net';
import { ApiError } from './errors.js';

export interface FailureLimits {
  /** Failures per key and window before 429; 0 turns the limit off. */
  maxFailures: number;
  windowMs: number;
  /** Keys remembered per kind (addresses, tokens). */
  maxTracked: number;
  /** The clock (tests inject one). */
  now: () => number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = {
  maxFailures: 20, windowMs: 60_000, maxTracked: 10_000, now: () => Date.now(),
};

interface Window { start: number; count: number }

/** Fixed windows per key, bounded. */
class FailureWindows {
  private readonly windows = new Map<string, Window>();
  constructor(private readonly limits: FailureLimits) {}

  /** Milliseconds until `key` may try again; 0: it may now. */
  blockedFor(key: string, now: number): number {
    const w = this.windows.get(key);
    if (w === undefined || w.count < this.limits.maxFailures) return 0;
    return Math.max(0, w.start + this.limits.windowMs - now);
  }

  fail(key: string, now: number): void {
    const w = this.windows.get(key);
    if (w !== undefined && now < w.start + this.limits.windowMs) {
      w.count++;
      return;
    }
    if (w !== undefined) this.windows.delete(key);
    this.prune(now);
    this.windows.set(key, { start: now, count: 1 });
  }

  get size(): number {
    return this.windows.size;
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) {
      if (now < w.start + this.limits.windowMs && this.windows.size < this.limits.maxTracked) return;
      this.windows.delete(key);
    }
  }
}

/** The key an address is counted under: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64. */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`;
}

export class AuthFailureLimiter {
  readonly limits: FailureLimits;
  private readonly addresses: FailureWindows;
  private readonly tokens: FailureWindows;

  constructor(limits: Partial<FailureLimits> = {}) {
    this.limits = { ...DEFAULT_FAILURE_LIMITS, ...limits };
    const { maxFailures, windowMs, maxTracked } = this.limits;
    if (!Number.isInteger(maxFailures) || maxFailures < 0) throw new Error(`maxFailures must be an integer >= 0, got ${maxFailures}`);
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new Error(`windowMs must be a positive number, got ${windowMs}`);
    if (!Number.isInteger(maxTracked) || maxTracked < 1) throw new Error(`maxTracked must be an integer >= 1, got ${maxTracked}`);
    this.addresses = new FailureWindows(this.limits);
    this.tokens = new FailureWindows(this.limits);
  }

  /** Throws 429 (with Retry-After) when the address or the token has failed too often. */
  check(ip: string, tokenKey: string | null): void {
    if (this.limits.maxFailures === 0) return;
    const now = this.limits.now();
    const byAddress = this.addresses.blockedFor(addressKey(ip), now);
    const byToken = tokenKey === null ? 0 : this.tokens.blockedFor(tokenKey, now);
    const wait = Math.max(byAddress, byToken);
    if (wait === 0) return;
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    const what = byAddress >= byToken ? 'from this address' : 'with this token';
    throw new ApiError(429, 'too_many_failures',
      `too many failed authentications ${what}: try again in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
  }

  /** Counts a failed authentication (an answer 401). */
  fail(ip: string, tokenKey: string | null): void {
    if (this.limits.maxFailures === 0) return;
    const now = this.limits.now();
    this.addresses.fail(addressKey(ip), now);
    if (tokenKey !== null) this.tokens.fail(tokenKey, now);
  }

  /** Keys remembered (for tests of the bound). */
  tracked(): { addresses: number; tokens: number } {
    return { addresses: this.addresses.size, tokens: this.tokens.size };
  }
}
