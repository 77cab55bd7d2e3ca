/**
 * Grants of declared power are bound to the repository that provided the playbook and to the
 * bundle an admin reviewed (review findings 2 and 3): an id a repository frees — by a rename or by
 * removal — loses its grant in that same audited transaction, so whoever provides the id next runs
 * supervised until an admin confirms it; a confirmation names the bundle reviewed and grants
 * nothing when another one became active since. Real Git (file:// repositories), real sandbox.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import type { RepoSyncer } from '../../src/repos/sync.js';
import { PlaybookCatalog } from '../../src/repos/catalog.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { effectiveAutomation, unconfirmedPower } from '../../src/engine/power.js';
import { confirmPlaybook, installedPlaybooks, type InstalledPlaybook } from '../../src/repos/installed.js';
import { PlaybookChangedError } from '../../src/store/repo-records.js';
import { BUILTIN_REPOSITORY } from '../../playbooks/index.js';
import { GitRepo, playbookSource } from '../support/git.js';
import { tempDir } from '../support/temp-store.js';
import { openRepoSyncer, type RepoSyncerFixture } from '../support/repo-syncer.js';

const tmp = tempDir('riposte-grants-');
let store: SqliteStore;
let sandbox: Sandbox;
let syncer: RepoSyncer;
let fx: RepoSyncerFixture;

before(async () => {
  fx = await openRepoSyncer(tmp.dir, { secretKey: Buffer.alloc(32, 7), syncBuiltin: true });
  ({ store, sandbox, syncer } = fx);
});

after(async () => {
  await fx.close();
  tmp.remove();
});

const isolate = (id: string, who: string) => playbookSource({
  id, automation: 'autonomous', roles: { firewall: 'firewall' },
  body: `await ctx.note(${JSON.stringify(who)}); return {};`,
});

async function gitRepo(name: string, files: Record<string, string>): Promise<GitRepo> {
  const repo = GitRepo.create(join(tmp.dir, 'served'), name);
  repo.commit(files);
  await syncer.add({ name, kind: 'git', url: `file://${repo.dir}` }, 'user:admin');
  const r = await syncer.sync(name, 'user:admin', 'manual');
  assert.equal(r.status, 'activated', r.errors.join('\n'));
  return repo;
}

async function installed(id: string): Promise<InstalledPlaybook> {
  const p = (await installedPlaybooks(store)).find((x) => x.config.id === id);
  assert.ok(p, `${id} is active`);
  return p;
}

async function audit(action: string, target: string): Promise<Array<{ detail: Record<string, unknown> }>> {
  return (await store.listAudit({ limit: 1000 }))
    .filter((e) => e.action === action && e.target === target)
    .map((e) => ({ detail: e.detail as Record<string, unknown> }));
}

/** The automation level the engine would give a run of the id, as the server's catalog loads it. */
async function runsAt(id: string): Promise<string> {
  const registry = new PlaybookRegistry();
  await new PlaybookCatalog(store, sandbox, registry).refresh(true);
  const p = registry.get(id)!;
  return effectiveAutomation(null, p.config.automation, (p.unconfirmed ?? []).length === 0);
}

test('a renamed id loses its grant; another repository shipping the id runs supervised (no takeover)', async () => {
  const a = await gitRepo('team-a', { 'playbooks/iso.ts': isolate('isolate-host', 'team A') });
  const reviewed = await installed('isolate-host');
  const { grant } = await confirmPlaybook(store, 'isolate-host', reviewed.hash, 'user:admin');
  assert.equal(grant?.repo, 'team-a');
  assert.equal(grant?.hash, reviewed.hash);
  assert.equal(await runsAt('isolate-host'), 'autonomous');

  // team A renames it: the id is freed, and its grant goes in the activation's own transaction.
  a.commit({ 'playbooks/iso.ts': isolate('isolate-host-v2', 'team A') });
  assert.equal((await syncer.sync('team-a', 'user:admin', 'manual')).status, 'activated');
  assert.equal(await store.getPlaybookGrant('isolate-host'), null);
  const [activation] = (await audit('repo.activate', 'repo:team-a')).slice(-1);
  assert.deepEqual((activation!.detail as { revokedGrants: string[] }).revokedGrants, ['isolate-host']);

  // team B ships the same id, the same declaration, other code: nothing carries over.
  await gitRepo('team-b', { 'playbooks/x.ts': isolate('isolate-host', 'TEAM B') });
  const taken = await installed('isolate-host');
  assert.equal(taken.source.repository, 'team-b');
  assert.deepEqual(taken.unconfirmed, [
    'automation level autonomous (confirmed: none, i.e. supervised)',
    'new role "firewall" (firewall: firewall.blockIp, firewall.unblockIp)',
  ]);
  assert.equal(await runsAt('isolate-host'), 'supervised');
});

test('an id renamed away and back in the same repository must be confirmed again', async () => {
  const c = await gitRepo('team-c', { 'playbooks/q.ts': isolate('quarantine', 'v1') });
  await confirmPlaybook(store, 'quarantine', (await installed('quarantine')).hash, 'user:admin');
  c.commit({ 'playbooks/q.ts': isolate('quarantine-next', 'v2') });
  assert.equal((await syncer.sync('team-c', 'user:admin', 'manual')).status, 'activated');
  c.commit({ 'playbooks/q.ts': isolate('quarantine', 'v3, unreviewed') });
  assert.equal((await syncer.sync('team-c', 'user:admin', 'manual')).status, 'activated');
  assert.equal((await installed('quarantine')).unconfirmed.length, 2);
  assert.equal(await runsAt('quarantine'), 'supervised');
});

