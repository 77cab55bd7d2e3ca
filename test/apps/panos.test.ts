import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { panosApp } from '../../src/apps/panos/index.js';
import { PanosSimulator } from '../../src/lab/panos-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';

const { blockIp, unblockIp, listBlocked } = panosApp.actions;
type Cfg = Parameters<typeof blockIp.handler>[1]['config'];

function ctx(config: Cfg) {
  return { config, idempotencyKey: 'run-1:3', signal: new AbortController().signal, attempt: 1, log() {} };
}

function cfgFor(sim: PanosSimulator, over: Partial<Cfg> = {}): Cfg {
  return {
    url: sim.url, apiKey: 'test-key', vsys: 'vsys1', addressGroup: 'riposte-block',
    commitPollIntervalMs: 5, commitTimeoutMs: 5_000, ...over,
  };
}

/** Sends a raw API request to the simulator, as another administrator would. */
async function raw(sim: PanosSimulator, params: Record<string, string>): Promise<string> {
  const res = await fetch(`${sim.url}/api/`, {
    method: 'POST', headers: { 'x-pan-key': 'test-key', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return res.text();
}

const VSYS = "/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys1']";

async function rejects<E extends Error>(p: Promise<unknown>, cls: new (...a: any[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${cls.name}, but it resolved`);
}

describe('PAN-OS app against the lab simulator', () => {
  let sim: PanosSimulator;
  before(async () => {
    sim = new PanosSimulator({ apiKeys: ['test-key'], commitDelayMs: 20 });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('blocks an IP with exactly one commit and a capability-compatible output', async () => {
    const out = await blockIp.handler({ ip: '203.0.113.7', comment: 'alert <42> & co' }, ctx(cfgFor(sim)));
    assert.equal(sim.isBlocked('203.0.113.7'), true);
    assert.equal(sim.commitCount(), 1);
    assert.equal(sim.blockCount('203.0.113.7'), 1);
    const parsed = capabilities.firewall.blockIp.output.parse(out);
    assert.deepEqual(parsed, { blocked: true, ip: '203.0.113.7', detail: out.detail });
    assert.equal(out.objectName, 'riposte-203-0-113-7');
    assert.match(String(out.jobId), /^\d+$/);
    // The key travels in the X-PAN-KEY header, never in the URL.
    assert.ok(sim.calls.every((c) => !('key' in c.query)));
    const obj = await raw(sim, { type: 'config', action: 'get', xpath: `${VSYS}/address/entry[@name='riposte-203-0-113-7']` });
    assert.match(obj, /<ip-netmask>203\.0\.113\.7\/32<\/ip-netmask>/);
    assert.match(obj, /Blocked by Riposte: alert &lt;42&gt; &amp; co/);
  });

  it('blocking again is idempotent: still blocked, one member, no second commit job', async () => {
    const commits = sim.commitCount();
    // Same input as the first block (a retry or replay of the same step).
    const out = await blockIp.handler({ ip: '203.0.113.7', comment: 'alert <42> & co' }, ctx(cfgFor(sim)));
    assert.equal(out.blocked, true);
    assert.equal(out.jobId, undefined);
    assert.match(String(out.detail), /no changes to commit/i);
    assert.equal(sim.isBlocked('203.0.113.7'), true);
    assert.equal(sim.blockCount('203.0.113.7'), 2);
    assert.equal(sim.commitCount(), commits);
    const listed = await listBlocked.handler({ source: 'running' }, ctx(cfgFor(sim)));
    assert.deepEqual(listed.ips, ['203.0.113.7']);
  });

  it('blocks IPv6 under its canonical form and lists it', async () => {
    const out = await blockIp.handler({ ip: '2001:DB8:0:0::1' }, ctx(cfgFor(sim)));
    assert.equal(out.ip, '2001:db8::1');
    assert.equal(out.objectName, 'riposte-2001-db8--1');
    assert.equal(sim.isBlocked('2001:db8::1'), true);
    const listed = await listBlocked.handler({ source: 'running' }, ctx(cfgFor(sim)));
    assert.deepEqual([...listed.ips].sort(), ['2001:db8::1', '203.0.113.7']);
  });

  it('unblock restores the previous state and is idempotent', async () => {
    const out = await unblockIp.handler({ ip: '203.0.113.7' }, ctx(cfgFor(sim)));
    capabilities.firewall.unblockIp.output.parse(out);
    assert.equal(out.unblocked, true);
    assert.equal(sim.isBlocked('203.0.113.7'), false);
    assert.equal(sim.isBlocked('2001:db8::1'), true);
    const obj = await raw(sim, { type: 'config', action: 'show', xpath: `${VSYS}/address/entry[@name='riposte-203-0-113-7']` });
    assert.match(obj, /status="error" code="7"/);
    const again = await unblockIp.handler({ ip: '203.0.113.7' }, ctx(cfgFor(sim)));
    assert.equal(again.unblocked, true);
    assert.match(String(again.detail), /was not in group/);
  });

  it('rejects an invalid IP before sending anything', async () => {
    sim.resetRecords();
    for (const ip of ['10.0.0.256', '10.0.0.0/24', 'fe80::1%eth0', 'evil\' or 1=1']) {
      const err = await rejects(blockIp.handler({ ip }, ctx(cfgFor(sim))), TerminalError);
      assert.equal(err.applied, 'no');
    }
    assert.equal(sim.calls.length, 0);
  });

  it('turns an HTTP 200 status="error" reply into an error', async () => {
    const bad = await rejects(blockIp.handler({ ip: '198.51.100.1' }, ctx(cfgFor(sim, { vsys: 'vsys9' }))), TerminalError);
    assert.equal(bad.status, 200);
    assert.equal(bad.vendorCode, '6');
    assert.match(bad.message, /Bad Xpath/);
    sim.injectFault({ bodyIncludes: 'action=set', status: 200, body: '<response status="error" code="2"><msg><line>Internal error</line></msg></response>' });
    const internal = await rejects(blockIp.handler({ ip: '198.51.100.1' }, ctx(cfgFor(sim))), RetryableError);
    assert.equal(internal.vendorCode, '2');
  });

  it('answers "commit in progress" with a RetryableError, then succeeds once the other commit ends', async () => {
    const slow = new PanosSimulator({ apiKeys: ['test-key'], commitDelayMs: 300 });
    await slow.start(0);
    try {
      // Another administrator's change and commit.
      await raw(slow, { type: 'config', action: 'set', xpath: `${VSYS}/address/entry[@name='web']`, element: '<fqdn>www.example.com</fqdn>' });
      assert.match(await raw(slow, { type: 'commit', cmd: '<commit></commit>' }), /jobid 1/);
      const err = await rejects(blockIp.handler({ ip: '192.0.2.9' }, ctx(cfgFor(slow))), RetryableError);
      assert.equal(err.applied, 'no');
      assert.match(err.message, /Another commit is in progress/);
      assert.equal(slow.isBlocked('192.0.2.9'), false);
      await new Promise((r) => setTimeout(r, 350));
      const out = await blockIp.handler({ ip: '192.0.2.9' }, ctx(cfgFor(slow)));
      assert.equal(out.blocked, true);
      assert.equal(slow.isBlocked('192.0.2.9'), true);
    } finally {
      await slow.stop();
    }
  });

  it('gives up waiting for a slow commit with an unknown outcome', async () => {
    const slow = new PanosSimulator({ apiKeys: ['test-key'], commitDelayMs: 500 });
    await slow.start(0);
    try {
      const err = await rejects(blockIp.handler({ ip: '192.0.2.10' }, ctx(cfgFor(slow, { commitTimeoutMs: 40 }))), RetryableError);
      assert.equal(err.applied, 'unknown');
    } finally {
      await slow.stop();
    }
  });

  it('reports a failed commit job as a TerminalError with its details', async () => {
    sim.failNextCommit('address-group -> riposte-block is invalid (simulated)');
    const err = await rejects(blockIp.handler({ ip: '198.51.100.2' }, ctx(cfgFor(sim))), TerminalError);
    assert.match(err.message, /result FAIL/);
    assert.match(err.message, /simulated/);
    assert.equal(sim.isBlocked('198.51.100.2'), false);
    // A dangling group member (someone else's broken change) makes the commit fail validation.
    await raw(sim, { type: 'config', action: 'set', xpath: `${VSYS}/address-group/entry[@name='other']`, element: '<static><member>ghost</member></static>' });
    const dangling = await rejects(blockIp.handler({ ip: '198.51.100.3' }, ctx(cfgFor(sim))), TerminalError);
    assert.match(dangling.message, /'ghost' is not a valid reference/);
    await raw(sim, { type: 'config', action: 'delete', xpath: `${VSYS}/address-group/entry[@name='other']` });
    const out = await blockIp.handler({ ip: '198.51.100.3' }, ctx(cfgFor(sim)));
    assert.equal(out.blocked, true);
    assert.equal(sim.isBlocked('198.51.100.2'), true, 'the earlier uncommitted change went out with this commit');
  });

  it('generates a key from username/password, caches it, and re-keys once on 403', async () => {
    const fw = new PanosSimulator({ users: { soar: 's3cret-pw' }, commitDelayMs: 5 });
    await fw.start(0);
    try {
      const cfg = cfgFor(fw, { apiKey: undefined, username: 'soar', password: 's3cret-pw' });
      await blockIp.handler({ ip: '192.0.2.50' }, ctx(cfg));
      await blockIp.handler({ ip: '192.0.2.51' }, ctx(cfg));
      assert.equal(fw.keygenCount(), 1);
      assert.ok(fw.calls.every((c) => !JSON.stringify(c.query).includes('s3cret-pw')));
      fw.rotateKeys();
      await unblockIp.handler({ ip: '192.0.2.50' }, ctx(cfg));
      assert.equal(fw.keygenCount(), 2);
      assert.equal(fw.isBlocked('192.0.2.50'), false);
      const conn = await panosApp.testConnectivity!(ctx(cfg));
      assert.match(String(conn.detail), /lab-fw running PAN-OS 10\.2\.4/);

      const bad = await rejects(blockIp.handler({ ip: '192.0.2.52' }, ctx({ ...cfg, password: 'wrong-pw' })), TerminalError);
      assert.match(bad.message, /Invalid Credential/);
      assert.equal(bad.status, 403);
      assert.ok(!bad.message.includes('wrong-pw'));
      const badKey = await rejects(blockIp.handler({ ip: '192.0.2.52' }, ctx(cfgFor(fw, { apiKey: 'nope' }))), TerminalError);
      assert.match(badKey.message, /Invalid Credential/);
    } finally {
      await fw.stop();
    }
  });
});
