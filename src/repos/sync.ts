/**
 * Syncing a playbook repository: fetch it, pin the commit its ref points at, build that commit
 * (build.ts: bundle, type-check against the SDK, load into the sandbox) and only then activate it
 * — one store transaction (src/store/sqlite/repos.ts). A commit that does not build is refused
 * with every error, recorded on the repository and audited; the active commit keeps running.
 *
 * Kinds: `git` (any URL git can fetch; a bare mirror under <dataDir>/repos/), `dir` (a local
 * directory, for development: built as it is now, commit recorded as null) and `builtin` (the
 * playbooks shipped with Riposte, synced at start-up, recorded as commit `riposte@<version>`;
 * their declared power is confirmed by installing Riposte, audited as `system:install`).
 *
 * Syncs of one repository run one at a time (a push hook firing while a sync runs waits for it);
 * a scheduled sync runs every `syncIntervalS` for repositories that set it.
 *
 * Failure semantics: nothing is activated unless every playbook of the commit built; a crash
 * mid-sync leaves the previous activation (the transaction did not commit) and at most a mirror
 * or temporary directory that the next sync reuses or removes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_REPOSITORY, shippedPlaybookFiles } from '../../playbooks/index.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { NewRepo, PlaybookBuild, RepoRecord, RepoSyncStatus, RepoSyncTrigger } from '../store/repo-records.js';
import type { Store } from '../store/store.js';
import { declaredPower, unconfirmedPower } from '../engine/power.js';
import { ADHOC_PLAYBOOK_ID } from '../engine/adhoc-playbook.js';
import { RepoBuildError, buildRepository } from './build.js';
import { GitError, exportCommit, fetchMirror, listTree, redactUrl, resolveCommit, validateGitUrl, validateRef } from './git.js';
import { checkDirectory, checkTree } from './tree.js';
import { ConflictError } from '../store/sqlite/common.js';
import { installedPlaybooks } from './installed.js';
import { discoverTests, runRepositoryTestsApart, TEST_LIMITS, TESTS_DIR } from '../testing/repo-tests.js';

export class RepoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepoError';
  }
}

export interface SyncResult {
  repository: string;
  status: RepoSyncStatus;
  /** The commit the sync fetched and tried (null: a directory, or the fetch failed). */
  commit: string | null;
  /** The commit active after the sync (unchanged unless `activated`). */
  activeCommit: string | null;
  /** The active playbooks after the sync. */
  playbooks: Array<{ id: string; path: string; hash: string; unconfirmed: string[] }>;
  errors: string[];
}

export interface RepoSyncerOptions {
  /** Where Git mirrors are kept (<dataDir>/repos). */
  mirrorsDir: string;
  onError?: (err: unknown) => void;
  /** Called after an activation or removal; awaited (the server reloads its playbooks before the sync answers). */
  onChange?: () => Promise<void> | void;
  now?: () => number;
  /** Limits of a repository's tests at sync (default TEST_LIMITS). */
  testLimits?: typeof TEST_LIMITS;
}

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function riposteVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return `riposte@${pkg.version ?? 'unknown'}`;
}

