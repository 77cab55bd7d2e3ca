/**
 * Repository sync against real Git (a repository served by a real `git daemon`): a commit is pinned,
 * compiled, type-checked against the SDK and activated; a commit that does not build is refused
 * with the compiler's errors while the previous one stays active; imports from outside the
 * repository, ids another repository provides and URLs that cannot be fetched are refused with an
 * error naming the problem; every outcome is recorded and audited.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { RepoSyncer } from '../../src/repos/sync.js';
import { GitDaemon, GitRepo, playbookSource } from '../support/git.js';
import { tempDir } from '../support/temp-store.js';
import { openRepoSyncer, type RepoSyncerFixture } from '../support/repo-syncer.js';

const tmp = tempDir('riposte-repos-');
let daemon: GitDaemon;
let store: SqliteStore;
let sandbox: Sandbox;
let syncer: RepoSyncer;
let fx: RepoSyncerFixture;

before(async () => {
  mkdirSync(join(tmp.dir, 'served'));
  daemon = await GitDaemon.start(join(tmp.dir, 'served'));
  fx = await openRepoSyncer(tmp.dir, { secretKey: Buffer.alloc(32, 7), syncBuiltin: true });
  ({ store, sandbox, syncer } = fx);
});

after(async () => {
  daemon.stop();
  await fx.close();
  tmp.remove();
});

const hello = (version: number, body = "  await ctx.note('hello');\n  return { ok: true };") =>
  playbookSource({ id: 'hello-soc', version, roles: { firewall: 'firewall' }, body });

async function auditActions(target: string): Promise<string[]> {
  return (await store.listAudit({ limit: 1000 })).filter((e) => e.target === target).map((e) => e.action);
}

test('a playbook in a fresh Git repository is pinned at its commit, type-checked and activated; a broken commit is refused and the old one stays', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'soc.git');
  const first = repo.commit({ 'playbooks/hello.ts': hello(1), 'playbooks/helpers.ts': 'export const x = 1;\n' }, 'first');
  // helpers.ts is a playbook by convention (playbooks/*.ts) unless a manifest says otherwise.
  repo.commit({ 'riposte.json': JSON.stringify({ playbooks: ['playbooks/hello.ts'] }) }, 'manifest');
  const pinned = repo.git('rev-parse', 'HEAD');
  await syncer.add({ name: 'soc', kind: 'git', url: daemon.url('soc.git') }, 'user:admin');
  const r1 = await syncer.sync('soc', 'user:admin', 'manual');
  assert.equal(r1.status, 'activated', r1.errors.join('\n'));
  assert.equal(r1.commit, pinned);
  assert.notEqual(r1.commit, first);
  assert.deepEqual(r1.playbooks.map((p) => [p.id, p.path]), [['hello-soc', 'playbooks/hello.ts']]);
  const active = (await store.activePlaybooks()).find((p) => p.playbookId === 'hello-soc')!;
  assert.equal(active.commit, pinned);
  assert.equal(active.repo, 'soc');
  const bundle = await store.getBundle(active.hash);
  assert.match(bundle!.code, /hello/);

  // Same commit again: nothing to do.
  assert.equal((await syncer.sync('soc', 'user:admin', 'manual')).status, 'unchanged');

  // A commit calling an action with the wrong parameters does not type-check.
  const broken = repo.commit({ 'playbooks/hello.ts': hello(2, "  await ctx.roles.firewall.blockIp({ address: '1.2.3.4' });") }, 'broken');
  const r2 = await syncer.sync('soc', 'user:admin', 'manual');
  assert.equal(r2.status, 'refused');
  assert.equal(r2.commit, broken);
  assert.equal(r2.activeCommit, pinned, 'the previous commit stays active');
  assert.match(r2.errors.join('\n'), /playbooks\/hello\.ts:\d+:\d+: TS\d+: .*address/);
  assert.equal((await store.activePlaybooks()).find((p) => p.playbookId === 'hello-soc')!.hash, active.hash);
  const repoRec = (await store.getRepo('soc'))!;
  assert.equal(repoRec.lastSync?.status, 'refused');
  assert.equal(repoRec.activeCommit, pinned);

  // Code naming Node's globals fails the type check too (no Node types in a playbook's world).
  repo.commit({ 'playbooks/hello.ts': hello(3, '  return { env: process.env };') }, 'process');
  const r3 = await syncer.sync('soc', 'user:admin', 'manual');
  assert.equal(r3.status, 'refused');
  assert.match(r3.errors.join('\n'), /Cannot find name 'process'/);

  // A fixed commit activates.
  const fixed = repo.commit({ 'playbooks/hello.ts': hello(4) }, 'fixed');
  const r4 = await syncer.sync('soc', 'user:admin', 'manual');
  assert.equal(r4.status, 'activated');
  assert.equal(r4.commit, fixed);
  assert.deepEqual(await auditActions('repo:soc'), ['repo.add', 'repo.activate', 'repo.sync.unchanged', 'repo.sync.refused', 'repo.sync.refused', 'repo.activate']);
});

test('imports from outside the repository, Node built-ins and npm packages are refused at sync', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'escape.git');
  await syncer.add({ name: 'escape', kind: 'git', url: daemon.url('escape.git') }, 'user:admin');
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['relative path out of the repository', { 'playbooks/a.ts': playbookSource({ id: 'esc-a', module: "import secret from '../../../../../../etc/hostname';", body: 'return { secret };' }) }, /outside the repository|Could not resolve/],
    ['Node built-in', { 'playbooks/a.ts': playbookSource({ id: 'esc-a', module: "import { readFileSync } from 'node:fs';", body: "return { x: readFileSync('/etc/passwd', 'utf8') };" }) }, /"node:fs" cannot be imported by playbook code/],
    ['npm package', { 'playbooks/a.ts': playbookSource({ id: 'esc-a', module: "import isolate from 'isolated-vm';", body: 'return { x: String(isolate) };' }) }, /"isolated-vm" cannot be imported/],
  ];
  for (const [what, files, expected] of cases) {
    repo.commit(files, what);
    const r = await syncer.sync('escape', 'user:admin', 'manual');
    assert.equal(r.status, 'refused', what);
    assert.match(r.errors.join('\n'), expected, what);
  }
  // A symlink out of the repository: git stores it; the tree check refuses it before anything is exported.
  mkdirSync(join(tmp.dir, 'outside'), { recursive: true });
  writeFileSync(join(tmp.dir, 'outside', 'stolen.ts'), 'export const stolen = "secret";\n');
  symlinkSync(join(tmp.dir, 'outside', 'stolen.ts'), join(repo.dir, 'playbooks', 'link.ts'));
  repo.commit({ 'riposte.json': '{"playbooks":["playbooks/a.ts"]}', 'playbooks/a.ts': playbookSource({ id: 'esc-a', module: "import { stolen } from './link';", body: 'return { stolen };' }) }, 'symlink');
  const r = await syncer.sync('escape', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /playbooks\/link\.ts: symlinks are not allowed/);
  assert.equal((await store.getRepo('escape'))!.activeCommit, null, 'nothing was ever activated');
});

test('a playbook id another repository provides refuses the whole commit, naming both', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'collide.git');
  repo.commit({
    'playbooks/mine.ts': playbookSource({ id: 'collide-mine', body: 'return {};' }),
    'playbooks/theirs.ts': playbookSource({ id: 'mobile-unauthorized-ip', body: 'return {};' }),
  });
  await syncer.add({ name: 'collide', kind: 'git', url: daemon.url('collide.git') }, 'user:admin');
  const r = await syncer.sync('collide', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /"mobile-unauthorized-ip" .*already provided by repository "builtin"/);
  assert.ok(!(await store.activePlaybooks()).some((p) => p.playbookId === 'collide-mine'), 'nothing of the commit is half-activated');
});

test('a declaration that does not load (bad id, bad definition) and a repository with no playbooks are refused', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'bad.git');
  await syncer.add({ name: 'bad', kind: 'git', url: daemon.url('bad.git') }, 'user:admin');
  repo.commit({ 'README.md': 'nothing here\n' });
  let r = await syncer.sync('bad', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /no playbooks found/);
  repo.commit({ 'playbooks/x.ts': playbookSource({ id: 'Not Valid!', body: 'return {};' }) });
  r = await syncer.sync('bad', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /playbooks\/x\.ts: .*playbook id "Not Valid!" must be kebab-case/);
  repo.commit({ 'riposte.json': '{"playbooks": ["../x.ts"]}' });
  r = await syncer.sync('bad', 'user:admin', 'manual');
  assert.match(r.errors.join('\n'), /riposte\.json: "\.\.\/x\.ts" is outside the repository/);
});

test('URLs that cannot or must not be fetched: clear errors, credentials never echoed', async () => {
  await assert.rejects(syncer.add({ name: 'ext', kind: 'git', url: 'ext::sh -c touch% /tmp/pwned' }, 'user:admin'), /must be file:\/\/, git:\/\/, ssh:\/\/, https:\/\//);
  await assert.rejects(syncer.add({ name: 'opt', kind: 'git', url: '--upload-pack=touch /tmp/pwned' }, 'user:admin'), /may not start with "-"/);
  await assert.rejects(syncer.add({ name: 'dir1', kind: 'dir', url: 'relative/path' }, 'user:admin'), /must be an absolute path/);
  await assert.rejects(syncer.add({ name: 'builtin', kind: 'git', url: daemon.url('x.git') }, 'user:admin'), /shipped with Riposte/);
  await syncer.add({ name: 'gone', kind: 'git', url: `https://user:hunter2@127.0.0.1:1/nothing.git` }, 'user:admin');
  const r = await syncer.sync('gone', 'user:admin', 'manual');
  assert.equal(r.status, 'failed');
  assert.ok(r.errors.length > 0);
  assert.doesNotMatch(JSON.stringify(r), /hunter2/);
  assert.doesNotMatch(JSON.stringify(await store.listAudit({ limit: 1000 })), /hunter2/);
  assert.doesNotMatch(JSON.stringify(await store.listRepos()), /hunter2/);
  assert.equal((await store.getRepo('gone'))!.url, 'https://127.0.0.1:1/nothing.git');
  assert.equal(await store.repoCredentials('gone'), 'user:hunter2');
  const missing = await (async () => {
    await syncer.add({ name: 'missing', kind: 'git', url: daemon.url('no-such.git') }, 'user:admin');
    return syncer.sync('missing', 'user:admin', 'manual');
  })();
  assert.equal(missing.status, 'failed');
  assert.match(missing.errors.join('\n'), /not exported|does not appear to be a git repository|unable to access|Could not read/i);
});

test('a local directory is built as it is; the schedule syncs repositories whose interval has passed', async () => {
  const dir = join(tmp.dir, 'devdir');
  mkdirSync(join(dir, 'playbooks'), { recursive: true });
  writeFileSync(join(dir, 'playbooks', 'dev.ts'), playbookSource({ id: 'dev-pb', body: "await ctx.note('v1');" }));
  await syncer.add({ name: 'dev', kind: 'dir', url: dir, syncIntervalS: 60 }, 'user:admin');
  const r1 = await syncer.sync('dev', 'user:admin', 'manual');
  assert.equal(r1.status, 'activated');
  assert.equal(r1.commit, null);
  const firstHash = r1.playbooks[0]!.hash;
  writeFileSync(join(dir, 'playbooks', 'dev.ts'), playbookSource({ id: 'dev-pb', body: "await ctx.note('v2');" }));
  const clock = Date.now() + 61_000;
  const scheduled = new RepoSyncer(store, sandbox, { mirrorsDir: join(tmp.dir, 'mirrors'), now: () => clock });
  scheduled.startSchedule(20);
  try {
    const until = Date.now() + 20_000;
    while ((await store.repoPlaybooks('dev'))[0]!.hash === firstHash) {
      if (Date.now() > until) assert.fail('the scheduled sync did not activate the change');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    scheduled.stopSchedule();
  }
  const actors = (await store.listAudit({ limit: 1000 })).filter((e) => e.target === 'repo:dev').map((e) => `${e.actor} ${e.action}`);
  assert.ok(actors.includes('system:schedule repo.activate'), actors.join('\n'));
});

test('an id Riposte reserves is refused; a flood of syncs costs one running and one queued; a refused commit is not rebuilt by hooks', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'flood.git');
  repo.commit({ 'playbooks/a.ts': playbookSource({ id: 'adhoc-action', body: 'return {};' }) });
  await syncer.add({ name: 'flood', kind: 'git', url: daemon.url('flood.git') }, 'user:admin');
  const reserved = await syncer.sync('flood', 'user:admin', 'manual');
  assert.equal(reserved.status, 'refused');
  assert.match(reserved.errors.join('\n'), /playbook id "adhoc-action" is reserved by Riposte/);

  const broken = repo.commit({ 'playbooks/a.ts': playbookSource({ id: 'flood-a', body: 'return { x: undefinedName };' }) });
  const before = (await store.listAudit({ limit: 10_000 })).filter((e) => e.target === 'repo:flood').length;
  const results = await Promise.all(Array.from({ length: 20 }, () => syncer.sync('flood', 'webhook:flood', 'webhook')));
  const audits = (await store.listAudit({ limit: 10_000 })).filter((e) => e.target === 'repo:flood').slice(before);
  assert.ok(audits.length <= 2, `20 hooks ran ${audits.length} syncs`);
  assert.ok(results.every((r) => r.status === 'refused' && r.commit === broken));
  // Refused already: a hook answers from the record without building it again.
  const again = await syncer.sync('flood', 'webhook:flood', 'webhook');
  assert.equal(again.status, 'refused');
  assert.match(again.errors.join('\n'), /undefinedName/);
});

test('an activation built on a stale view is refused: an older commit never replaces a newer one', async () => {
  const soc = (await store.getRepo('soc'))!;
  const stale = soc.activeAt;
  const bundle = { hash: 'feedfeedfeedfeed', code: '(function(){})()', config: {} };
  await store.activateRepo('soc', 'a'.repeat(40), [{ playbookId: 'hello-soc', path: 'playbooks/hello.ts', bundle }], 'user:cli', 'manual', stale);
  const newer = (await store.getRepo('soc'))!;
  await assert.rejects(
    store.activateRepo('soc', 'b'.repeat(40), [{ playbookId: 'hello-soc', path: 'playbooks/hello.ts', bundle }], 'user:server', 'webhook', stale),
    /another sync activated a{40} of repository "soc" while this one built b{40}/,
  );
  assert.equal((await store.getRepo('soc'))!.activeCommit, newer.activeCommit);
});
