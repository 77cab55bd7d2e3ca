import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { panosApp } from '../../src/apps/panos/index.js';
import { PanosSimulator } from '../../lab/panos-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext as ctx } from '../support/action-context.js';

const { blockIp, unblockIp, listBlocked, tagIp, untagIp } = panosApp.actions;
type Cfg = Parameters<typeof blockIp.handler>[1]['config'];

function cfgFor(sim: PanosSimulator, over: Partial<Cfg> = {}): Cfg {
  return {
    url: sim.url, apiKey: 'test-key', vsys: 'vsys1', addressGroup: 'riposte-block', blockMode: 'static-group', dagTag: 'riposte-block',
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

describe('PAN-OS app: key generation under concurrency', () => {
  it('concurrent actions with a cold key cache share one keygen', async () => {
    const fw = new PanosSimulator({ users: { soar2: 'other-pw' }, commitDelayMs: 5 });
    await fw.start(0);
    try {
      const cfg = cfgFor(fw, { apiKey: undefined, username: 'soar2', password: 'other-pw', blockMode: 'dag-tag' });
      const outs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => blockIp.handler({ ip: `192.0.2.${60 + i}` }, ctx(cfg))));
      assert.ok(outs.every((o) => o.blocked));
      assert.equal(fw.keygenCount(), 1);
    } finally {
      await fw.stop();
    }
  });
});

