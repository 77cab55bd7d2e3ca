/**
 * `riposte repos …` and `riposte playbooks confirm` as an operator runs them (the compiled CLI in a
 * child process, a real repository served by a real `git daemon`): clear errors that write nothing,
 * the compiler's messages printed terminal-safe, exit codes a script can test, confirmation shown
 * with the hash of the code it applies to before it is given, and given only for that code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { GitDaemon, GitRepo, playbookSource } from '../support/git.js';
import { tempDir } from '../support/temp-store.js';
import { cliAsync } from './fixture.js';

const tmp = tempDir('riposte-cli-repos-');
const dataDir = join(tmp.dir, 'data');
let daemon: GitDaemon;
let repo: GitRepo;

before(async () => {
  mkdirSync(join(tmp.dir, 'served'));
  daemon = await GitDaemon.start(join(tmp.dir, 'served'));
  const store = await openSqliteStore({ dataDir, env: {} });
  await store.close();
  repo = GitRepo.create(join(tmp.dir, 'served'), 'pb.git');
});

after(() => {
  daemon.stop();
  tmp.remove();
});

const riposte = (...args: string[]) => cliAsync(dataDir, {}, ...args);

test('add pins; a refused commit exits 1 with the compiler message; confirm --hash grants what was shown', async () => {
  const v1 = repo.commit({ 'playbooks/contain.ts': playbookSource({ id: 'cli-contain', automation: 'autonomous', roles: { firewall: 'firewall' }, body: "await ctx.note('x');" }) });
  const added = await riposte('repos', 'add', 'soc', daemon.url('pb.git'));
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, new RegExp(`soc: activated ${v1}`));
  assert.match(added.stdout, /to confirm: automation level autonomous/);
  assert.match(added.stdout, /to confirm: new role "firewall"/);

  const list = await riposte('playbooks', 'list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`cli-contain\\s+1\\s+soc@${v1.slice(0, 12)}\\s+yes\\s+supervised \\(unconfirmed\\)`));
  assert.match(list.stdout, /mobile-unauthorized-ip\s+\d+\s+builtin@riposte@/);

  // A type error whose text carries a terminal escape sequence: printed inert.
  repo.commit({ 'playbooks/contain.ts': playbookSource({ id: 'cli-contain', roles: { firewall: 'firewall' }, body: "await ctx.roles.firewall.blockIp({ ip: 1, '\\u001b]0;pwned\\u0007': 2 });" }) });
  const refused = await riposte('repos', 'sync', 'soc');
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, new RegExp(`soc: refused [0-9a-f]{40}: the active version \\(${v1}\\) keeps running`));
  assert.match(refused.stdout, /playbooks\/contain\.ts:\d+:\d+: TS\d+/);
  assert.doesNotMatch(refused.stdout, /\u001b/);
  const shown = await riposte('repos', 'show', 'soc');
  assert.match(shown.stdout, new RegExp(`active commit: ${v1}`));
  assert.match(shown.stdout, /last sync: refused/);

  // confirm shows the change and the hash of the code it applies to, and grants only that code.
  const listed = JSON.parse((await riposte('playbooks', 'list', '--json')).stdout).playbooks
    .find((p: { id: string }) => p.id === 'cli-contain') as { hash: string };
  const ask = await riposte('playbooks', 'confirm', 'cli-contain');
  assert.equal(ask.code, 1);
  const change = `cli-contain \\(soc@${v1}:playbooks/contain\\.ts, bundle ${listed.hash}\\)`;
  assert.match(ask.stdout, new RegExp(`${change} declares:\n {2}automation level autonomous`));
  assert.match(ask.stderr, new RegExp(`repeat with --hash ${listed.hash} to confirm it`));
  const stale = await riposte('playbooks', 'confirm', 'cli-contain', '--hash', '0123456789abcdef');
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, new RegExp(`--hash 0123456789abcdef, but the active bundle is ${listed.hash}`));
  const gone = await riposte('playbooks', 'confirm', 'cli-contain', '--yes');
  assert.equal(gone.code, 1, '--yes is no longer an option');
  assert.match(gone.stderr, /unknown option '--yes'/);
  const still = JSON.parse((await riposte('playbooks', 'list', '--json')).stdout).playbooks
    .find((p: { id: string }) => p.id === 'cli-contain') as { unconfirmed: string[] };
  assert.equal(still.unconfirmed.length, 2, 'nothing was granted by the refused confirmations');

  const yes = await riposte('playbooks', 'confirm', 'cli-contain', '--hash', listed.hash);
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stdout, new RegExp(`confirmed ${change}`));
  const after = await riposte('playbooks', 'list', '--json');
  const row = JSON.parse(after.stdout).playbooks.find((p: { id: string }) => p.id === 'cli-contain');
  assert.equal(row.automation, 'autonomous');
  assert.deepEqual(row.unconfirmed, []);
  assert.deepEqual(row.source, { repository: 'soc', commit: v1, path: 'playbooks/contain.ts' });
  const again = await riposte('playbooks', 'confirm', 'cli-contain', '--hash', listed.hash);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to confirm/);
  const store = await openSqliteStore({ dataDir, env: {} });
  const grant = await store.getPlaybookGrant('cli-contain');
  await store.close();
  assert.deepEqual([grant?.repo, grant?.hash], ['soc', listed.hash]);
});

test('bad input is refused with an error naming it, and nothing is written', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['repos', 'add', 'x1', 'ext::sh -c id'], /must be file:\/\/, git:\/\//],
    [['repos', 'add', 'x2', daemon.url('pb.git'), '--ref', '--upload-pack=evil'], /is not a branch or tag name/],
    [['repos', 'add', 'bad name', daemon.url('pb.git')], /invalid repository name/],
    [['repos', 'add', 'x3', daemon.url('pb.git'), '--sync-every', '10s'], /at least 60s/],
    [['repos', 'add', 'x4', 'relative/dir', '--dir'], /does not exist/],
    [['repos', 'remove', 'soc'], /repeat with --yes/],
    [['repos', 'remove', 'builtin', '--yes'], /cannot be removed/],
    [['repos', 'sync', 'nope'], /repository "nope" not found/],
    [['playbooks', 'confirm', 'nope', '--hash', '0123456789abcdef'], /no active playbook "nope"/],
  ];
  const store = await openSqliteStore({ dataDir, env: {} });
  const before = (await store.listRepos()).length;
  await store.close();
  for (const [args, expected] of cases) {
    const r = await riposte(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, expected, args.join(' '));
  }
  const again = await openSqliteStore({ dataDir, env: {} });
  assert.equal((await again.listRepos()).length, before);
  await again.close();
});

test('repos add --credentials-env reads user:token from the environment: stored apart, never shown', async () => {
  const env = { SOC_GIT_CREDS: 'deploy:Env-T0k3n' };
  const url = 'https://127.0.0.1:1/team/private.git';
  const added = await cliAsync(dataDir, env, 'repos', 'add', 'private', url, '--credentials-env', 'SOC_GIT_CREDS',
    '--no-sync');
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /added repository private \(https:\/\/127\.0\.0\.1:1\/team\/private\.git\)/);
  const list = await riposte('repos', 'list', '--json');
  assert.doesNotMatch(list.stdout + added.stdout + added.stderr, /Env-T0k3n/);
  const store = await openSqliteStore({ dataDir, env: {} });
  try {
    assert.equal(await store.repoCredentials('private'), 'deploy:Env-T0k3n');
    assert.doesNotMatch(JSON.stringify(await store.listAudit({ limit: 1000 })), /Env-T0k3n/);
  } finally {
    await store.close();
  }

  const cases: Array<[Record<string, string>, string[], RegExp]> = [
    [{}, ['--credentials-env', 'SOC_NOT_SET'], /the environment variable SOC_NOT_SET is not set or empty/],
    [{ SOC_BAD: 'Only-T0k3n' }, ['--credentials-env', 'SOC_BAD'], /SOC_BAD must hold user:token/],
    [{}, ['--credentials-env', 'NOT A NAME'], /is not an environment variable name/],
  ];
  for (const [extra, args, expected] of cases) {
    const r = await cliAsync(dataDir, extra, 'repos', 'add', 'private2', url, ...args, '--no-sync');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /Only-T0k3n/);
  }
  const git = await cliAsync(dataDir, env, 'repos', 'add', 'private2', daemon.url('pb.git'),
    '--credentials-env', 'SOC_GIT_CREDS');
  assert.equal(git.code, 1);
  assert.match(git.stderr, /credentials can only be given for http:\/\/ or https:\/\/ URLs/);
  const again = await openSqliteStore({ dataDir, env: {} });
  assert.equal(await again.getRepo('private2'), null);
  await again.close();

  const help = await riposte('repos', 'add', '--help');
  assert.match(help.stdout.replace(/\s+/g, ' '), /--credentials-env <VAR>.*safer than https:\/\/user:token@… in <location>/);
});
