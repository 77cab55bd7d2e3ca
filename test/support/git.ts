/**
 * Real Git for repository tests: a working repository written and committed by the test, and a real
 * `git daemon` serving it on 127.0.0.1 (Debian's git), stopped by its PID — or `git http-backend`
 * behind a Node HTTP server that demands credentials.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer } from 'node:net';
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

/**
 * Git's smart HTTP protocol served by Debian's `git http-backend` (as CGI) behind a Node server
 * that demands HTTP Basic credentials, on 127.0.0.1. Records every request it saw.
 */
export class GitHttpServer {
  readonly requests: Array<{ method: string; url: string; authorization: string | undefined }> = [];

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(base: string, user: string, password: string): Promise<GitHttpServer> {
    const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    let self: GitHttpServer | undefined;
    const server = createHttpServer((req, res) => {
      self!.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
        return;
      }
      const [path = '/', query = ''] = (req.url ?? '/').split('?');
      const header = (name: string): string => String(req.headers[name] ?? '');
      const cgi = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env['PATH'], GIT_PROJECT_ROOT: base, GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: path, QUERY_STRING: query, REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: header('content-type'), REMOTE_USER: user, REMOTE_ADDR: '127.0.0.1',
          HTTP_CONTENT_ENCODING: header('content-encoding'), GIT_PROTOCOL: header('git-protocol'),
        },
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      req.pipe(cgi.stdin);
      // CGI output: header lines, a blank line, the body.
      let head = Buffer.alloc(0);
      let started = false;
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (started) { res.write(chunk); return; }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        started = true;
        let status = 200;
        for (const line of head.subarray(0, end).toString().split('\r\n')) {
          const colon = line.indexOf(':');
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
          else res.setHeader(name, value);
        }
        res.writeHead(status);
        res.write(head.subarray(end + 4));
      });
      cgi.on('close', () => res.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new GitHttpServer(server, (server.address() as { port: number }).port);
    return self;
  }

  url(path: string, userinfo = ''): string {
    return `http://${userinfo}127.0.0.1:${this.port}/${path}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