describe('PAN-OS app in dag-tag mode (User-ID tags, no commit)', () => {
  let sim: PanosSimulator;
  const dag = (over: Partial<Cfg> = {}): Cfg => cfgFor(sim, { blockMode: 'dag-tag', ...over });
  /** Form bodies of the requests the simulator received. */
  const bodies = (): URLSearchParams[] => sim.calls.map((c) => new URLSearchParams(c.body));
  before(async () => {
    sim = new PanosSimulator({ apiKeys: ['test-key'], commitDelayMs: 20 });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('blocks by registering the tag with the ttl as timeout, without touching config or committing', async () => {
    const out = await blockIp.handler({ ip: '203.0.113.20', comment: 'INC-7', ttlSeconds: 3600 }, ctx(dag()));
    assert.deepEqual(capabilities.firewall.blockIp.output.parse(out), { blocked: true, ip: '203.0.113.20', detail: out.detail });
    assert.equal(out.tag, 'riposte-block');
    assert.equal(out.objectName, undefined);
    assert.equal(out.jobId, undefined);
    assert.deepEqual(sim.registeredTags('203.0.113.20'), ['riposte-block']);
    const left = sim.tagTimeoutLeft('203.0.113.20', 'riposte-block');
    assert.ok(typeof left === 'number' && left > 3590 && left <= 3600, `timeout passed through (left: ${left})`);
    assert.equal(sim.commitCount(), 0, 'no commit job');
    assert.equal(sim.isBlocked('203.0.113.20'), false, 'no static group membership');
    const sent = bodies();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.get('type'), 'user-id');
    assert.equal(sent[0]!.get('vsys'), 'vsys1');
    assert.match(sent[0]!.get('cmd')!, /<register><entry ip="203\.0\.113\.20"><tag><member timeout="3600">riposte-block<\/member><\/tag><\/entry><\/register>/);
  });

  it('blocking again succeeds on "already exists, ignore"', async () => {
    sim.resetRecords();
    const out = await blockIp.handler({ ip: '203.0.113.20', ttlSeconds: 3600 }, ctx(dag()));
    assert.equal(out.blocked, true);
    assert.match(String(out.detail), /already registered/);
    assert.deepEqual(sim.registeredTags('203.0.113.20'), ['riposte-block']);
    // The simulator really answered with the error (so the app had to recognise it).
    const reply = await raw(sim, { type: 'user-id', cmd: '<uid-message><version>2.0</version><type>update</type><payload><register>' +
      '<entry ip="203.0.113.20"><tag><member>riposte-block</member></tag></entry></register></payload></uid-message>' });
    assert.match(reply, /status="error".*already exists, ignore/s);
    assert.equal(sim.commitCount(), 0);
  });

  it('without ttlSeconds the tag never expires (no timeout attribute); a ttl above 30 days is refused before sending', async () => {
    sim.resetRecords();
    await blockIp.handler({ ip: '2001:DB8::20' }, ctx(dag()));
    assert.equal(sim.tagTimeoutLeft('2001:db8::20', 'riposte-block'), null);
    assert.doesNotMatch(bodies()[0]!.get('cmd')!, /timeout=/);
    assert.match(bodies()[0]!.get('cmd')!, /entry ip="2001:db8::20"/);
    sim.resetRecords();
    const err = await rejects(blockIp.handler({ ip: '203.0.113.21', ttlSeconds: 2_592_001 }, ctx(dag())), TerminalError);
    assert.match(err.message, /ttlSeconds 2592001 exceeds .* 2592000/);
    assert.equal(err.applied, 'no');
    assert.equal(sim.calls.length, 0);
    await blockIp.handler({ ip: '203.0.113.21', ttlSeconds: 2_592_000 }, ctx(dag()));
    assert.equal(sim.registeredTags('203.0.113.21').length, 1);
    await unblockIp.handler({ ip: '203.0.113.21' }, ctx(dag()));
  });

  it('a tag registered with a short timeout drops out of listBlocked by itself', async () => {
    await blockIp.handler({ ip: '198.51.100.30', ttlSeconds: 1 }, ctx(dag()));
    assert.ok((await listBlocked.handler({ source: 'running' }, ctx(dag()))).ips.includes('198.51.100.30'));
    await new Promise((r) => setTimeout(r, 1100));
    assert.ok(!(await listBlocked.handler({ source: 'running' }, ctx(dag()))).ips.includes('198.51.100.30'));
  });

  it('listBlocked reads the IPs carrying the block tag, page by page', async () => {
    // 1100 more IPs tagged by another integration, plus IPs with other tags that must not be listed.
    const entries = Array.from({ length: 1100 }, (_, i) => `<entry ip="10.7.${Math.floor(i / 250)}.${i % 250}"><tag><member>riposte-block</member></tag></entry>`);
    entries.push('<entry ip="10.8.0.1"><tag><member>quarantine</member></tag></entry>');
    await raw(sim, { type: 'user-id', cmd: `<uid-message><version>2.0</version><type>update</type><payload><register>${entries.join('')}</register></payload></uid-message>` });
    sim.resetRecords();
    const listed = await listBlocked.handler({ source: 'running' }, ctx(dag()));
    assert.equal(listed.tag, 'riposte-block');
    assert.equal(listed.group, undefined);
    assert.equal(listed.ips.length, 1102);
    assert.equal(new Set(listed.ips).size, 1102);
    assert.ok(listed.ips.includes('203.0.113.20') && listed.ips.includes('2001:db8::20') && listed.ips.includes('10.7.4.99'));
    assert.ok(!listed.ips.includes('10.8.0.1'));
    assert.deepEqual(listed.members[0], { name: listed.ips[0], ip: listed.ips[0] });
    const starts = bodies().map((b) => /<start-point>(\d+)<\/start-point>/.exec(b.get('cmd') ?? '')?.[1]);
    assert.deepEqual(starts, ['1', '501', '1001']);
    // Static-group mode still reads the (empty) address group.
    const stat = await listBlocked.handler({ source: 'running' }, ctx(cfgFor(sim)));
    assert.deepEqual({ group: stat.group, ips: stat.ips }, { group: 'riposte-block', ips: [] });
  });

  it('unblock unregisters the tag and is idempotent ("does not exist, ignore unreg")', async () => {
    const out = await unblockIp.handler({ ip: '203.0.113.20' }, ctx(dag()));
    assert.deepEqual(capabilities.firewall.unblockIp.output.parse(out), { unblocked: true, ip: '203.0.113.20', detail: out.detail });
    assert.match(String(out.detail), /unregistered/);
    assert.deepEqual(sim.registeredTags('203.0.113.20'), []);
    sim.resetRecords();
    const again = await unblockIp.handler({ ip: '203.0.113.20' }, ctx(dag()));
    assert.equal(again.unblocked, true);
    assert.match(String(again.detail), /was not registered/);
    assert.match(bodies()[0]!.get('cmd')!, /<unregister><entry ip="203\.0\.113\.20"><tag><member>riposte-block<\/member>/);
    assert.ok(!(await listBlocked.handler({ source: 'running' }, ctx(dag()))).ips.includes('203.0.113.20'));
    assert.equal(sim.commitCount(), 0);
  });

  it('uses the configured dagTag', async () => {
    await blockIp.handler({ ip: '192.0.2.40' }, ctx(dag({ dagTag: 'soar-deny' })));
    assert.deepEqual(sim.registeredTags('192.0.2.40'), ['soar-deny']);
    assert.deepEqual((await listBlocked.handler({ source: 'running' }, ctx(dag({ dagTag: 'soar-deny' })))).ips, ['192.0.2.40']);
    await unblockIp.handler({ ip: '192.0.2.40' }, ctx(dag({ dagTag: 'soar-deny' })));
    assert.deepEqual(sim.registeredTags('192.0.2.40'), []);
  });

  it('tagIp / untagIp manage any tag, independent of the block tag, in either block mode', async () => {
    const tag = 'quarantine <lab> & "co"';
    const t = await tagIp.handler({ ip: '192.0.2.60', tag, ttlSeconds: 600 }, ctx(cfgFor(sim)));
    assert.deepEqual(t, { ip: '192.0.2.60', tag, tagged: true, alreadyTagged: false, detail: `tag ${tag} registered on 192.0.2.60 for 600 s` });
    assert.deepEqual(sim.registeredTags('192.0.2.60'), [tag], 'special characters survive XML escaping');
    assert.ok((sim.tagTimeoutLeft('192.0.2.60', tag) ?? 0) > 590);
    assert.equal((await tagIp.handler({ ip: '192.0.2.60', tag }, ctx(cfgFor(sim)))).alreadyTagged, true);
    await blockIp.handler({ ip: '192.0.2.60' }, ctx(dag()));
    assert.deepEqual(sim.registeredTags('192.0.2.60').sort(), ['riposte-block', tag].sort());
    const u = await untagIp.handler({ ip: '192.0.2.60', tag }, ctx(cfgFor(sim)));
    assert.deepEqual({ untagged: u.untagged, wasTagged: u.wasTagged }, { untagged: true, wasTagged: true });
    assert.deepEqual(sim.registeredTags('192.0.2.60'), ['riposte-block'], 'the block tag stays');
    const u2 = await untagIp.handler({ ip: '192.0.2.60', tag }, ctx(cfgFor(sim)));
    assert.equal(u2.wasTagged, false);
    assert.equal(panosApp.actions.tagIp.undo, 'untagIp');
    assert.equal(sim.commitCount(), 0);
  });

  it('validates tagIp input, naming the field', async () => {
    const tooLong = tagIp.input.safeParse({ ip: '192.0.2.1', tag: 'x', ttlSeconds: 2_592_001 });
    assert.equal(tooLong.success, false);
    assert.deepEqual(tooLong.error!.issues[0]!.path, ['ttlSeconds']);
    const badTag = tagIp.input.safeParse({ ip: '192.0.2.1', tag: 'a\nb' });
    assert.deepEqual(badTag.error!.issues[0]!.path, ['tag']);
    assert.deepEqual(tagIp.input.safeParse({ ip: '192.0.2.1', tag: '' }).error!.issues[0]!.path, ['tag']);
    sim.resetRecords();
    await rejects(tagIp.handler({ ip: '192.0.2.300', tag: 'x' }, ctx(cfgFor(sim))), TerminalError);
    await rejects(blockIp.handler({ ip: 'not-an-ip' }, ctx(dag())), TerminalError);
    assert.equal(sim.calls.length, 0);
  });

  it('maps 429, 5xx, other User-ID errors and bad credentials', async () => {
    sim.injectFault({ bodyIncludes: 'type=user-id', status: 429, headers: { 'retry-after': '3' } });
    const throttled = await rejects(blockIp.handler({ ip: '192.0.2.70' }, ctx(dag())), RetryableError);
    assert.equal(throttled.applied, 'no');
    assert.equal(throttled.retryAfterMs, 3000);
    sim.injectFault({ bodyIncludes: 'type=user-id', status: 502, body: 'Bad Gateway' });
    const bad = await rejects(blockIp.handler({ ip: '192.0.2.70' }, ctx(dag())), RetryableError);
    assert.equal(bad.applied, 'unknown');
    // An error that is not one of the two "nothing to do" messages stays an error.
    sim.injectFault({ bodyIncludes: 'type=user-id', status: 200,
      body: '<response status="error"><msg><line><uid-response><version>2.0</version><payload><register><entry ip="192.0.2.70" message="tag limit reached"/></register></payload></uid-response></line></msg></response>' });
    const refused = await rejects(blockIp.handler({ ip: '192.0.2.70' }, ctx(dag())), TerminalError);
    assert.match(refused.message, /tag limit reached/);
    assert.deepEqual(sim.registeredTags('192.0.2.70'), []);
    const denied = await rejects(blockIp.handler({ ip: '192.0.2.70' }, ctx(dag({ apiKey: 'wrong-key-123' }))), TerminalError);
    assert.match(denied.message, /Invalid Credential/);
    assert.ok(!denied.message.includes('wrong-key-123'));
    await blockIp.handler({ ip: '192.0.2.70' }, ctx(dag()));
    assert.deepEqual(sim.registeredTags('192.0.2.70'), ['riposte-block']);
  });
});
