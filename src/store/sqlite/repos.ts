/**
 * Playbook repositories, their active commits and compiled bundles, and admins' grants of power.
 * Activation is one transaction: the bundles, the repository's playbook set and the audit entry
 * land together or not at all (a playbook id another repository provides fails it whole), so a
 * refused commit never leaves a half-activated repository.
 *
 * A grant is bound to the repository that provided the playbook and to the bundle reviewed: it is
 * written only if that bundle is still the active one from that repository (else nothing is
 * written), and deleted in the activation or removal that stops the repository providing the id,
 * named in that transaction's audit entry — an id a repository frees never carries its grant over.
 */
import type Database from 'better-sqlite3';
import type {
  ActivePlaybook, NewPlaybookGrant, NewRepo, PlaybookBuild, PlaybookGrant, RepoRecord, RepoSyncStatus, RepoSyncTrigger,
  StoredBundle,
} from '../repo-records.js';
import { PlaybookChangedError } from '../repo-records.js';
import type { KeyRing } from '../secrets.js';
import type { AuditLog } from './audit.js';
import { ConflictError, NAME_RE, NotFoundError, ValidationError, fromJson, nowIso } from './common.js';

interface RepoRow {
  name: string; kind: string; url: string; url_credentials: string | null; ref: string | null; sync_interval_s: number | null; webhook_secret: string | null; require_tests: number;
  active_commit: string | null; active_at: string | null; last_sync_at: string | null; last_sync_status: string | null;
  last_sync_commit: string | null; last_sync_errors: string | null; created_by: string; created_at: string; updated_at: string;
}

interface GrantRow {
  playbook_id: string; repo: string; hash: string; automation: string | null; roles: string;
  confirmed_by: string; confirmed_at: string;
}

const toRepo = (r: RepoRow): RepoRecord => ({
  name: r.name, kind: r.kind as RepoRecord['kind'], url: r.url, ref: r.ref, syncIntervalS: r.sync_interval_s,
  webhook: r.webhook_secret !== null, requireTests: r.require_tests === 1, activeCommit: r.active_commit, activeAt: r.active_at,
  lastSync: r.last_sync_at === null ? null : {
    at: r.last_sync_at, status: r.last_sync_status as RepoSyncStatus, commit: r.last_sync_commit,
    errors: fromJson<string[] | null>(r.last_sync_errors) ?? [],
  },
  createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
});

/** The webhook secret is bound to its repository: a blob copied to another row does not decrypt. */
export const webhookAad = (repo: string): string => `repo-webhook:${repo}`;
export const credentialsAad = (repo: string): string => `repo-url:${repo}`;

/**
 * Credentials come apart from the URL (src/repos/git-url.ts splits and checks them): a URL that
 * still holds a password, or a user in http(s) (a token), is refused rather than stored in clear.
 */
function refuseUrlCredentials(url: string): void {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)/i.exec(url);
  const at = m ? m[2]!.lastIndexOf('@') : -1;
  if (at < 0) return;
  if (m![2]!.slice(0, at).includes(':') || /^https?$/i.test(m![1]!)) {
    throw new ValidationError('the repository URL holds credentials: give them apart (they are stored encrypted)');
  }
}

