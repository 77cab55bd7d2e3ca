/**
 * SMTP app against real SMTP servers from Debian packages, each started by this test on a free
 * loopback port and killed by PID afterwards:
 * - aiosmtpd (python3-aiosmtpd) with its Mailbox handler, which writes a real Maildir we read back;
 * - Postfix's smtp-sink (postfix), whose options inject 4xx/5xx replies, dropped connections and
 *   delays at a chosen SMTP command.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { messageIdFor, smtpApp } from '../../src/apps/smtp/index.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { requirePrograms } from '../support/real-server.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const SMTP_SINK = '/usr/sbin/smtp-sink';
const PYTHON = '/usr/bin/python3';
const { sendEmail } = smtpApp.actions;
type Cfg = Parameters<typeof sendEmail.handler>[1]['config'];

const procs: ChildProcess[] = [];
const dirs: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, proc: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port}`);
}

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'riposte-smtp-'));
  dirs.push(d);
  return d;
}

async function spawnServer(cmd: string, args: string[], port: number, what: string): Promise<ChildProcess> {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  procs.push(p);
  try {
    await waitForPort(port, p, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${stderr.trim()}`);
  }
  return p;
}

/** smtp-sink with extra options (fault injection); `dumpDir` captures each transaction. */
async function smtpSink(opts: string[], dumpDir?: string): Promise<number> {
  const port = await freePort();
  // smtp-sink refuses to keep root privileges: -u drops them after binding.
  const asUser = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const dump = dumpDir === undefined ? [] : ['-d', `${dumpDir}/dump.`];
  await spawnServer(SMTP_SINK, [...asUser, ...dump, ...opts, `127.0.0.1:${port}`, '16'], port, `smtp-sink ${opts.join(' ')}`);
  return port;
}

async function aiosmtpd(maildir: string): Promise<number> {
  const port = await freePort();
  await spawnServer(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], port, 'aiosmtpd');
  return port;
}

function cfg(port: number, over: Record<string, unknown> = {}): Cfg {
  return smtpApp.config.parse({ host: '127.0.0.1', port, from: 'Riposte SOC <soc@riposte.example>', timeoutMs: 3000, ...over });
}

const ctx = (config: Cfg, key = 'run-7:2', signal?: AbortSignal) => actionContext(config, key, { signal });

const mail = (over: Record<string, unknown> = {}) => sendEmail.input.parse({
  to: ['secops@example.test'], subject: '[INC-1] Device DEV-42 wiped', text: 'Device DEV-42 contacted 203.0.113.9.', ...over,
});

/** Headers of an RFC 5322 message (unfolded, lower-cased names) and its body. */
function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body: raw.slice(split).trim() };
}

