/**
 * The nftables app against the real kernel: three network namespaces built here (client rp-a,
 * server rp-b, firewall rp-fw forwarding between them), the app driving `nft` inside rp-fw, and
 * ping proving that traffic is dropped while an IP is blocked and flows again afterwards.
 * Needs root, nft, ip and ping (Debian: nftables iproute2 iputils-ping).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nftablesApp } from '../../src/apps/nftables/index.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { requirePrograms, requireRoot } from '../support/real-server.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const SUITE = 'nftables app tests';
requireRoot(SUITE);
requirePrograms(SUITE, [
  { program: 'nft', packages: 'nftables' }, { program: 'ip', packages: 'iproute2' }, { program: 'ping', packages: 'iputils-ping' },
  { program: 'setpriv', packages: 'util-linux' },
]);

const { blockIp, unblockIp, listBlocked } = nftablesApp.actions;
type Cfg = Parameters<typeof blockIp.handler>[1]['config'];

// Unique per run so parallel runs and leftovers of a crashed run do not collide.
const N = process.pid % 100000;
const FW = `rp-fw-${N}`;
const A = `rp-a-${N}`;
const B = `rp-b-${N}`;
const A4 = '10.99.1.2';
const B4 = '10.99.2.2';
const A6 = 'fd99:1::2';
const B6 = 'fd99:2::2';

const cfg = (over: Partial<Cfg> = {}): Cfg => nftablesApp.config.parse({ netns: FW, ...over });

const ctx = (config: Cfg, signal?: AbortSignal) => actionContext(config, 'run-42:3', { signal });

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function nftIn(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
}

/** One echo request with a 1 s deadline; true when answered. */
function pings(from: string, to: string): boolean {
  const r = spawnSync('ip', ['netns', 'exec', from, 'ping', to.includes(':') ? '-6' : '-4', '-c1', '-W1', '-n', to], { stdio: 'ignore' });
  return r.status === 0;
}

/** Packets counted by our rule dropping traffic from addresses in `set`. */
function dropCounter(set: string, dir: 'from' | 'to' = 'from'): number {
  const j = JSON.parse(nftIn(FW, '-j', 'list', 'chain', 'inet', 'riposte', 'riposte_block')) as { nftables: any[] };
  const rule = j.nftables.find((x) => x.rule?.comment === `riposte: drop traffic ${dir} addresses in @${set}`)?.rule;
  assert.ok(rule, `rule for @${set} (${dir}) missing`);
  return rule.expr.find((e: any) => e.counter !== undefined).counter.packets as number;
}

function setElements(set: string): any[] {
  const j = JSON.parse(nftIn(FW, '-j', 'list', 'set', 'inet', 'riposte', set)) as { nftables: any[] };
  return j.nftables.find((x) => x.set !== undefined).set.elem ?? [];
}

