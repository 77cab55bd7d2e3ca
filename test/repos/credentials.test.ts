/**
 * Credentials of Git repository URLs never leak, against real Git: over HTTP they reach the server
 * only as an Authorization header (a real `git http-backend` behind a server demanding them), never
 * in the URL it is asked for, the mirror's configuration, a process's command line (read from
 * /proc while git waits on a server that never answers), a sync error, the audit or a listing.
 * URLs that would carry a secret somewhere else (git://, ssh passwords, query strings) are refused
 * at add, with nothing stored.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { RepoSyncer } from '../../src/repos/sync.js';
import { redactUrl, validateGitUrl } from '../../src/repos/git.js';
import { GitHttpServer, GitRepo, playbookSource } from '../support/git.js';
import { tempDir } from '../support/temp-store.js';
import { openRepoSyncer, type RepoSyncerFixture } from '../support/repo-syncer.js';
import { until } from '../support/wait.js';

const tmp = tempDir('riposte-creds-');
const served = join(tmp.dir, 'served');
const mirrors = join(tmp.dir, 'mirrors');
// A password with an '@' (the last '@' of the authority ends the credentials) and a '!'.
const USER = 'alice';
const PASSWORD = 'S3cr@t-pw!';
let http: GitHttpServer;
let store: SqliteStore;
let syncer: RepoSyncer;
let fx: RepoSyncerFixture;
let repo: GitRepo;

before(async () => {
  mkdirSync(join(served, 'team'), { recursive: true });
  repo = GitRepo.create(join(served, 'team'), 'soc.git');
  http = await GitHttpServer.start(served, USER, PASSWORD);
  fx = await openRepoSyncer(tmp.dir, { secretKey: Buffer.alloc(32, 9) });
  ({ store, syncer } = fx);
});

after(async () => {
  await http.stop();
  await fx.close();
  tmp.remove();
});

const hello = (version: number) => playbookSource({ id: 'creds-hello', version, body: "  await ctx.note('hi');" });

/** Every form of a secret that must appear nowhere: as given, percent-encoded, inside Basic auth. */
function forms(...secrets: string[]): string[] {
  return secrets.flatMap((s) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]);
}

async function assertNowhere(secrets: string[], ...also: unknown[]): Promise<void> {
  const shown = JSON.stringify([await store.listRepos(), await store.listAudit({ limit: 1000 }), ...also]);
  for (const s of secrets) assert.ok(!shown.includes(s), `"${s}" leaked into a listing, the audit or an answer`);
}

/** The text files at the top of a bare mirror (config, FETCH_HEAD, packed-refs, HEAD …). */
function mirrorText(dir: string): string {
  return readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => readFileSync(join(dir, f), 'latin1')).join('\n');
}

