/**
 * The audit stream over syslog against a real rsyslogd (imtcp, octet-counted framing, RFC 5424
 * parser): every field parsed back; a receiver that goes away and comes back on the same port
 * loses nothing (at-least-once, resumed from the cursor). rsyslogd runs with its own config, pid
 * file and port on 127.0.0.1 and is stopped by its PID.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { memoryKeyring } from '../../src/store/audit-keyring.js';
import { AuditExporter } from '../../src/audit/export/exporter.js';
import { SyslogSink } from '../../src/audit/export/syslog-sink.js';
import { formatAuditEntry } from '../../src/audit/export/rfc5424.js';
import { requirePrograms } from '../support/real-server.js';
import { suiteTempDir } from '../support/temp-store.js';
import { until } from '../support/wait.js';

requirePrograms('the syslog audit-export suite', [{ program: 'rsyslogd', packages: 'rsyslog' }]);

const tmp = suiteTempDir('riposte-rsyslog-');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Rsyslog { out: string; stop(): Promise<void> }

/** rsyslogd in the foreground with a config of its own: imtcp on `port`, every message as JSON. */
async function startRsyslog(dir: string, port: number): Promise<Rsyslog> {
  mkdirSync(join(dir, 'work'), { recursive: true });
  const out = join(dir, 'received.jsonl');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(conf, `global(workDirectory="${dir}/work")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="audit")
template(name="json" type="string" string="%jsonmesg%\\n")
ruleset(name="audit") { action(type="omfile" file="${out}" template="json" flushOnTXEnd="on" asyncWriting="off") }
`);
  const child: ChildProcess = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
  };
  try {
    await until(`rsyslogd listening on ${port} (${stderr})`, () => new Promise<boolean>((resolve) => {
      if (child.exitCode !== null) return resolve(false);
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    }), 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { out, stop };
}

interface Received { msgid: string; 'app-name': string; 'structured-data': string; msg: string; syslogfacility: string; 'protocol-version': string }

function received(file: string): Received[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Received);
}
const entryOf = (r: Received) => JSON.parse(r.msg.replace(/^\ufeff/, '')) as { id: number; actor: string; hash: string };

describe('audit export over syslog to a real rsyslogd', () => {
  const procs: Rsyslog[] = [];
  after(async () => { for (const p of procs) await p.stop(); });

  it('rsyslog parses every entry as RFC 5424 with the structured data, in order', async () => {
    const dir = tmp.sub();
    const port = await freePort();
    const rs = await startRsyslog(dir, port);
    procs.push(rs);
    const store = new SqliteStore({ path: join(dir, 'riposte.db'), secretKey: randomBytes(32), auditKeys: memoryKeyring() });
    await store.migrate();
    try {
      await store.appendAudit({ actor: 'alice', action: 'approval.decide', target: 'approval:7', detail: { decision: 'approve' } });
      // SD-PARAM values escape '"', '\' and ']'; the octet count holds multi-byte UTF-8 and a newline.
      await store.appendAudit({ actor: 'm"al\\lo]ry', action: 'note.add', detail: { text: 'zwei\nZeilen, é ü' } });
      const sink = new SyslogSink({ host: '127.0.0.1', port });
      assert.equal(await new AuditExporter(store, sink).drain(), 2);
      await until('rsyslog to write both messages', async () => received(rs.out).length === 2, 10_000);
      const [a, b] = received(rs.out);
      assert.equal(a!['protocol-version'], '1');
      assert.equal(a!.msgid, 'approval.decide');
      assert.equal(a!['app-name'], 'riposte');
      assert.equal(a!.syslogfacility, '13', 'log audit');
      const [e1, e2] = await store.listAudit({});
      assert.equal(a!['structured-data'],
        `[riposte@32473 id="1" actor="alice" action="approval.decide" target="approval:7" hash="${e1!.hash}" prevHash="${e1!.prevHash}" keyId="${e1!.keyId}"]`);
      assert.match(b!['structured-data'], /^\[riposte@32473 id="2" actor="m\\"al\\\\lo\\]ry" action="note\.add" hash="/);
      assert.deepEqual(entryOf(a!), JSON.parse(JSON.stringify(e1)));
      assert.deepEqual(entryOf(b!), JSON.parse(JSON.stringify(e2)));
      assert.equal(await store.auditExportCursor(sink.name), 2);
    } finally {
      await store.close();
    }
  });

  it('a receiver that is down and comes back gets every entry, resumed from the cursor', async () => {
    const dir = tmp.sub();
    const port = await freePort();
    const store = new SqliteStore({ path: join(dir, 'riposte.db'), secretKey: randomBytes(32), auditKeys: memoryKeyring() });
    await store.migrate();
    const errors: string[] = [];
    const exp = new AuditExporter(store, new SyslogSink({ host: '127.0.0.1', port, timeoutMs: 2000 }), {
      pollMs: 20, minBackoffMs: 20, maxBackoffMs: 100, onError: (e) => errors.push((e as Error).message),
    });
    try {
      for (let i = 0; i < 3; i++) await store.appendAudit({ actor: 'a', action: 'login', detail: { i } });
      exp.start();
      await until('the exporter to fail against nobody', async () => errors.length >= 2, 10_000);
      assert.match(errors[0]!, /^syslog receiver 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
      for (let i = 3; i < 6; i++) await store.appendAudit({ actor: 'a', action: 'login', detail: { i } });
      const rs = await startRsyslog(dir, port);
      procs.push(rs);
      await until('all six entries at rsyslog', async () => new Set(received(rs.out).map((r) => entryOf(r).id)).size === 6, 15_000);
      const got = received(rs.out).map((r) => entryOf(r).id);
      assert.deepEqual([...new Set(got)], [1, 2, 3, 4, 5, 6], 'none lost, none skipped, in order');
    } finally {
      await exp.stop();
      await store.close();
    }
  });

  it('formats a message by RFC 5424: PRI, version, timestamp, NILVALUE target left out, BOM before MSG', () => {
    const m = formatAuditEntry({ id: 3, at: '2026-12-03T20:00:00.000Z', actor: 'x', action: 'a b', target: null, detail: null,
      prevHash: 'p', hash: 'h', keyId: null }, { hostname: 'host one' });
    assert.match(m, /^<110>1 2026-12-03T20:00:00\.000Z host_one riposte \d+ a_b \[riposte@32473 id="3" actor="x" action="a b" hash="h" prevHash="p"\] \ufeff\{/);
  });
});