function removeTopology(): void {
  for (const ns of [A, B, FW]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

function buildTopology(): void {
  removeTopology();
  for (const ns of [FW, A, B]) ip('netns', 'add', ns);
  // veth pairs created directly inside the namespaces: no interface name ever exists on the host.
  ip('link', 'add', `va${N}`, 'netns', A, 'type', 'veth', 'peer', 'name', `vfa${N}`, 'netns', FW);
  ip('link', 'add', `vb${N}`, 'netns', B, 'type', 'veth', 'peer', 'name', `vfb${N}`, 'netns', FW);
  for (const [ns, dev, v4, v6] of [
    [A, `va${N}`, `${A4}/24`, `${A6}/64`], [FW, `vfa${N}`, '10.99.1.1/24', 'fd99:1::1/64'],
    [B, `vb${N}`, `${B4}/24`, `${B6}/64`], [FW, `vfb${N}`, '10.99.2.1/24', 'fd99:2::1/64'],
  ] as const) {
    ip('-n', ns, 'addr', 'add', v4, 'dev', dev);
    ip('-n', ns, '-6', 'addr', 'add', v6, 'dev', dev, 'nodad');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  for (const ns of [FW, A, B]) ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', A, 'route', 'add', 'default', 'via', '10.99.1.1');
  ip('-n', B, 'route', 'add', 'default', 'via', '10.99.2.1');
  ip('-n', A, '-6', 'route', 'add', 'default', 'via', 'fd99:1::1');
  ip('-n', B, '-6', 'route', 'add', 'default', 'via', 'fd99:2::1');
  execFileSync('ip', ['netns', 'exec', FW, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
}

/** The first packets can be lost to neighbour discovery: wait until both families answer (max ~5 s). */
function warmUp(): void {
  for (const to of [B4, B6]) {
    for (let i = 0; i < 5 && !pings(A, to); i++);
  }
}

describe('nftables app in network namespaces (real kernel)', () => {
  let tmp: string;
  /** Writes an executable shell script standing in for nft. */
  const fakeNft = (name: string, body: string): string => {
    const p = join(tmp, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'riposte-nft-'));
    buildTopology();
    warmUp();
  });
  after(() => {
    removeTopology();
    rmSync(tmp, { recursive: true, force: true });
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of [A, B, FW]) assert.ok(!new RegExp(`^${ns}\\b`, 'm').test(left), `namespace ${ns} left behind`);
  });

  it('sees the namespace before anything is set up, and traffic flows through the firewall', async () => {
    const conn = await nftablesApp.testConnectivity!(ctx(cfg()));
    assert.match(String(conn.detail), new RegExp(`nft \\d+\\.\\d+\\.\\d+ in network namespace ${FW}; table inet riposte not created yet`));
    assert.equal(pings(A, B4), true, 'rp-a reaches rp-b over IPv4 before any block');
    assert.equal(pings(A, B6), true, 'rp-a reaches rp-b over IPv6 before any block');
    assert.deepEqual(await listBlocked.handler({}, ctx(cfg())), { ips: [], entries: [] });
  });

  it('blockIp drops traffic from and to the address; listBlocked shows it with its comment', async () => {
    const out = await blockIp.handler({ ip: A4, comment: 'INC-42 phishing' }, ctx(cfg()));
    const parsed = capabilities.firewall.blockIp.output.parse(out);
    assert.deepEqual(parsed, { blocked: true, ip: A4, detail: out.detail });
    assert.equal(out.set, 'blocked4');
    assert.equal(out.comment, 'riposte run-42: INC-42 phishing');
    const before = dropCounter('blocked4');
    assert.equal(pings(A, B4), false, 'traffic from the blocked client is dropped');
    assert.ok(dropCounter('blocked4') > before, 'the drop rule counted the ping');
    assert.equal(pings(B, A4), false, 'traffic to the blocked client is dropped too');
    assert.ok(dropCounter('blocked4', 'to') > 0);
    assert.equal(pings(A, B6), true, 'IPv6 of the same host is a different address and still flows');

    const listed = await listBlocked.handler({}, ctx(cfg()));
    assert.deepEqual(listed.ips, [A4]);
    assert.deepEqual(listed.entries, [{ ip: A4, set: 'blocked4', comment: 'riposte run-42: INC-42 phishing' }]);
    const conn = await nftablesApp.testConnectivity!(ctx(cfg()));
    assert.match(String(conn.detail), /table inet riposte present/);
  });

  it('blocking again is harmless: one element, rules not duplicated, counters kept, timeout refreshed', async () => {
    const counted = dropCounter('blocked4');
    const out = await blockIp.handler({ ip: A4, comment: 'INC-42 phishing', ttlSeconds: 600 }, ctx(cfg()));
    capabilities.firewall.blockIp.output.parse(out);
    assert.equal(out.ttlSeconds, 600);
    const elems = setElements('blocked4');
    assert.equal(elems.length, 1);
    assert.equal(elems[0].elem.val, A4);
    assert.equal(elems[0].elem.timeout, 600);
    const rules = JSON.parse(nftIn(FW, '-j', 'list', 'chain', 'inet', 'riposte', 'riposte_block')).nftables.filter((x: any) => x.rule);
    assert.equal(rules.length, 4);
    assert.equal(dropCounter('blocked4'), counted, 'the chain was not rebuilt');
    assert.equal(pings(A, B4), false);
    const listed = await listBlocked.handler({}, ctx(cfg()));
    assert.equal(listed.entries.length, 1);
    assert.ok(listed.entries[0]!.expiresInSeconds! > 590 && listed.entries[0]!.expiresInSeconds! <= 600);
  });

  it('unblockIp restores traffic and is idempotent', async () => {
    const out = await unblockIp.handler({ ip: A4 }, ctx(cfg()));
    assert.deepEqual(capabilities.firewall.unblockIp.output.parse(out), { unblocked: true, ip: A4, detail: out.detail });
    assert.match(String(out.detail), /removed from inet riposte blocked4/);
    assert.equal(pings(A, B4), true, 'traffic flows again');
    assert.equal(pings(B, A4), true);
    const again = await unblockIp.handler({ ip: A4 }, ctx(cfg()));
    assert.equal(again.unblocked, true);
    assert.match(String(again.detail), /was not in inet riposte blocked4/);
    assert.deepEqual((await listBlocked.handler({}, ctx(cfg()))).ips, []);
  });

  it('a block with ttlSeconds expires by itself', async () => {
    await blockIp.handler({ ip: A4, ttlSeconds: 2 }, ctx(cfg()));
    const t0 = Date.now();
    assert.equal(pings(A, B4), false, 'dropped while the element lives');
    const listed = await listBlocked.handler({}, ctx(cfg()));
    assert.ok((listed.entries[0]?.expiresInSeconds ?? 99) <= 2);
    await sleep(Math.max(0, 3000 - (Date.now() - t0)));
    assert.equal(pings(A, B4), true, 'allowed again after the timeout');
    assert.deepEqual((await listBlocked.handler({}, ctx(cfg()))).ips, []);
  });

  it('uses defaultTtlSeconds when the step gives none', async () => {
    const out = await blockIp.handler({ ip: '10.99.1.77' }, ctx(cfg({ defaultTtlSeconds: 120 })));
    assert.equal(out.ttlSeconds, 120);
    assert.equal(setElements('blocked4').find((e) => e.elem?.val === '10.99.1.77')?.elem.timeout, 120);
    await unblockIp.handler({ ip: '10.99.1.77' }, ctx(cfg()));
  });

  it('puts IPv6 addresses, canonicalized, into blocked6', async () => {
    const out = await blockIp.handler({ ip: 'FD99:1:0:0::2', comment: 'INC-43' }, ctx(cfg()));
    assert.equal(out.ip, A6);
    assert.equal(out.set, 'blocked6');
    assert.deepEqual(setElements('blocked6').map((e) => (typeof e === 'string' ? e : e.elem.val)), [A6]);
    assert.deepEqual(setElements('blocked4'), []);
    assert.equal(pings(A, B6), false, 'IPv6 traffic from the client is dropped');
    assert.equal(pings(A, B4), true, 'its IPv4 traffic is not');
    const listed = await listBlocked.handler({}, ctx(cfg()));
    assert.deepEqual(listed.entries, [{ ip: A6, set: 'blocked6', comment: 'riposte run-42: INC-43' }]);
    await unblockIp.handler({ ip: A6 }, ctx(cfg()));
    assert.equal(pings(A, B6), true);
  });

  it('keeps comments within 128 bytes and free of characters that would break the nft script', async () => {
    const comment = `INC-44 "quoted" ; } # $var \\ newline\nnext ${'é'.repeat(80)}`;
    const out = await blockIp.handler({ ip: '10.99.1.50', comment }, ctx(cfg()));
    assert.ok(Buffer.byteLength(out.comment) <= 128);
    assert.ok(out.comment.startsWith(`riposte run-42: INC-44 'quoted' ; } # $var \\ newline next é`));
    const stored = setElements('blocked4').find((e) => e.elem?.val === '10.99.1.50')?.elem.comment;
    assert.equal(stored, out.comment, 'nft stored exactly the comment we meant');
    await unblockIp.handler({ ip: '10.99.1.50' }, ctx(cfg()));
  });

  it('rejects an invalid IP before running nft', async () => {
    const log = join(tmp, 'nft-calls.log');
    const recording = fakeNft('recording-nft', `echo "$@" >> '${log}'\nexec nft "$@"`);
    for (const bad of ['10.99.1.256', '10.99.1.0/24', 'fe80::1%eth0', '1.2.3.4 }; flush ruleset; add element inet riposte blocked4 { 5.6.7.8']) {
      const err = await rejects(blockIp.handler({ ip: bad }, ctx(cfg({ nftPath: recording }))), TerminalError);
      assert.match(err.message, /not a valid IPv4 or IPv6 address/);
      assert.equal(err.applied, 'no');
      await rejects(unblockIp.handler({ ip: bad }, ctx(cfg({ nftPath: recording }))), TerminalError);
    }
    assert.equal(existsSync(log), false, 'nft was never run');
    // The recording stand-in does work when the input is valid (so the assertion above can fail).
    await listBlocked.handler({}, ctx(cfg({ nftPath: recording })));
    assert.equal(existsSync(log), true);
  });

  it('an ip-family table only takes IPv4', async () => {
    const c = cfg({ family: 'ip', table: 'riposte_v4only' });
    await blockIp.handler({ ip: A4 }, ctx(c));
    assert.equal(pings(A, B4), false);
    const err = await rejects(blockIp.handler({ ip: A6 }, ctx(c)), TerminalError);
    assert.match(err.message, /ip table cannot filter IPv6/);
    assert.deepEqual((await listBlocked.handler({}, ctx(c))).ips, [A4]);
    nftIn(FW, 'delete', 'table', 'ip', 'riposte_v4only');
    assert.equal(pings(A, B4), true);
  });

  it('refuses to reuse our chain with a different hook', async () => {
    const err = await rejects(blockIp.handler({ ip: A4 }, ctx(cfg({ hook: 'input' }))), TerminalError);
    assert.match(err.message, /exists with hook forward priority -10, but the asset says hook input/);
  });

  it('maps a missing network namespace, a missing nft and a missing privilege to TerminalErrors', async () => {
    const ghost = `rp-ghost-${N}`;
    const noNs = await rejects(blockIp.handler({ ip: A4 }, ctx(cfg({ netns: ghost }))), TerminalError);
    assert.equal(noNs.message, `nftables: network namespace ${ghost} does not exist`);
    await rejects(nftablesApp.testConnectivity!(ctx(cfg({ netns: ghost }))), TerminalError);

    const missing = join(tmp, 'no-such-nft');
    const inNs = await rejects(listBlocked.handler({}, ctx(cfg({ nftPath: missing }))), TerminalError);
    assert.match(inNs.message, /no-such-nft not found in network namespace .*; install the Debian package nftables/);
    const onHost = await rejects(listBlocked.handler({}, ctx(cfg({ netns: undefined, nftPath: missing }))), TerminalError);
    assert.match(onHost.message, /no-such-nft not found; install the Debian package nftables/);

    // The real nft, run as nobody inside the namespace.
    const unprivileged = fakeNft('nobody-nft', 'exec setpriv --reuid 65534 --regid 65534 --clear-groups nft "$@"');
    const denied = await rejects(blockIp.handler({ ip: A4 }, ctx(cfg({ nftPath: unprivileged }))), TerminalError);
    assert.match(denied.message, /needs CAP_NET_ADMIN/);
    assert.match(denied.message, /Operation not permitted/);
  });

  it('reports nft errors with nft\'s own message', async () => {
    // A set of another type under our name: creating the ruleset fails inside nft.
    nftIn(FW, 'add', 'table', 'inet', 'riposte_clash');
    nftIn(FW, 'add', 'set', 'inet', 'riposte_clash', 'blocked4', '{ type ether_addr; }');
    try {
      const err = await rejects(blockIp.handler({ ip: A4 }, ctx(cfg({ table: 'riposte_clash' }))), TerminalError);
      assert.match(err.message, /^nftables in network namespace .*: .*Error: /s);
      assert.equal(err.applied, 'no');
      assert.ok(!/\^\^\^/.test(err.message), `caret lines are dropped: ${err.message}`);
    } finally {
      nftIn(FW, 'delete', 'table', 'inet', 'riposte_clash');
    }
    assert.equal(pings(A, B4), true, 'the failed transaction applied nothing');
  });

  it('a run killed by the step timeout is retryable with an unknown outcome', async () => {
    const hung = fakeNft('hung-nft', 'exec sleep 5');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const t0 = Date.now();
    const err = await rejects(blockIp.handler({ ip: A4 }, ctx(cfg({ netns: undefined, nftPath: hung }), ac.signal)), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.ok(Date.now() - t0 < 2000, 'the child was killed, not waited for');
  });
});
