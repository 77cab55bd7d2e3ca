/**
 * A repository added with `requireTests`: a commit is activated only when its declarative tests
 * (tests/*.test.json) pass, run hermetically at sync with the playbooks in the sandbox; a failing
 * test refuses the commit naming the test and its first difference, and the previous commit stays
 * active. A repository that does not require tests is activated whatever its tests say.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { RepoSyncer } from '../../src/repos/sync.js';
import { GitDaemon, GitRepo, playbookSource } from '../support/git.js';
import { openRepoSyncer, type RepoSyncerFixture } from '../support/repo-syncer.js';
import { tempDir } from '../support/temp-store.js';

const tmp = tempDir('riposte-repos-tests-');
let daemon: GitDaemon;
let fixture: RepoSyncerFixture;
let store: SqliteStore;
let syncer: RepoSyncer;

before(async () => {
  mkdirSync(join(tmp.dir, 'served'));
  daemon = await GitDaemon.start(join(tmp.dir, 'served'));
  fixture = await openRepoSyncer(tmp.dir);
  ({ store, syncer } = fixture);
});

after(async () => {
  daemon.stop();
  await fixture.close();
  tmp.remove();
});

const playbook = (note: string) => playbookSource({
  id: 'tested-block', roles: { firewall: 'firewall' },
  body: `  const r = await ctx.roles.firewall.blockIp({ ip: '198.51.100.7' });\n  await ctx.note(${JSON.stringify(note)});\n  return { blocked: r.blocked };`,
});
const testFile = JSON.stringify({
  playbook: 'tested-block',
  description: 'blocks and says so',
  scenario: { actions: { 'firewall.blockIp': { output: { blocked: true, ip: '198.51.100.7' } } } },
  expect: { status: 'completed', actions: [{ name: 'firewall.blockIp', input: { ip: '198.51.100.7' } }], notes: ['blocked'] },
});

test('a commit whose tests fail is refused naming the test; the passing commit stays active', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'tested.git');
  const good = repo.commit({ 'playbooks/block.ts': playbook('blocked'), 'tests/block.test.json': testFile }, 'tested');
  const added = await syncer.add({ name: 'tested', kind: 'git', url: daemon.url('tested.git'), requireTests: true }, 'user:admin');
  assert.equal(added.requireTests, true);
  const r1 = await syncer.sync('tested', 'user:admin', 'manual');
  assert.equal(r1.status, 'activated', r1.errors.join('\n'));

  const bad = repo.commit({ 'playbooks/block.ts': playbook('done') }, 'changes the note');
  const r2 = await syncer.sync('tested', 'user:admin', 'manual');
  assert.equal(r2.status, 'refused');
  assert.equal(r2.commit, bad);
  assert.match(r2.errors.join('\n'), /tests\/block\.test\.json: test failed: note 1: expected "blocked", got "done"/);
  assert.equal((await store.getRepo('tested'))!.activeCommit, good);

  rmSync(join(repo.dir, 'tests'), { recursive: true });
  repo.commit({ 'playbooks/block.ts': playbook('blocked') }, 'drops the test');
  const r3 = await syncer.sync('tested', 'user:admin', 'manual');
  assert.equal(r3.status, 'refused');
  assert.match(r3.errors.join('\n'), /requires tests and this commit has none/);
  assert.equal((await store.getRepo('tested'))!.activeCommit, good);
});

test('a repository that does not require tests is activated whatever its tests say', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'untested.git');
  repo.commit({ 'playbooks/block.ts': playbook('done').replace('tested-block', 'untested-block'), 'tests/block.test.json': testFile }, 'x');
  await syncer.add({ name: 'untested', kind: 'git', url: daemon.url('untested.git') }, 'user:admin');
  const r = await syncer.sync('untested', 'user:admin', 'manual');
  assert.equal(r.status, 'activated', r.errors.join('\n'));
  assert.equal((await store.getRepo('untested'))!.requireTests, false);
});

test('tests that never end are stopped within the budget, in a process of their own; the commit is refused', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'endless.git');
  repo.commit({
    'playbooks/loop.ts': playbookSource({ id: 'endless', body: '  for (;;) await ctx.note("again");' }),
    'tests/loop.test.json': JSON.stringify({ playbook: 'endless', scenario: {}, expect: { status: 'completed' } }),
  }, 'never ends');
  await syncer.add({ name: 'endless', kind: 'git', url: daemon.url('endless.git'), requireTests: true }, 'user:admin');
  const limited = new RepoSyncer(store, fixture.sandbox, {
    mirrorsDir: join(tmp.dir, 'mirrors'), testLimits: { perTestMs: 1000, totalMs: 20_000, heapMb: 256 },
  });
  const t0 = Date.now();
  const r = await limited.sync('endless', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /tests\/loop\.test\.json: test failed: the test ran longer than 1 s and was stopped/);
  assert.ok(Date.now() - t0 < 20_000, `the sync took ${Date.now() - t0} ms`);
  assert.equal(fixture.sandbox.realm(false).active, 0, 'nothing of the tests ran in the server\'s sandbox');
});

test('a test that checks nothing, and a playbook without a test, are refused', async () => {
  const repo = GitRepo.create(join(tmp.dir, 'served'), 'empty-checks.git');
  repo.commit({
    'playbooks/block.ts': playbook('blocked'),
    'playbooks/other.ts': playbookSource({ id: 'untested-other', body: '  return 1;' }),
    'tests/block.test.json': JSON.stringify({ playbook: 'tested-block', scenario: {}, expect: {} }),
  }, 'x');
  await syncer.add({ name: 'empty-checks', kind: 'git', url: daemon.url('empty-checks.git'), requireTests: true }, 'user:admin');
  const r = await syncer.sync('empty-checks', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /expect: it checks nothing/);
  assert.match(r.errors.join('\n'), /playbooks\/other\.ts: playbook untested-other has no test/);
});