test('removing a repository deletes its grants in the audited removal', async () => {
  await gitRepo('team-d', { 'playbooks/d.ts': isolate('disable-user', 'team D') });
  await confirmPlaybook(store, 'disable-user', (await installed('disable-user')).hash, 'user:admin');
  await syncer.remove('team-d', 'user:admin');
  assert.equal(await store.getPlaybookGrant('disable-user'), null);
  const [removal] = await audit('repo.remove', 'repo:team-d');
  assert.deepEqual(removal!.detail.playbooks, ['disable-user']);
  assert.deepEqual(removal!.detail.revokedGrants, ['disable-user']);
  await gitRepo('team-e', { 'playbooks/d.ts': isolate('disable-user', 'team E') });
  assert.equal(await runsAt('disable-user'), 'supervised');
});

test('built-in: install grants name the repository and bundle; an id an upgrade drops loses its grant', async () => {
  const shipped = (await store.repoPlaybooks(BUILTIN_REPOSITORY));
  assert.ok(shipped.length > 0);
  for (const p of shipped) {
    const g = await store.getPlaybookGrant(p.playbookId);
    if (g === null) continue; // nothing above supervised declared: nothing to confirm
    assert.equal(g.repo, BUILTIN_REPOSITORY);
    assert.equal(g.hash, p.hash);
    assert.equal(g.confirmedBy, 'system:install');
  }
  const granted = [];
  for (const p of shipped) if (await store.getPlaybookGrant(p.playbookId)) granted.push(p);
  assert.ok(granted.length > 0, 'a shipped playbook declares power (the founding one)');
  // An upgrade that no longer ships the first granted playbook: the activation drops its grant.
  const dropped = granted[0]!;
  const kept = await Promise.all(shipped.filter((p) => p.playbookId !== dropped.playbookId).map(async (p) => (
    { playbookId: p.playbookId, path: p.path, bundle: (await store.getBundle(p.hash))! })));
  await store.activateRepo(BUILTIN_REPOSITORY, 'riposte@next', kept, 'system:startup', 'startup');
  assert.equal(await store.getPlaybookGrant(dropped.playbookId), null);
  const [upgrade] = (await audit('repo.activate', `repo:${BUILTIN_REPOSITORY}`)).slice(-1);
  assert.deepEqual((upgrade!.detail as { revokedGrants: string[] }).revokedGrants, [dropped.playbookId]);
  for (const p of granted.slice(1)) {
    assert.ok(await store.getPlaybookGrant(p.playbookId), `${p.playbookId} keeps its grant`);
  }
});

test('a confirmation of a stale bundle is refused, naming both hashes, and writes nothing', async () => {
  const f = await gitRepo('toctou', {
    'playbooks/t.ts': playbookSource({
      id: 'toctou-pb', automation: 'supervised', roles: { firewall: 'firewall' }, body: 'return {};',
    }),
  });
  const reviewed = await installed('toctou-pb');
  // A push lands (a webhook) between the admin's review and the confirmation.
  f.commit({ 'playbooks/t.ts': playbookSource({
    id: 'toctou-pb', automation: 'autonomous', roles: { firewall: 'firewall', mdm: 'mdm' }, body: 'return {};',
  }) });
  assert.equal((await syncer.sync('toctou', 'webhook:toctou', 'webhook')).status, 'activated');
  const now = await installed('toctou-pb');
  assert.notEqual(now.hash, reviewed.hash);
  const revision = await store.playbookCatalogRevision();
  await assert.rejects(confirmPlaybook(store, 'toctou-pb', reviewed.hash, 'user:admin'), (err: unknown) => {
    assert.ok(err instanceof PlaybookChangedError);
    const both = `bundle ${reviewed.hash}, but the active bundle is ${now.hash} from repository toctou`;
    assert.match(err.message, new RegExp(both));
    return true;
  });
  // The store's own check, for a sync landing after the caller read the active bundle.
  const power = { automation: null, roles: { firewall: 'firewall' } };
  const stale = { playbookId: 'toctou-pb', repo: 'toctou', hash: reviewed.hash, power };
  await assert.rejects(store.grantPlaybookPower(stale, 'user:admin'), PlaybookChangedError);
  await assert.rejects(store.grantPlaybookPower({ ...stale, hash: now.hash, repo: 'team-a' }, 'user:admin'),
    /from repository team-a, but the active bundle is .* from repository toctou/);
  assert.equal(await store.getPlaybookGrant('toctou-pb'), null);
  assert.deepEqual(await audit('playbook.confirm', 'playbook:toctou-pb'), []);
  assert.equal(await store.playbookCatalogRevision(), revision);

  const { grant } = await confirmPlaybook(store, 'toctou-pb', now.hash, 'user:admin');
  assert.deepEqual({ repo: grant?.repo, hash: grant?.hash, automation: grant?.automation, roles: grant?.roles },
    { repo: 'toctou', hash: now.hash, automation: 'autonomous', roles: { firewall: 'firewall', mdm: 'mdm' } });
  const [entry] = await audit('playbook.confirm', 'playbook:toctou-pb');
  assert.equal(entry!.detail.hash, now.hash);
  assert.equal(entry!.detail.repo, 'toctou');
});

test('a grant for another repository does not cover the playbook, whatever it declares', () => {
  const grant = {
    playbookId: 'x', repo: 'team-a', hash: 'ab'.repeat(8), automation: null, roles: {},
    confirmedBy: 'user:admin', confirmedAt: '',
  };
  const nothing = { automation: null, roles: {} };
  assert.deepEqual(unconfirmedPower(nothing, grant, 'team-b'), ['provided by repository team-b; confirmed for team-a']);
  assert.deepEqual(unconfirmedPower(nothing, grant, null), ['provided by repository (unknown); confirmed for team-a']);
  assert.deepEqual(unconfirmedPower(nothing, grant, 'team-a'), []);
});
