/** Which custom-list entries count as over-broad (src/policy/list-guard.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { broadEntryProblem, listGuardSettings } from '../../src/policy/list-guard.js';

describe('broadEntryProblem', () => {
  const broad = ['0.0.0.0/0', '128.0.0.0/1', '10.0.0.0/7', '::/0', '2000::/3', '::ffff:0:0/96', '::ffff:10.0.0.0/100',
    '*', '*.*', '**', '*.com', '*.internal.'];
  const specific = ['10.0.0.0/8', '203.0.113.0/24', '198.51.100.7', '0.0.0.0', '2001:db8::/32', '::ffff:10.0.0.0/104',
    '*.example.com', 'example.com', 'jdoe', '0.0.0.0/33', 'not-a-cidr/0', ''];
  for (const item of broad) it(`${item} is over-broad`, () => assert.notEqual(broadEntryProblem(item), null));
  for (const item of specific) it(`"${item}" is not`, () => assert.equal(broadEntryProblem(item), null));

  it('follows the operator\'s thresholds', () => {
    const g = listGuardSettings({ minIpv4Prefix: 16, minIpv6Prefix: 48 });
    assert.match(broadEntryProblem('172.16.0.0/12', g)!, /shorter than \/16/);
    assert.match(broadEntryProblem('2001:db8::/32', g)!, /shorter than \/48/);
    assert.equal(broadEntryProblem('192.168.0.0/16', g), null);
  });

  it('falls back to the defaults on a stored value that is not a setting', () => {
    assert.deepEqual(listGuardSettings({ minIpv4Prefix: 'x', minIpv6Prefix: 500 }), { minIpv4Prefix: 8, minIpv6Prefix: 32 });
    assert.deepEqual(listGuardSettings(null), { minIpv4Prefix: 8, minIpv6Prefix: 32 });
  });
});
