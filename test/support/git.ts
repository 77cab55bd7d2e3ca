/**
 * Real Git for repository tests: a working repository written and committed by the test, and a real
 * `git daemon` serving it on 127.0.0.1 (Debian's git), stopped by its PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export class GitRepo {
  constructor(readonly dir: string) {}

  static create(parent: string, name: string): GitRepo {
    const dir = join(parent, name);
    mkdirSync(dir, { recursive: true });
    const repo = new GitRepo(dir);
    repo.git('init', '-q', '-b', 'main');
    return repo;
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-c', 'user.email=dev@soc.example', '-c', 'user.name=SOC dev', ...args], { cwd: this.dir, stdio: 'pipe' }).toString().trim();
  }

  /** Writes the files and commits them; returns the commit id. */
  commit(files: Record<string, string>, message = 'change'): string {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), text);
    }
    this.git('add', '-A');
    this.git('commit', '-q', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** `git daemon` exporting every repository under `base`, on 127.0.0.1. */
export class GitDaemon {
  private constructor(private readonly child: ChildProcess, readonly base: string, readonly port: number) {}

  static async start(base: string): Promise<GitDaemon> {
    const port = await freePort();
    const child = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, base], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const daemon = new GitDaemon(child, base, port);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`git daemon exited: ${stderr}`);
      try {
        // Connect, never listen: a probe listening on the port could take it from the daemon.
        await new Promise<void>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(); });
          socket.once('error', reject);
        });
        return daemon;
      } catch {
        if (Date.now() > deadline) {
          daemon.stop();
          throw new Error(`git daemon did not listen on ${port}: ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  url(name: string): string {
    return `git://127.0.0.1:${this.port}/${name}`;
  }

  stop(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGTERM');
  }
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A playbook module as a repository holds it (it imports the SDK as `riposte`). */
export function playbookSource(o: { id: string; version?: number; label?: string; automation?: string; roles?: Record<string, string>; body: string; module?: string }): string {
  return [
    "import { definePlaybook } from 'riposte';",
    o.module ?? '',
    'export default definePlaybook({',
    `  id: ${JSON.stringify(o.id)}, version: ${o.version ?? 1}, triggers: { labels: [${JSON.stringify(o.label ?? o.id)}] },`,
    o.automation ? `  automation: ${JSON.stringify(o.automation)},` : '',
    `  roles: ${JSON.stringify(o.roles ?? {})},`,
    '}, async (ctx, incident) => {',
    o.body,
    '});',
    '',
  ].join('\n');
}
