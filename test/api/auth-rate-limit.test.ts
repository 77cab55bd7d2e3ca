/**
 * Issue 13, "3,000 wrong tokens in 2.3 s met no rate limit": failed authentication is counted per
 * address and per token; beyond the limit the answer is 429 with Retry-After, before any store
 * lookup; other addresses and successful requests are not affected; memory stays bounded. The
 * window runs on an injected clock, so nothing here waits a minute.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS, assertError, makeHarness, type Harness } from './harness.js';
import { AuthFailureLimiter, addressKey } from '../../src/api/auth-limits.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';

/** The store with its credential lookups counted. */
function countingLookups(counter: { n: number }): (store: SqliteStore) => Store {
  return (store) => new Proxy(store, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const f = (v as (...a: unknown[]) => unknown).bind(target);
      if (prop !== 'findApiToken' && prop !== 'findSourceByToken') return f;
      return (...a: unknown[]) => { counter.n++; return f(...a); };
    },
  }) as Store;
}

describe('rate limit on failed authentication', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.close(); h = undefined; });
  let clock = 1_000_000;
  const now = () => clock;

  const get = (token: string, remoteAddress = '203.0.113.7') => h!.app.inject({
    method: 'GET', url: '/api/v1/incidents', remoteAddress, headers: { authorization: `Bearer ${token}` },
  });

  it('answers 429 with Retry-After to a brute force of 3,000 wrong tokens, without asking the store', async () => {
    const lookups = { n: 0 };
    h = await makeHarness({ wrapStore: countingLookups(lookups), authFailureLimits: { now } });
    const started = Date.now();
    const statuses = new Map<number, number>();
    let first429 = -1;
    for (let i = 0; i < 3000; i++) {
      const res = await get(`guess-${i}-0123456789abcdef`);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 429 && first429 < 0) {
        first429 = i;
        const body = assertError(res, 429, 'too_many_failures');
        assert.equal(body.error.message, 'too many failed authentications from this address: try again in 60 s');
        assert.equal(res.headers['retry-after'], '60');
      }
    }
    assert.equal(first429, 20, 'the 21st failure in the window is refused');
    assert.deepEqual(Object.fromEntries(statuses), { 401: 20, 429: 2980 });
    // Each of the first 20 looked up the API token and then the source (generic ingest does both; reads one).
    assert.ok(lookups.n <= 40, `store lookups: ${lookups.n}`);
    assert.ok(Date.now() - started < 20_000);

    // Another address, a good token: not slowed.
    assert.equal((await get(TOKENS.viewer, '198.51.100.9')).statusCode, 200);
    // The blocked address, even with a good token, waits: the price of stopping a guesser there.
    assertError(await get(TOKENS.viewer), 429, 'too_many_failures');
    // When the window has passed the address may try again.
    clock += 60_000;
    assert.equal((await get(TOKENS.viewer)).statusCode, 200);
    assertError(await get('guess-again-0123456789abcdef'), 401, 'unauthorized');
  });

  it('counts a token presented from many addresses against the token', async () => {
    h = await makeHarness({ authFailureLimits: { now, maxFailures: 5 } });
    const stolen = 'revoked-or-guessed-0123456789abcdef';
    for (let i = 0; i < 5; i++) assertError(await get(stolen, `192.0.2.${i + 1}`), 401, 'unauthorized');
    const body = assertError(await get(stolen, '192.0.2.200'), 429, 'too_many_failures');
    assert.match(body.error.message, /^too many failed authentications with this token: try again in \d+ s$/);
    assert.equal((await get(TOKENS.viewer, '192.0.2.200')).statusCode, 200, 'that address may still use a good token');
  });

  it('limits the Splunk webhook and the generic ingest route too, and counts a missing token', async () => {
    h = await makeHarness({ authFailureLimits: { now, maxFailures: 3 } });
    const splunk = (token: string) => h!.app.inject({
      method: 'POST', url: `/api/v1/ingest/splunk?token=${token}`, remoteAddress: '203.0.113.8',
      headers: { 'content-type': 'application/json' }, payload: '{}',
    });
    for (let i = 0; i < 3; i++) assertError(await splunk(`wrong-${i}`), 401, 'unauthorized');
    assertError(await splunk(TOKENS.splunk), 429, 'too_many_failures');
    const generic = (headers: Record<string, string>) => h!.app.inject({
      method: 'POST', url: '/api/v1/incidents', remoteAddress: '203.0.113.9', headers: { 'content-type': 'application/json', ...headers }, payload: '{}',
    });
    for (let i = 0; i < 3; i++) assertError(await generic({}), 401, 'unauthorized');
    assertError(await generic({ authorization: `Bearer ${TOKENS.generic}` }), 429, 'too_many_failures');
  });

  it('does not count successful requests', async () => {
    h = await makeHarness({ authFailureLimits: { now, maxFailures: 2 } });
    for (let i = 0; i < 50; i++) assert.equal((await get(TOKENS.viewer)).statusCode, 200);
    assert.deepEqual(h.app.authFailures.tracked(), { addresses: 0, tokens: 0 });
  });

  it('keeps memory bounded against many addresses and tokens', () => {
    const limiter = new AuthFailureLimiter({ now, maxTracked: 100, maxFailures: 3 });
    for (let i = 0; i < 5000; i++) limiter.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `t${i}`);
    assert.deepEqual(limiter.tracked(), { addresses: 100, tokens: 100 });
    // Expired windows are dropped as new ones come.
    clock += 120_000;
    limiter.fail('10.9.9.9', null);
    assert.equal(limiter.tracked().addresses, 1);
  });

  it('counts IPv6 callers by /64 and IPv4-mapped addresses as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  });

  it('refuses nonsense limits', () => {
    assert.throws(() => new AuthFailureLimiter({ windowMs: 0 }), /windowMs must be a positive number/);
    assert.throws(() => new AuthFailureLimiter({ maxFailures: -1 }), /maxFailures must be an integer >= 0/);
  });
});
