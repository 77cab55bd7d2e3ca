/**
 * Real local HTTP(S) servers for app tests: a recording server on 127.0.0.1 whose answers are
 * given per path, and throw-away certificates (a CA, a server certificate for 127.0.0.1 and
 * localhost, a client certificate) made with the `openssl` CLI in a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SeenRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Subject CN of the client certificate, when one was presented over TLS. */
  clientCn?: string;
}

export type Route = (req: SeenRequest, res: http.ServerResponse) => void;

/** A server on 127.0.0.1 (an ephemeral port) that records every request and answers per path. */
export class LocalServer {
  readonly seen: SeenRequest[] = [];
  url = '';
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;

  constructor(private readonly routes: Record<string, Route>, tlsOptions?: https.ServerOptions) {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const peer = (req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.();
        if (peer?.subject?.CN !== undefined) seen.clientCn = peer.subject.CN;
        this.seen.push(seen);
        const route = this.routes[(req.url ?? '/').split('?')[0]!];
        if (route === undefined) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no route"}}');
        else route(seen, res);
      });
    };
    this.server = tlsOptions ? https.createServer(tlsOptions, onRequest) : http.createServer(onRequest);
    this.server.on(tlsOptions ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.scheme = tlsOptions ? 'https' : 'http';
  }

  private readonly scheme: string;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `${this.scheme}://127.0.0.1:${this.port}`;
    return this;
  }

  /** Requests received on `path` (query ignored). */
  on(path: string): SeenRequest[] {
    return this.seen.filter((s) => s.url.split('?')[0] === path);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Sends a JSON reply. */
export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export interface TestPki {
  dir: string;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** A key that belongs to no certificate here. */
  strayKeyPem: string;
  /** A second CA that signed nothing here. */
  otherCaPem: string;
  remove(): void;
}

/** Throw-away certificates made with the openssl CLI (P-256 keys, valid one day). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-pki-'));
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) => ssl('req', '-x509', ...ec, '-days', '1', '-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ca('test-ca');
  ca('other-ca');
  const leaf = (name: string, ext: string) => {
    ssl('req', '-new', ...ec, '-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('test-ca.pem'), '-CAkey', p('test-ca.key'), '-CAcreateserial', '-days', '1',
      '-out', p(`${name}.pem`), '-extfile', p(`${name}.ext`));
  };
  leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'extendedKeyUsage=clientAuth\n');
  ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', p('stray.key'));
  const read = (f: string) => readFileSync(p(f), 'utf8');
  return {
    dir, caPem: read('test-ca.pem'), otherCaPem: read('other-ca.pem'),
    serverCertPem: read('server.pem'), serverKeyPem: read('server.key'),
    clientCertPem: read('client.pem'), clientKeyPem: read('client.key'), strayKeyPem: read('stray.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
