/**
 * `riposte repos add|list|show|sync|remove|webhook`: playbook repositories (src/repos/). Local
 * administration on the store, like `assets` and `playbooks`: whoever can open the data directory
 * and its secret key. A running server picks up an activation within seconds (it polls the
 * store's playbook revision). Text that came from a repository (compiler messages, paths) is
 * printed terminal-safe.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { RepoSyncer, type SyncResult } from '../../repos/sync.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import type { RepoRecord } from '../../store/repo-records.js';
import type { SqliteStore } from '../../store/sqlite/index.js';
import { CliError, cliActor, dataDirOf, printJson, withStore } from '../open-store.js';
import { formatTime, shortCommit, table, terminalSafe, truncate } from '../format.js';
import { print } from '../output.js';

/** `90s`, `15m`, `2h`, `1d` → seconds. */
export function parseInterval(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new CliError(`interval "${text}" must look like 90s, 15m, 2h or 1d`);
  const s = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (s < 60) throw new CliError('the sync interval must be at least 60s');
  return s;
}

async function withSyncer<T>(cmd: Command, fn: (syncer: RepoSyncer, store: SqliteStore) => Promise<T>): Promise<T> {
  return withStore(cmd, async (store) => {
    const sandbox = new Sandbox();
    try {
      return await fn(new RepoSyncer(store, sandbox, { mirrorsDir: join(dataDirOf(cmd), 'repos') }), store);
    } finally {
      sandbox.close();
    }
  });
}

function printSync(r: SyncResult): void {
  const what = {
    activated: `activated ${r.commit ?? '(directory)'}`,
    unchanged: `unchanged: ${r.commit ?? 'the active version'} is active`,
    refused: `refused ${r.commit ?? ''}: the active version (${r.activeCommit ?? 'none'}) keeps running`,
    failed: `failed: the active version (${r.activeCommit ?? 'none'}) keeps running`,
  }[r.status];
  print(`${terminalSafe(r.repository)}: ${what}`);
  for (const e of r.errors) print(`  ${terminalSafe(e)}`);
  for (const p of r.playbooks) {
    print(`  ${terminalSafe(p.id)}  ${terminalSafe(p.path)}  ${p.hash}${p.unconfirmed.length > 0 ? '  (runs supervised until confirmed)' : ''}`);
    for (const u of p.unconfirmed) print(`    to confirm: ${terminalSafe(u)}`);
  }
  if (r.playbooks.some((p) => p.unconfirmed.length > 0)) print('confirm with: riposte playbooks confirm <playbook>');
}

const syncFailed = (r: SyncResult) => r.status === 'refused' || r.status === 'failed';

function location(r: RepoRecord): string {
  return r.kind === 'git' ? `${r.url}${r.ref ? `#${r.ref}` : ''}` : r.url;
}

interface AddOptions {
  dir?: boolean; ref?: string; syncEvery?: string; sync: boolean; json?: boolean; credentialsEnv?: string; requireTests?: boolean;
}

/** `--credentials-env VAR`: the credentials never appear on a command line (ps, shell history). */
export function credentialsFromEnv(variable: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(variable)) {
    throw new CliError(`--credentials-env: "${terminalSafe(variable)}" is not an environment variable name`);
  }
  const value = process.env[variable];
  if (value === undefined || value === '') {
    throw new CliError(`--credentials-env: the environment variable ${variable} is not set or empty`);
  }
  // The value itself is never echoed, even in an error.
  if (value.indexOf(':') <= 0) {
    throw new CliError(`--credentials-env: ${variable} must hold user:token (a user name, a colon, the token)`);
  }
  return value;
}