function maildirMessages(maildir: string): string[] {
  const dir = path.join(maildir, 'new');
  return readdirSync(dir).sort().map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

describe('SMTP app against real SMTP servers (aiosmtpd, Postfix smtp-sink)', () => {
  before(() => {
    requirePrograms('SMTP app tests', [
      { program: SMTP_SINK, packages: 'postfix' },
      { program: PYTHON, packages: 'python3' },
      { program: '/usr/lib/python3/dist-packages/aiosmtpd/__main__.py', packages: 'python3-aiosmtpd' },
    ]);
  });
  after(async () => {
    await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return resolve();
      p.once('exit', () => resolve());
      process.kill(p.pid, 'SIGTERM');
    })));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('delivers headers, envelope and both bodies into aiosmtpd\'s Maildir', async () => {
    const maildir = path.join(tempDir(), 'Maildir');
    const port = await aiosmtpd(maildir);
    const c = cfg(port);
    assert.deepEqual(await smtpApp.testConnectivity!(ctx(c)), { ok: true, detail: `SMTP 127.0.0.1:${port} answered EHLO` });

    const out = await sendEmail.handler(mail({
      to: ['secops@example.test', 'oncall@example.test'], cc: ['ciso@example.test'],
      html: '<p>Device <b>DEV-42</b> wiped</p>', headers: { 'X-Riposte-Incident': 'INC-1' },
    }), ctx(c));
    const expectedId = messageIdFor('run-7:2', c.from);
    assert.match(expectedId, /^<riposte\.[0-9a-f]{32}@riposte\.example>$/);
    assert.deepEqual(sendEmail.output.parse(out), { messageId: expectedId, accepted: ['secops@example.test', 'oncall@example.test', 'ciso@example.test'], rejected: [] });

    const msgs = maildirMessages(maildir);
    assert.equal(msgs.length, 1);
    const { headers, body } = parseMessage(msgs[0]!);
    assert.equal(headers.get('from'), 'Riposte SOC <soc@riposte.example>');
    assert.equal(headers.get('to'), 'secops@example.test, oncall@example.test');
    assert.equal(headers.get('cc'), 'ciso@example.test');
    assert.equal(headers.get('subject'), '[INC-1] Device DEV-42 wiped');
    assert.equal(headers.get('message-id'), expectedId);
    assert.equal(headers.get('x-riposte-incident'), 'INC-1');
    // Envelope as the server saw it (added by aiosmtpd's Message handler).
    assert.equal(headers.get('x-mailfrom'), 'soc@riposte.example');
    assert.equal(headers.get('x-rcptto'), 'secops@example.test, oncall@example.test, ciso@example.test');
    assert.match(headers.get('content-type') ?? '', /^multipart\/alternative/);
    assert.ok(body.includes('Device DEV-42 contacted 203.0.113.9.'), body);
    assert.ok(body.includes('<p>Device <b>DEV-42</b> wiped</p>'), body);
  });

  it('gives a retried step the same Message-ID and another step a different one', async () => {
    const maildir = path.join(tempDir(), 'Maildir');
    const port = await aiosmtpd(maildir);
    await sendEmail.handler(mail(), ctx(cfg(port), 'run-9:1'));
    await sendEmail.handler(mail(), ctx(cfg(port), 'run-9:1'));
    await sendEmail.handler(mail(), ctx(cfg(port), 'run-9:2'));
    const ids = maildirMessages(maildir).map((m) => parseMessage(m).headers.get('message-id'));
    assert.equal(ids.length, 3);
    assert.equal(ids.filter((id) => id === messageIdFor('run-9:1', 'soc@riposte.example')).length, 2);
    assert.equal(ids.filter((id) => id === messageIdFor('run-9:2', 'soc@riposte.example')).length, 1);
  });

  it('logs in and sends through smtp-sink, which captures the transaction', async () => {
    const dump = tempDir();
    chmodSync(dump, 0o777); // smtp-sink writes as nobody when started as root
    const port = await smtpSink([], dump);
    const c = cfg(port, { username: 'soc-bot', password: 'relay-password-1' });
    assert.deepEqual(await smtpApp.testConnectivity!(ctx(c)), { ok: true, detail: `SMTP 127.0.0.1:${port} answered EHLO and accepted the login of soc-bot` });
    const out = await sendEmail.handler(mail({ to: ['a@example.test', 'b@example.test'] }), ctx(c));
    assert.deepEqual(out.accepted, ['a@example.test', 'b@example.test']);
    const files = readdirSync(dump);
    assert.equal(files.length, 1);
    const raw = readFileSync(path.join(dump, files[0]!), 'utf8');
    assert.match(raw, /^X-Mail-Args: <soc@riposte\.example>/m);
    assert.match(raw, /^X-Rcpt-Args: <a@example\.test>$/m);
    assert.match(raw, /^X-Rcpt-Args: <b@example\.test>$/m);
    assert.ok(raw.includes(`Message-ID: ${out.messageId}`));
    assert.ok(raw.includes('Device DEV-42 contacted 203.0.113.9.'));
  });

  it('maps a 4xx reply to MAIL FROM to RetryableError, not applied', async () => {
    const port = await smtpSink(['-r', 'MAIL', '-b', '452 4.3.1 Insufficient system storage']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), RetryableError);
    assert.equal(err.applied, 'no');
    assert.equal(err.vendorCode, '452');
    assert.match(err.message, /temporarily refused \(after MAIL FROM\): 452 4\.3\.1 Insufficient system storage/);
  });

  it('maps 421 (service closing) to RetryableError, not applied', async () => {
    const port = await smtpSink(['-Q', 'MAIL']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), RetryableError);
    assert.equal(err.applied, 'no');
    assert.equal(err.vendorCode, '421');
  });

  it('maps a 4xx reply to the end of the message to RetryableError, not applied', async () => {
    const port = await smtpSink(['-r', '.', '-b', '451 4.3.0 Temporary lookup failure']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), RetryableError);
    assert.equal(err.applied, 'no');
    assert.match(err.message, /451 4\.3\.0 Temporary lookup failure/);
  });

  it('maps 550 for every recipient to TerminalError with the server\'s reply', async () => {
    const port = await smtpSink(['-f', 'RCPT', '-B', '550 5.1.1 Recipient address rejected: User unknown']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), TerminalError);
    assert.equal(err.applied, 'no');
    assert.equal(err.vendorCode, '550');
    assert.match(err.message, /refused \(after RCPT TO\): 550 5\.1\.1 Recipient address rejected: User unknown/);
  });

  it('maps 554 to the message to TerminalError', async () => {
    const port = await smtpSink(['-f', '.', '-B', '554 5.7.1 Message rejected as spam']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), TerminalError);
    assert.match(err.message, /refused \(after the message\): 554 5\.7\.1 Message rejected as spam/);
  });

  it('reports an unknown outcome when the connection drops after the message was sent', async () => {
    const port = await smtpSink(['-q', '.']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.match(err.message, /connection lost \(ECONNECTION\) after the message was sent/);
  });

  it('reports not applied when the connection drops before the server answered DATA', async () => {
    const port = await smtpSink(['-q', 'DATA']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port))), RetryableError);
    assert.equal(err.applied, 'no');
    assert.match(err.message, /before the message was sent/);
  });

  it('reports an unknown outcome when the reply to the message times out', async () => {
    const port = await smtpSink(['-W', '.:5']);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port, { timeoutMs: 500 }))), RetryableError);
    assert.equal(err.applied, 'unknown');
    assert.match(err.message, /timed out after the message was sent/);
  });

  it('maps a greeting timeout and a refused connection to RetryableError, not applied', async () => {
    const slow = await smtpSink(['-W', 'CONNECT:5']);
    const t = await rejects(sendEmail.handler(mail(), ctx(cfg(slow, { timeoutMs: 500 }))), RetryableError);
    assert.equal(t.applied, 'no');
    assert.match(t.message, /timed out before the message was sent/);
    const closed = await freePort();
    const r = await rejects(sendEmail.handler(mail(), ctx(cfg(closed))), RetryableError);
    assert.equal(r.applied, 'no');
    assert.match(r.message, /connection failed \(ECONNREFUSED\)/);
  });

  it('honours the step\'s abort signal: not applied before DATA, unknown after', async () => {
    const early = await smtpSink(['-W', 'MAIL:5']);
    const a1 = new AbortController();
    setTimeout(() => a1.abort(), 300);
    const e1 = await rejects(sendEmail.handler(mail(), ctx(cfg(early, { timeoutMs: 10_000 }), 'run-1:1', a1.signal)), RetryableError);
    assert.equal(e1.applied, 'no');
    const late = await smtpSink(['-W', '.:5']);
    const a2 = new AbortController();
    setTimeout(() => a2.abort(), 300);
    const e2 = await rejects(sendEmail.handler(mail(), ctx(cfg(late, { timeoutMs: 10_000 }), 'run-1:1', a2.signal)), RetryableError);
    assert.equal(e2.applied, 'unknown');
  });

  it('maps 535 to TerminalError without the password in the message', async () => {
    const password = 'relay-password-2';
    const port = await smtpSink(['-f', 'AUTH', '-B', '535 5.7.8 Error: authentication failed: authentication failure']);
    const c = cfg(port, { username: 'soc-bot', password });
    for (const p of [sendEmail.handler(mail(), ctx(c)), smtpApp.testConnectivity!(ctx(c))]) {
      const err = await rejects(p, TerminalError);
      assert.equal(err.applied, 'no');
      assert.equal(err.vendorCode, '535');
      assert.match(err.message, /authentication failed: 535 5\.7\.8/);
      const plain = Buffer.from(`\0soc-bot\0${password}`).toString('base64');
      for (const secret of [password, plain, Buffer.from(password).toString('base64')]) assert.ok(!err.message.includes(secret));
    }
  });

  it('rejects implicit TLS against a plain-text server as a configuration error', async () => {
    const port = await smtpSink([]);
    const err = await rejects(sendEmail.handler(mail(), ctx(cfg(port, { secure: true }))), TerminalError);
    assert.match(err.message, /TLS failed/);
    const starttls = await rejects(sendEmail.handler(mail(), ctx(cfg(port, { requireTLS: true }))), TerminalError);
    assert.equal(starttls.applied, 'no');
  });

  it('validates inputs and config, naming the field', () => {
    const bad = (input: Record<string, unknown>) => sendEmail.input.safeParse({ to: ['a@example.test'], subject: 's', text: 't', ...input });
    const path0 = (r: ReturnType<typeof bad>) => (r.success ? 'ok' : r.error.issues[0]!.path.join('.'));
    assert.equal(path0(bad({ to: ['not-an-address'] })), 'to.0');
    assert.equal(path0(bad({ to: [] })), 'to');
    assert.equal(path0(bad({ cc: ['x@'] })), 'cc.0');
    assert.equal(path0(bad({ subject: 'hi\r\nBcc: evil@example.test' })), 'subject');
    assert.equal(path0(bad({ headers: { 'Message-ID': '<x@y>' } })), 'headers.Message-ID');
    assert.equal(path0(bad({ headers: { 'X-Ok': 'a\nb' } })), 'headers.X-Ok');
    assert.equal(path0(bad({})), 'ok');
    const badCfg = (over: Record<string, unknown>) => smtpApp.config.safeParse({ host: 'relay', from: 'soc@example.test', ...over });
    assert.equal(badCfg({}).success, true);
    assert.deepEqual(badCfg({ from: 'SOC <not an address>' }).error?.issues[0]?.path, ['from']);
    assert.deepEqual(badCfg({ port: 0 }).error?.issues[0]?.path, ['port']);
  });

  it('refuses a username without a password before connecting', async () => {
    const c = cfg(await freePort(), { username: 'soc-bot' });
    const err = await rejects(sendEmail.handler(mail(), ctx(c)), TerminalError);
    assert.match(err.message, /username and password go together/);
  });
});