test('http credentials reach the server as an Authorization header only; stored URL and mirror hold none', async () => {
  const first = repo.commit({ 'playbooks/hello.ts': hello(1) }, 'first');
  const url = http.url('team/soc.git', `${USER}:${PASSWORD}@`);
  const added = await syncer.add({ name: 'private', kind: 'git', url }, 'user:admin');
  assert.equal(added.url, http.url('team/soc.git'));
  assert.equal(await store.repoCredentials('private'), `${USER}:${PASSWORD}`);

  const r1 = await syncer.sync('private', 'user:admin', 'manual');
  assert.equal(r1.status, 'activated', r1.errors.join('\n'));
  assert.equal(r1.commit, first);
  const second = repo.commit({ 'playbooks/hello.ts': hello(2) }, 'second');
  const r2 = await syncer.sync('private', 'user:admin', 'manual'); // a fetch into the existing mirror
  assert.equal(r2.status, 'activated', r2.errors.join('\n'));
  assert.equal(r2.commit, second);

  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  assert.ok(http.requests.length >= 4, 'a clone and a fetch reached the server');
  for (const req of http.requests) {
    assert.equal(req.authorization, basic, `${req.method} ${req.url} came without the credentials`);
    assert.match(req.url, /^\/team\/soc\.git\//);
    for (const s of forms(USER, PASSWORD)) assert.ok(!req.url.includes(s));
  }
  const mirror = mirrorText(join(mirrors, 'private.git'));
  assert.match(mirror, new RegExp(`url = ${http.url('team/soc.git').replace(/[.]/g, '\\.')}`));
  for (const s of forms(USER, PASSWORD)) assert.ok(!mirror.includes(s), `the mirror holds "${s}"`);
  await assertNowhere(forms(PASSWORD), r1, r2);
});

test('credentials given apart that the server refuses: the sync fails saying so, the secret is nowhere', async () => {
  const credentials = 'alice:Wr0ng-Pa55';
  await syncer.add({ name: 'wrong', kind: 'git', url: http.url('team/soc.git'), credentials }, 'user:admin');
  const r = await syncer.sync('wrong', 'user:admin', 'manual');
  assert.equal(r.status, 'failed');
  assert.match(r.errors.join('\n'),
    /127\.0\.0\.1:\d+\/team\/soc\.git: the server asks for credentials \(HTTP 401\) and refused the ones set/);
  assert.equal(existsSync(join(mirrors, 'wrong.git')), false, 'a failed clone leaves no mirror');
  assert.equal(http.requests.at(-1)?.authorization, `Basic ${Buffer.from('alice:Wr0ng-Pa55').toString('base64')}`);
  await assertNowhere(forms('Wr0ng-Pa55', 'alice:Wr0ng-Pa55'), r);
});

/** Every process's command line we can read (a process may end while we read). */
function commandLines(): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'latin1').replace(/\0/g, ' ') });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test('while git waits on a silent server, no command line holds the secret (the environment does)', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => { sockets.add(s); s.on('error', () => undefined); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const secret = 'H4ng1ng-Secr3t';
  let gitPids: number[] = [];
  try {
    await syncer.add({ name: 'hang', kind: 'git', url: `http://bob:${secret}@127.0.0.1:${port}/x.git` }, 'user:admin');
    const pending = syncer.sync('hang', 'user:admin', 'manual');
    // git clone and its git-remote-http child both name the URL; the child has connected.
    const named = () => commandLines().filter((p) => p.cmdline.includes(`127.0.0.1:${port}`));
    await until('git to connect', async () => sockets.size > 0 && named().length >= 2, 15_000);
    const lines = commandLines();
    const git = lines.filter((p) => p.cmdline.includes(`127.0.0.1:${port}`));
    gitPids = git.map((p) => p.pid);
    assert.ok(git.some((p) => /clone/.test(p.cmdline)), git.map((p) => p.cmdline).join('\n'));
    assert.ok(git.some((p) => /remote-http/.test(p.cmdline)), git.map((p) => p.cmdline).join('\n'));
    for (const p of lines) {
      for (const s of forms(secret)) assert.ok(!p.cmdline.includes(s), `pid ${p.pid} shows the secret: ${p.cmdline}`);
    }
    // Where it is instead: the environment of git's own processes (readable by our user only).
    const helper = git.find((p) => /remote-http/.test(p.cmdline))!.pid;
    const environ = readFileSync(`/proc/${helper}/environ`, 'latin1').split('\0');
    const basic = Buffer.from(`bob:${secret}`).toString('base64');
    assert.ok(environ.includes(`GIT_CONFIG_VALUE_0=Authorization: Basic ${basic}`));
    assert.ok(environ.includes('GIT_CONFIG_GLOBAL=/dev/null'));
    for (const pid of gitPids) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    const r = await pending;
    assert.equal(r.status, 'failed');
    await assertNowhere(forms(secret), r);
  } finally {
    for (const pid of gitPids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('URLs that would carry a secret elsewhere are refused at add with a clear error; nothing is stored', async () => {
  const cases: Array<[{ url: string; credentials?: string; kind?: 'git' | 'dir' }, RegExp, string]> = [
    [{ url: 'git://u:P4ssw0rd@127.0.0.1:1/r' }, /git:\/\/ URL carries no user or password/, 'P4ssw0rd'],
    [{ url: 'git://tok3n@127.0.0.1:1/r' }, /git:\/\/ URL carries no user or password/, 'tok3n'],
    [{ url: 'file://u:P4ssw0rd@/srv/r.git' }, /file:\/\/ URL carries no user or password/, 'P4ssw0rd'],
    [{ url: 'ssh://u:P4ssw0rd@git.example/r.git' }, /ssh URL may name a user but no password/, 'P4ssw0rd'],
    [{ url: 'u:P4ssw0rd@git.example:r.git' }, /must be file:\/\/, git:\/\/, ssh:\/\//, 'P4ssw0rd'],
    [{ url: 'https://gitlab.example/r.git?private_token=T0k3n' }, /query string or fragment.*https:\/\/user:token@/,
      'T0k3n'],
    [{ url: 'https://gitlab.example/r.git#T0k3n' }, /query string or fragment/, 'T0k3n'],
    [{ url: 'https://u:P4ss%0AX-Evil:1@gitlab.example/r.git' }, /control character/, 'P4ss'],
    [{ url: 'git://127.0.0.1:1/r', credentials: 'u:P4ssw0rd' }, /only be given for http:\/\/ or https:\/\//,
      'P4ssw0rd'],
    [{ url: 'https://u:P4ssw0rd@gitlab.example/r.git', credentials: 'u:0th3r' }, /either in the URL or apart/,
      'P4ssw0rd'],
    [{ url: 'https://gitlab.example/r.git', credentials: 'no-colon-T0k3n' }, /must look like user:token/, 'T0k3n'],
    [{ url: tmp.dir, kind: 'dir', credentials: 'u:P4ssw0rd' }, /credentials are for Git repositories/, 'P4ssw0rd'],
  ];
  const auditBefore = (await store.listAudit({ limit: 1000 })).length;
  for (const [i, [input, expected, secret]] of cases.entries()) {
    const name = `refused-${i}`;
    const repo = { name, kind: input.kind ?? 'git', url: input.url, credentials: input.credentials ?? null };
    await assert.rejects(syncer.add(repo, 'user:admin'),
      (err: Error) => {
        assert.match(err.message, expected, input.url);
        assert.ok(!err.message.includes(secret), `the error echoes the secret: ${err.message}`);
        return true;
      });
    assert.equal(await store.getRepo(name), null);
  }
  assert.equal((await store.listAudit({ limit: 1000 })).length, auditBefore, 'a refused add is not half-written');
  // The store refuses a URL still holding credentials, whoever calls it.
  const direct = { name: 'direct', kind: 'git' as const, url: 'https://tok3n@gitlab.example/r.git' };
  await assert.rejects(store.addRepo(direct, 'user:admin'), /holds credentials: give them apart/);
  // Allowed: an ssh user without a password; percent-encoded '/' and '@' in an https password.
  const ssh = 'ssh://git@git.example/r.git';
  assert.equal((await syncer.add({ name: 'ssh-user', kind: 'git', url: ssh }, 'user:admin')).url, ssh);
  const encoded = 'https://u:p%2Fw%40x@gitlab.example/r.git';
  const enc = await syncer.add({ name: 'encoded', kind: 'git', url: encoded }, 'user:admin');
  assert.equal(enc.url, 'https://gitlab.example/r.git');
  assert.equal(await store.repoCredentials('encoded'), 'u:p/w@x');
});

test('git messages are redacted: URL userinfo up to the last "@", and the exact credentials in every form', () => {
  assert.equal(redactUrl('fatal: unable to access https://u:P4ss@w0rd@host/x/'),
    'fatal: unable to access https://***@host/x/');
  const creds = { username: 'u', password: 'P4ssw0rd' };
  assert.equal(redactUrl('unable to look up u:P4ssw0rd@127.0.0.1:1 (port 9418)', creds),
    'unable to look up ***@127.0.0.1:1 (port 9418)');
  const basic = Buffer.from('u:P4ssw0rd').toString('base64');
  assert.equal(redactUrl(`header ${basic} and P4ssw0rd`, creds), 'header *** and ***');
  assert.deepEqual(validateGitUrl('HTTPS://u:P4ss@w0rd@Git.Example/x.git'),
    { url: 'https://git.example/x.git', credentials: 'u:P4ss@w0rd' });
});