export function registerRepos(program: Command): void {
  const repos = program.command('repos').description('playbook repositories: Git or a directory, activated at a pinned commit');

  repos.command('add')
    .description('add a repository (a Git URL, or --dir for a local directory) and sync it')
    .argument('<name>', 'a short name, e.g. soc-playbooks')
    .argument('<location>', 'Git URL (file://, git://, ssh://, https://, user@host:path) or, with --dir, a directory')
    .option('--credentials-env <VAR>', 'read https credentials "user:token" from this environment variable (safer than '
      + 'https://user:token@… in <location>, which ps and the shell history show)')
    .option('--dir', 'a local directory (development): built as it is, no commit pinned')
    .option('--ref <branch-or-tag>', 'the branch or tag to follow (default: the remote default branch)')
    .option('--sync-every <interval>', 'also sync on a schedule, e.g. 15m')
    .option('--require-tests', "activate a commit only when its tests (tests/*.test.json) pass, run hermetically at sync")
    .option('--no-sync', 'only record it; sync later with `riposte repos sync`')
    .option('--json', 'machine-readable JSON')
    .action(async (name: string, where: string, opts: AddOptions, cmd: Command) => {
      const interval = opts.syncEvery === undefined ? null : parseInterval(opts.syncEvery);
      const credentials = opts.credentialsEnv === undefined ? null : credentialsFromEnv(opts.credentialsEnv);
      const out = await withSyncer(cmd, async (syncer) => {
        const repo = await syncer.add({
          name, kind: opts.dir ? 'dir' : 'git', url: opts.dir ? resolve(where) : where, credentials,
          ref: opts.ref ?? null, syncIntervalS: interval, requireTests: opts.requireTests === true,
        }, cliActor());
        return { repo, sync: opts.sync ? await syncer.sync(name, cliActor(), 'manual') : null };
      });
      if (opts.json) return printJson(out);
      print(`added repository ${terminalSafe(name)} (${terminalSafe(location(out.repo))})`);
      if (out.sync) printSync(out.sync);
      if (out.sync && syncFailed(out.sync)) process.exitCode = 1;
    });

  repos.command('list')
    .description('repositories with their active commit and last sync')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const rows = await withStore(cmd, (store) => store.listRepos());
      if (opts.json) return printJson({ repositories: rows });
      if (rows.length === 0) return print('no repositories');
      print(table(['NAME', 'KIND', 'ACTIVE COMMIT', 'LAST SYNC', 'WHERE'], rows.map((r) => [
        terminalSafe(r.name), r.kind, shortCommit(r.activeCommit) ?? '-',
        r.lastSync ? `${r.lastSync.status} ${formatTime(r.lastSync.at)}` : 'never', truncate(location(r), 80),
      ])));
    });

  repos.command('show')
    .description('a repository: its active playbooks and the errors of its last sync')
    .argument('<name>')
    .option('--json', 'machine-readable JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const detail = await withStore(cmd, async (store) => {
        const repo = await store.getRepo(name);
        if (!repo) throw new CliError(`repository "${name}" not found`);
        return { repo, playbooks: await store.repoPlaybooks(name) };
      });
      if (opts.json) return printJson(detail);
      const { repo } = detail;
      print(`repository ${terminalSafe(repo.name)} (${repo.kind}) ${terminalSafe(location(repo))}`);
      print(`active commit: ${repo.activeCommit ?? 'none'}${repo.activeAt ? ` since ${formatTime(repo.activeAt)}` : ''}`);
      print(`sync: on demand${repo.webhook ? ', push hook' : ''}${repo.syncIntervalS ? `, every ${repo.syncIntervalS}s` : ''}`
        + `${repo.requireTests ? '; a commit is activated only when its tests pass' : ''}`);
      if (repo.lastSync) {
        print(`last sync: ${repo.lastSync.status} ${repo.lastSync.commit ?? ''} at ${formatTime(repo.lastSync.at)}`);
        for (const e of repo.lastSync.errors) print(`  ${terminalSafe(e)}`);
      }
      for (const p of detail.playbooks) print(`  ${terminalSafe(p.playbookId)}  ${terminalSafe(p.path)}  ${p.hash}`);
    });

  repos.command('sync')
    .description('fetch, build and activate the commit the ref points at (a commit that does not build is refused)')
    .argument('<name>')
    .option('--json', 'machine-readable JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await withSyncer(cmd, async (syncer, store) => {
        if (!(await store.getRepo(name))) throw new CliError(`repository "${name}" not found`);
        return syncer.sync(name, cliActor(), 'manual');
      });
      if (opts.json) printJson(result);
      else printSync(result);
      if (syncFailed(result)) process.exitCode = 1;
    });

  repos.command('remove')
    .description('remove a repository: its playbooks stop taking new runs (runs already started finish on their code)')
    .argument('<name>')
    .option('--yes', 'do not ask')
    .action(async (name: string, opts: { yes?: boolean }, cmd: Command) => {
      if (!opts.yes) throw new CliError(`removing repository "${name}" deactivates its playbooks: repeat with --yes`);
      await withSyncer(cmd, (syncer) => syncer.remove(name, cliActor()));
      print(`removed repository ${terminalSafe(name)}`);
    });

  repos.command('webhook')
    .description('set up (or rotate, or --remove) the push hook that syncs the repository: prints its secret once')
    .argument('<name>')
    .option('--remove', 'remove the hook')
    .action(async (name: string, opts: { remove?: boolean }, cmd: Command) => {
      const secret = opts.remove ? null : randomBytes(24).toString('base64url');
      await withStore(cmd, async (store) => {
        if (!(await store.getRepo(name))) throw new CliError(`repository "${name}" not found`);
        await store.setRepoWebhookSecret(name, secret, cliActor());
      });
      if (secret === null) return print(`push hook of ${terminalSafe(name)} removed`);
      print(`push hook of ${terminalSafe(name)}: POST <server>/api/v1/repos/${encodeURIComponent(name)}/hook`);
      print(`secret (shown once): ${secret}`);
      print('GitHub/Gitea: set it as the webhook secret (X-Hub-Signature-256); GitLab: as the secret token (X-Gitlab-Token);');
      print('anything else: send it in the X-Riposte-Hook-Token header.');
    });
}
