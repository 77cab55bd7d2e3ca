import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileList, ipInList, validateListItem } from '../../src/store/ip-match.js';

test('exact string match, for IPs and plain strings', () => {
  assert.equal(ipInList('evil.example.com', ['good.example.com', 'evil.example.com']), true);
  assert.equal(ipInList('bob', ['alice']), false);
  assert.equal(ipInList('192.0.2.7', ['192.0.2.7']), true);
  assert.equal(ipInList('192.0.2.8', ['192.0.2.7']), false);
  assert.equal(ipInList('anything', []), false);
});

test('IPv4 address inside a CIDR entry', () => {
  const items = ['10.0.0.0/8', '192.168.1.0/24'];
  assert.equal(ipInList('10.200.3.4', items), true);
  assert.equal(ipInList('192.168.1.255', items), true);
  assert.equal(ipInList('192.168.2.1', items), false);
  assert.equal(ipInList('11.0.0.1', items), false);
  assert.equal(ipInList('1.2.3.4', ['0.0.0.0/0']), true);
  assert.equal(ipInList('1.2.3.4', ['1.2.3.4/32']), true);
});

test('IPv6 address inside a CIDR entry, and IPv6 notation differences', () => {
  assert.equal(ipInList('2001:db8:abcd::1', ['2001:db8::/32']), true);
  assert.equal(ipInList('2001:db9::1', ['2001:db8::/32']), false);
  assert.equal(ipInList('2001:0DB8:0000::0001', ['2001:db8::1']), true); // same address, other spelling
  assert.equal(ipInList('10.0.0.1', ['2001:db8::/32']), false);
  assert.equal(ipInList('2001:db8::1', ['10.0.0.0/8']), false);
});

test('invalid entries never match, and non-IP values never match CIDRs', () => {
  const items = ['10.0.0.0/33', '300.1.1.1/8', '2001:db8::/129', 'not-an-ip/8', '10.0.0.0/abc'];
  assert.equal(ipInList('10.0.0.1', items), false);
  assert.equal(ipInList('2001:db8::1', items), false);
  assert.equal(ipInList('example.com', ['10.0.0.0/8']), false);
  assert.equal(ipInList('', ['10.0.0.0/8']), false);
  // But the exact string of an invalid entry still equals itself.
  assert.equal(ipInList('not-an-ip/8', items), true);
});

test('compileList gives the same answers for repeated lookups', () => {
  const m = compileList(['10.0.0.0/8', 'host-a']);
  assert.equal(m('10.1.1.1'), true);
  assert.equal(m('host-a'), true);
  assert.equal(m('host-b'), false);
});

test('validateListItem accepts IPs, CIDRs and plain strings', () => {
  for (const ok of ['10.0.0.0/8', '10.1.2.3/8', '0.0.0.0/0', '2001:db8::/32', '::/0', '192.0.2.1', '2001:db8::1', 'evil.example.com',
    'alice@example.com', 'https://example.com/path', 'example.com:8080/x', 'd41d8cd98f00b204e9800998ecf8427e']) {
    assert.equal(validateListItem(ok), null, ok);
  }
});

test('validateListItem reports malformed CIDRs and empty items', () => {
  for (const bad of ['10.0.0.0/33', '2001:db8::/129', '300.1.1.1/8', '10.0.0/8', '10.0.0.0/', '10.0.0.0/x', '2001:db8::zz/32', '', ' 10.0.0.1']) {
    const err = validateListItem(bad);
    assert.equal(typeof err, 'string', `expected an error for "${bad}"`);
  }
  assert.match(validateListItem('10.0.0.0/33')!, /malformed CIDR "10\.0\.0\.0\/33".*0 to 32/);
  assert.match(validateListItem('300.1.1.1/8')!, /not a valid IP address/);
});