export function validateRepoName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new ValidationError(`invalid repository name "${String(name)}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

export class RepoStore {
  private readonly s;
  private readonly activateTx;
  private readonly removeTx;
  private readonly grantTx;

  constructor(db: Database.Database, private readonly audit: AuditLog, private readonly key: KeyRing) {
    this.s = {
      byName: db.prepare<[string], RepoRow>('SELECT * FROM playbook_repos WHERE name = ?'),
      all: db.prepare<[], RepoRow>('SELECT * FROM playbook_repos ORDER BY name'),
      insert: db.prepare<[string, string, string, string | null, string | null, number | null, number, string, string, string]>(
        `INSERT INTO playbook_repos (name, kind, url, url_credentials, ref, sync_interval_s, require_tests, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      setWebhook: db.prepare<[string | null, string, string]>('UPDATE playbook_repos SET webhook_secret = ?, updated_at = ? WHERE name = ?'),
      syncResult: db.prepare<[string, string, string | null, string, string]>(
        `UPDATE playbook_repos SET last_sync_at = ?, last_sync_status = ?, last_sync_commit = ?, last_sync_errors = ?
         WHERE name = ?`),
      activate: db.prepare<[string | null, string, string]>('UPDATE playbook_repos SET active_commit = ?, active_at = ? WHERE name = ?'),
      delete: db.prepare<[string]>('DELETE FROM playbook_repos WHERE name = ?'),
      putBundle: db.prepare<[string, string, string, string]>(
        'INSERT OR IGNORE INTO playbook_bundles (hash, code, config, created_at) VALUES (?, ?, ?, ?)'),
      bundle: db.prepare<[string], { hash: string; code: string; config: string }>('SELECT hash, code, config FROM playbook_bundles WHERE hash = ?'),
      playbooksOf: db.prepare<[string], { playbook_id: string; path: string; hash: string }>(
        'SELECT playbook_id, path, hash FROM repo_playbooks WHERE repo = ? ORDER BY playbook_id'),
      provider: db.prepare<[string], { repo: string; hash: string }>(
        'SELECT repo, hash FROM repo_playbooks WHERE playbook_id = ?'),
      clearPlaybooks: db.prepare<[string]>('DELETE FROM repo_playbooks WHERE repo = ?'),
      insertPlaybook: db.prepare<[string, string, string, string]>('INSERT INTO repo_playbooks (repo, playbook_id, path, hash) VALUES (?, ?, ?, ?)'),
      active: db.prepare<[], { repo: string; commit: string | null; playbook_id: string; path: string; hash: string }>(
        `SELECT p.repo, r.active_commit AS "commit", p.playbook_id, p.path, p.hash
         FROM repo_playbooks p JOIN playbook_repos r ON r.name = p.repo ORDER BY p.playbook_id`),
      revision: db.prepare<[], { revision: number }>('SELECT revision FROM playbook_catalog_revision WHERE id = 1'),
      bump: db.prepare('UPDATE playbook_catalog_revision SET revision = revision + 1 WHERE id = 1'),
      grant: db.prepare<[string], GrantRow>('SELECT * FROM playbook_grants WHERE playbook_id = ?'),
      grantsOf: db.prepare<[string], GrantRow>('SELECT * FROM playbook_grants WHERE repo = ? ORDER BY playbook_id'),
      deleteGrant: db.prepare<[string]>('DELETE FROM playbook_grants WHERE playbook_id = ?'),
      putGrant: db.prepare<[string, string, string, string | null, string, string, string]>(
        `INSERT INTO playbook_grants (playbook_id, repo, hash, automation, roles, confirmed_by, confirmed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (playbook_id) DO UPDATE SET repo = excluded.repo, hash = excluded.hash,
           automation = excluded.automation, roles = excluded.roles,
           confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at`),
    };

    this.activateTx = db.transaction((repo: string, commit: string | null, builds: PlaybookBuild[], actor: string, trigger: RepoSyncTrigger, expectedActiveAt?: string | null) => {
      const existing = this.mustGet(repo);
      // Another process (the CLI beside the server) activated something while this build ran: an
      // older commit must never replace a newer one.
      if (expectedActiveAt !== undefined && existing.active_at !== expectedActiveAt) {
        throw new ConflictError(`another sync activated ${existing.active_commit ?? 'a version'} of repository "${repo}" while this one built ${commit ?? 'it'}: sync again`);
      }
      const previous = this.s.playbooksOf.all(repo);
      this.s.clearPlaybooks.run(repo);
      const now = nowIso();
      const ids = new Map<string, string>();
      for (const b of builds) {
        const first = ids.get(b.playbookId);
        if (first !== undefined) throw new ConflictError(`playbook id "${b.playbookId}" is declared by both ${first} and ${b.path}`);
        ids.set(b.playbookId, b.path);
      }
      for (const b of builds) {
        const other = this.s.provider.get(b.playbookId);
        if (other) throw new ConflictError(`playbook id "${b.playbookId}" (${b.path}) is already provided by repository "${other.repo}"`);
        this.s.putBundle.run(b.bundle.hash, b.bundle.code, JSON.stringify(b.bundle.config), now);
        this.s.insertPlaybook.run(repo, b.playbookId, b.path, b.bundle.hash);
      }
      // Grants for ids this commit no longer provides go with them (a renamed id is a new playbook).
      const revokedGrants = this.revokeGrants(repo, (id) => !ids.has(id));
      this.s.activate.run(commit, now, repo);
      this.s.syncResult.run(now, 'activated', commit, '[]', repo);
      this.s.bump.run();
      this.audit.appendInTx({
        actor, action: 'repo.activate', target: `repo:${repo}`,
        detail: {
          trigger, commit, previousCommit: existing.active_commit,
          playbooks: builds.map((b) => ({ id: b.playbookId, path: b.path, hash: b.bundle.hash })),
          removed: previous.filter((p) => !builds.some((b) => b.playbookId === p.playbook_id)).map((p) => p.playbook_id),
          revokedGrants,
        },
      });
    });

    this.removeTx = db.transaction((name: string, actor: string) => {
      const existing = this.mustGet(name);
      if (existing.kind === 'builtin') throw new ValidationError('the built-in repository cannot be removed (disable its playbooks instead)');
      const playbooks = this.s.playbooksOf.all(name).map((p) => p.playbook_id);
      const revokedGrants = this.revokeGrants(name, () => true);
      this.s.delete.run(name);
      this.s.bump.run();
      this.audit.appendInTx({
        actor, action: 'repo.remove', target: `repo:${name}`,
        detail: { activeCommit: existing.active_commit, playbooks, revokedGrants },
      });
    });

    this.grantTx = db.transaction((g: NewPlaybookGrant, actor: string) => {
      // Checked in the transaction: a sync that activated other code since the review wins, and nothing is granted.
      const active = this.s.provider.get(g.playbookId) ?? null;
      if (active?.repo !== g.repo || active.hash !== g.hash) {
        throw new PlaybookChangedError(g.playbookId, { repo: g.repo, hash: g.hash }, active);
      }
      const before = this.getGrant(g.playbookId);
      const roles = JSON.stringify(g.power.roles);
      this.s.putGrant.run(g.playbookId, g.repo, g.hash, g.power.automation, roles, actor, nowIso());
      this.s.bump.run();
      this.audit.appendInTx({
        actor, action: 'playbook.confirm', target: `playbook:${g.playbookId}`,
        detail: {
          repo: g.repo, hash: g.hash, granted: g.power,
          previous: before
            ? { repo: before.repo, hash: before.hash, automation: before.automation, roles: before.roles }
            : null,
        },
      });
      return this.getGrant(g.playbookId)!;
    });
  }

  /** Deletes the repository's grants whose playbook id `drop` selects (in the caller's transaction); their ids. */
  private revokeGrants(repo: string, drop: (playbookId: string) => boolean): string[] {
    const revoked = this.s.grantsOf.all(repo).map((g) => g.playbook_id).filter(drop);
    for (const id of revoked) this.s.deleteGrant.run(id);
    return revoked;
  }

  private mustGet(name: string): RepoRow {
    const row = this.s.byName.get(name);
    if (!row) throw new NotFoundError(`repository "${name}" not found`);
    return row;
  }

  add(repo: NewRepo, actor: string): RepoRecord {
    validateRepoName(repo.name);
    if (repo.syncIntervalS !== undefined && repo.syncIntervalS !== null && (!Number.isInteger(repo.syncIntervalS) || repo.syncIntervalS < 60)) {
      throw new ValidationError('sync interval must be a whole number of seconds, at least 60');
    }
    // Credentials are a secret: kept encrypted, never shown or audited.
    const { url } = repo;
    const credentials = repo.credentials ?? null;
    if (repo.kind === 'git') refuseUrlCredentials(url);
    else if (credentials !== null) throw new ValidationError('only a Git repository has credentials');
    const now = nowIso();
    const tx = this.s.insert.database.transaction(() => {
      if (this.s.byName.get(repo.name)) throw new ConflictError(`repository "${repo.name}" already exists`);
      const sealed = credentials === null ? null : this.key.encrypt(credentials, credentialsAad(repo.name));
      this.s.insert.run(repo.name, repo.kind, url, sealed, repo.ref ?? null, repo.syncIntervalS ?? null, repo.requireTests ? 1 : 0, actor, now, now);
      this.audit.appendInTx({
        actor, action: 'repo.add', target: `repo:${repo.name}`,
        detail: { kind: repo.kind, url, credentials: credentials !== null, ref: repo.ref ?? null, syncIntervalS: repo.syncIntervalS ?? null, requireTests: repo.requireTests === true },
      });
    });
    tx();
    return this.get(repo.name)!;
  }

  get(name: string): RepoRecord | null {
    const row = this.s.byName.get(name);
    return row ? toRepo(row) : null;
  }

  all(): RepoRecord[] {
    return this.s.all.all().map(toRepo);
  }

  playbooksOf(name: string): Array<{ playbookId: string; path: string; hash: string }> {
    return this.s.playbooksOf.all(name).map((p) => ({ playbookId: p.playbook_id, path: p.path, hash: p.hash }));
  }

  remove(name: string, actor: string): void {
    this.removeTx(name, actor);
  }

  activate(repo: string, commit: string | null, builds: PlaybookBuild[], actor: string, trigger: RepoSyncTrigger, expectedActiveAt?: string | null): void {
    this.activateTx(repo, commit, builds, actor, trigger, expectedActiveAt);
  }

  /** A sync that did not activate anything: recorded on the repository and audited. */
  recordSync(repo: string, status: Exclude<RepoSyncStatus, 'activated'>, commit: string | null, errors: string[], actor: string, trigger: RepoSyncTrigger): void {
    const tx = this.s.syncResult.database.transaction(() => {
      this.mustGet(repo);
      this.s.syncResult.run(nowIso(), status, commit, JSON.stringify(errors), repo);
      // Every sync is audited, a routine unchanged one too: who looked at the repository, and when.
      this.audit.appendInTx({ actor, action: `repo.sync.${status}`, target: `repo:${repo}`, detail: { trigger, commit, errors } });
    });
    tx();
  }

  /** Sets (or with null, removes) the push hook's secret. */
  setWebhookSecret(repo: string, secret: string | null, actor: string): void {
    const tx = this.s.setWebhook.database.transaction(() => {
      this.mustGet(repo);
      this.s.setWebhook.run(secret === null ? null : this.key.encrypt(secret, webhookAad(repo)), nowIso(), repo);
      this.audit.appendInTx({ actor, action: secret === null ? 'repo.webhook.remove' : 'repo.webhook.rotate', target: `repo:${repo}`, detail: {} });
    });
    tx();
  }

  /** The credentials git fetches with (`user:password`), if any: never shown, never on a command line. */
  credentials(repo: string): string | null {
    const row = this.mustGet(repo);
    return row.url_credentials === null ? null : this.key.decrypt(row.url_credentials, credentialsAad(repo));
  }

  webhookSecret(repo: string): string | null {
    const row = this.s.byName.get(repo);
    return row?.webhook_secret ? this.key.decrypt(row.webhook_secret, webhookAad(repo)) : null;
  }

  bundle(hash: string): StoredBundle | null {
    const row = this.s.bundle.get(hash);
    return row ? { hash: row.hash, code: row.code, config: JSON.parse(row.config) as unknown } : null;
  }

  active(): ActivePlaybook[] {
    return this.s.active.all().map((r) => ({ repo: r.repo, commit: r.commit, playbookId: r.playbook_id, path: r.path, hash: r.hash }));
  }

  revision(): number {
    return this.s.revision.get()!.revision;
  }

  getGrant(playbookId: string): PlaybookGrant | null {
    const row = this.s.grant.get(playbookId);
    return row ? {
      playbookId: row.playbook_id, repo: row.repo, hash: row.hash,
      automation: row.automation as PlaybookGrant['automation'],
      roles: JSON.parse(row.roles) as Record<string, string>, confirmedBy: row.confirmed_by, confirmedAt: row.confirmed_at,
    } : null;
  }

  /** Throws PlaybookChangedError, writing nothing, unless `grant.hash` is the id's active bundle from `grant.repo`. */
  grant(grant: NewPlaybookGrant, actor: string): PlaybookGrant {
    return this.grantTx(grant, actor);
  }
}
