/** A real SMTP server for tests: Debian's python3-aiosmtpd writing every message into a Maildir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePrograms } from './real-server.js';

export interface MaildirSmtp {
  port: number;
  /** Raw RFC 5322 messages received so far. */
  messages(): string[];
  stop(): Promise<void>;
}

const PYTHON = '/usr/bin/python3';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

export async function startMaildirSmtp(): Promise<MaildirSmtp> {
  requirePrograms('the e-mail approval test', [{ program: '/usr/lib/python3/dist-packages/aiosmtpd/__main__.py', packages: 'python3-aiosmtpd' }]);
  const dir = mkdtempSync(join(tmpdir(), 'riposte-maildir-'));
  const maildir = join(dir, 'Maildir');
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((r) => { const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); });
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) { child.kill('SIGKILL'); throw new Error('aiosmtpd did not start'); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    messages: () => {
      try {
        return readdirSync(join(maildir, 'new')).sort().map((f) => readFileSync(join(maildir, 'new', f), 'utf8'));
      } catch {
        return [];
      }
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