export class RepoSyncer {
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Per repository, the sync waiting for the running one to end (not started yet). */
  private readonly queued = new Map<string, Promise<SyncResult>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly store: Store, private readonly sandbox: Sandbox, private readonly opts: RepoSyncerOptions) {}

  /** Validates and records a repository (it is synced separately). */
  async add(repo: NewRepo, actor: string): Promise<RepoRecord> {
    if (repo.name === BUILTIN_REPOSITORY || repo.kind === 'builtin') throw new RepoError(`"${BUILTIN_REPOSITORY}" is the repository shipped with Riposte`);
    if (repo.kind === 'git') {
      try {
        // Credentials in the URL or given apart: split off, stored encrypted, never in the shown URL.
        repo = { ...repo, ...validateGitUrl(repo.url, repo.credentials ?? null) };
        if (repo.ref !== undefined && repo.ref !== null) validateRef(repo.ref);
      } catch (err) {
        throw new RepoError((err as Error).message);
      }
    } else {
      if (repo.credentials != null) throw new RepoError('credentials are for Git repositories over http(s) only');
      if (!isAbsolute(repo.url)) throw new RepoError(`directory "${repo.url}" must be an absolute path`);
      if (!existsSync(repo.url) || !statSync(repo.url).isDirectory()) throw new RepoError(`directory "${repo.url}" does not exist`);
      if (repo.ref) throw new RepoError('a directory repository has no ref (it is built as it is)');
    }
    return this.store.addRepo(repo, actor);
  }

  async remove(name: string, actor: string): Promise<void> {
    await this.store.removeRepo(name, actor);
    await this.opts.onChange?.();
    rmSync(this.mirrorDir(name), { recursive: true, force: true });
  }

  /** Syncs one repository; concurrent syncs of the same repository run one after the other. */
  sync(name: string, actor: string, trigger: RepoSyncTrigger): Promise<SyncResult> {
    // A sync already queued behind the running one will see whatever this caller would: join it.
    // A flood of push hooks (or a replayed one) costs at most one running and one queued sync.
    const queued = this.queued.get(name);
    if (queued) return queued;
    const previous = this.chains.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => {
      if (this.queued.get(name) === next) this.queued.delete(name);
      return this.syncNow(name, actor, trigger);
    });
    this.queued.set(name, next);
    this.chains.set(name, next);
    void next.finally(() => { if (this.chains.get(name) === next) this.chains.delete(name); }).catch(() => undefined);
    return next;
  }

  /** The built-in repository: recorded on first start, synced at every start (an upgrade brings new playbooks). */
  async syncBuiltin(): Promise<SyncResult> {
    if (!(await this.store.getRepo(BUILTIN_REPOSITORY))) {
      await this.store.addRepo({ name: BUILTIN_REPOSITORY, kind: 'builtin', url: join(PACKAGE_ROOT, 'playbooks') }, 'system:install');
    }
    return this.sync(BUILTIN_REPOSITORY, 'system:startup', 'startup');
  }

  /** Every repository whose interval has passed is synced (checked every `checkMs`). */
  startSchedule(checkMs = 30_000): void {
    const tick = async () => {
      const now = this.opts.now?.() ?? Date.now();
      for (const r of await this.store.listRepos()) {
        if (r.syncIntervalS === null || r.kind === 'builtin') continue;
        const last = r.lastSync ? Date.parse(r.lastSync.at) : 0;
        if (now - last >= r.syncIntervalS * 1000) await this.sync(r.name, 'system:schedule', 'schedule').catch((err: unknown) => this.opts.onError?.(err));
      }
    };
    const loop = () => {
      tick().catch((err: unknown) => this.opts.onError?.(err)).finally(() => {
        if (this.timer !== null) this.timer = setTimeout(loop, checkMs).unref();
      });
    };
    this.timer = setTimeout(loop, checkMs).unref();
  }

  stopSchedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * The repository's tests, run hermetically in a process of their own (its own sandbox and heap,
   * a time budget): a failure refuses the commit. Production runs never share a realm with them.
   */
  private async requireTests(root: string, builds: PlaybookBuild[]): Promise<void> {
    if (discoverTests(root).length === 0) {
      throw new RepoBuildError([`the repository requires tests and this commit has none (${TESTS_DIR}/*.test.json)`]);
    }
    let results;
    try {
      results = await runRepositoryTestsApart(root, builds, this.opts.testLimits ?? TEST_LIMITS);
    } catch (err) {
      throw new RepoBuildError([(err as Error).message]);
    }
    const errors = results.filter((r) => !r.ok).map((r) => `${r.file}: test failed: ${r.problems.join('; ')}`);
    for (const b of builds) {
      if (!results.some((r) => r.playbook === b.playbookId)) errors.push(`${b.path}: playbook ${b.playbookId} has no test (${TESTS_DIR}/*.test.json)`);
    }
    if (errors.length > 0) throw new RepoBuildError(errors);
  }

  private mirrorDir(name: string): string {
    return join(this.opts.mirrorsDir, `${name}.git`);
  }

  private async syncNow(name: string, actor: string, trigger: RepoSyncTrigger): Promise<SyncResult> {
    const repo = await this.store.getRepo(name);
    if (!repo) throw new RepoError(`repository "${name}" not found`);
    let commit: string | null = null;
    let work: string | null = null;
    try {
      let root: string;
      let files: string[] | undefined;
      if (repo.kind === 'git') {
        const mirror = this.mirrorDir(name);
        await fetchMirror(repo.url, mirror, await this.store.repoCredentials(name));
        commit = await resolveCommit(mirror, repo.ref);
        if (commit === repo.activeCommit) return await this.finish(repo, 'unchanged', commit, [], actor, trigger);
        // A hook or the schedule does not rebuild a commit already refused (a person's sync does).
        if (trigger !== 'manual' && repo.lastSync?.status === 'refused' && repo.lastSync.commit === commit) {
          return await this.finish(repo, 'refused', commit, repo.lastSync.errors, actor, trigger);
        }
        checkTree(await listTree(mirror, commit));
        work = mkdtempSync(join(tmpdir(), 'riposte-sync-'));
        await exportCommit(mirror, commit, work);
        root = work;
      } else if (repo.kind === 'dir') {
        root = repo.url;
        if (!existsSync(root) || !statSync(root).isDirectory()) throw new GitError(`directory "${root}" does not exist`);
        checkDirectory(root);
      } else {
        root = PACKAGE_ROOT;
        commit = riposteVersion();
        files = shippedPlaybookFiles.map((f) => relative(PACKAGE_ROOT, f.file));
      }
      const builds = await buildRepository(this.sandbox, root, { typeCheck: repo.kind !== 'builtin', ...(files ? { files } : {}) });
      if (repo.kind === 'builtin') builds.forEach((b, i) => { b.path = shippedPlaybookFiles[i]!.path; });
      const reserved = builds.filter((b) => b.playbookId === ADHOC_PLAYBOOK_ID);
      if (repo.kind !== 'builtin' && reserved.length > 0) {
        throw new RepoBuildError(reserved.map((b) => `${b.path}: playbook id "${b.playbookId}" is reserved by Riposte`));
      }
      if (repo.requireTests) await this.requireTests(root, builds);
      if (await this.sameAsActive(name, builds) && commit === repo.activeCommit) {
        // A crash between the built-in activation and its grants is repaired at the next start.
        if (repo.kind === 'builtin') await this.confirmBuiltin(builds);
        return await this.finish(repo, 'unchanged', commit, [], actor, trigger);
      }
      await this.store.activateRepo(name, commit, builds, actor, trigger, repo.activeAt);
      if (repo.kind === 'builtin') await this.confirmBuiltin(builds);
      await this.opts.onChange?.();
      return await this.result(name, 'activated', commit, []);
    } catch (err) {
      if (err instanceof RepoBuildError) return this.finish(repo, 'refused', commit, err.errors, actor, trigger);
      if (err instanceof GitError) return this.finish(repo, 'failed', commit, [err.message], actor, trigger);
      // An id another repository provides (the store's ConflictError) refuses the commit too.
      if (err instanceof ConflictError) return this.finish(repo, 'refused', commit, [(err as Error).message], actor, trigger);
      throw err;
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
    }
  }

  private async sameAsActive(name: string, builds: PlaybookBuild[]): Promise<boolean> {
    const active = await this.store.repoPlaybooks(name);
    return active.length === builds.length
      && builds.every((b) => active.some((a) => a.playbookId === b.playbookId && a.path === b.path && a.hash === b.bundle.hash));
  }

  private async confirmBuiltin(builds: PlaybookBuild[]): Promise<void> {
    for (const b of builds) {
      const power = declaredPower(b.bundle.config as Parameters<typeof declaredPower>[0]);
      if (unconfirmedPower(power, await this.store.getPlaybookGrant(b.playbookId), BUILTIN_REPOSITORY).length > 0) {
        const grant = { playbookId: b.playbookId, repo: BUILTIN_REPOSITORY, hash: b.bundle.hash, power };
        await this.store.grantPlaybookPower(grant, 'system:install');
      }
    }
  }

  private async finish(repo: RepoRecord, status: Exclude<RepoSyncStatus, 'activated'>, commit: string | null, errors: string[], actor: string, trigger: RepoSyncTrigger): Promise<SyncResult> {
    const clean = errors.map((e) => redactUrl(e).slice(0, 2000)).slice(0, 200);
    await this.store.recordRepoSync(repo.name, status, commit, clean, actor, trigger);
    return this.result(repo.name, status, commit, clean);
  }

  private async result(name: string, status: RepoSyncStatus, commit: string | null, errors: string[]): Promise<SyncResult> {
    const repo = await this.store.getRepo(name);
    const playbooks = (await installedPlaybooks(this.store))
      .filter((p) => p.source.repository === name)
      .map((p) => ({ id: p.config.id, path: p.source.path, hash: p.hash, unconfirmed: p.unconfirmed }));
    return { repository: name, status, commit, activeCommit: repo?.activeCommit ?? null, playbooks, errors };
  }
}
