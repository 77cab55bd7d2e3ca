/**
 * Typed custom lists (issue 13, §2): items of a list of a kind are checked like artifact values;
 * an untyped list whose items are all IPs/CIDRs is taken as an IP list, so `not-an-ip` is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTempStore } from '../support/temp-store.js';
import { ValidationError } from '../../src/store/sqlite/common.js';

test('an ip list refuses not-an-ip and 999.999.999.999, takes addresses and CIDRs; nothing half-added', async () => {
  await using t = await openTempStore();
  const s = t.store;
  const list = await s.createList('allowed', 'allow-list', 'test', 'ip');
  assert.equal(list.kind, 'ip');
  assert.equal(await s.addListItems('allowed', ['10.0.0.1', '192.168.0.0/16', '2001:db8::/32'], 'test'), 3);
  for (const bad of ['not-an-ip', '999.999.999.999', '01.2.3.4', '<script>', 'example.com']) {
    await assert.rejects(s.addListItems('allowed', ['10.0.0.2', bad], 'test'),
      (e: unknown) => e instanceof ValidationError && /its kind is ip/.test(e.message) && /nothing was added/.test(e.message));
  }
  assert.deepEqual(await s.getListItems('allowed'), ['10.0.0.1', '192.168.0.0/16', '2001:db8::/32']);
});

test('an untyped list of IPs is taken as kind ip; an untyped list of names stays open', async () => {
  await using t = await openTempStore();
  const s = t.store;
  await s.createList('legacy-ips', null, 'test');
  await s.addListItems('legacy-ips', ['203.0.113.0/24'], 'test');
  await assert.rejects(s.addListItems('legacy-ips', ['not-an-ip'], 'test'), /taken as kind ip/);
  await s.createList('names', null, 'test');
  assert.equal(await s.addListItems('names', ['alice', 'host-7'], 'test'), 2);
});

test('other kinds: a domain list refuses a URL, a hash list a short hash; unknown kinds are refused', async () => {
  await using t = await openTempStore();
  const s = t.store;
  await s.createList('domains', null, 'test', 'domain');
  await assert.rejects(s.addListItems('domains', ['http://example.com'], 'test'), /its kind is domain/);
  assert.equal(await s.addListItems('domains', ['example.com'], 'test'), 1);
  await s.createList('hashes', null, 'test', 'sha256');
  await assert.rejects(s.addListItems('hashes', ['abc'], 'test'), /its kind is sha256/);
  await assert.rejects(s.createList('odd', null, 'test', 'colour'), /unknown list kind/);
  assert.deepEqual((await s.listLists()).map((l) => l.name), ['domains', 'hashes']);
});
