/**
 * The embedded SQLite implementation of Store (better-sqlite3). better-sqlite3 is synchronous;
 * the async methods just wrap it, and every mutation has committed (and, with synchronous=FULL,
 * is fsynced to the WAL) before the returned promise resolves.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { defaultWarn, preparePrivateDatabase } from '../file-modes.js';
import Database from 'better-sqlite3';
import type { IncidentStatus, Severity } from '../../common/domain.js';
import type {
  ActionResultRecord, ApiTokenCredential, ApiTokenRecord, AssetRecord, AuditEntry, IncidentDetail, IncidentRecord, JournalEntry, ListRecord,
  NewAuditEntry, NewIncident, NoteRecord, PlaybookSettings, RunRecord, SourceKind, SourceRecord,
} from '../records.js';
import type {
  AuditHead, AuditVerification, IncidentQuery, IngestResult, IngestRun, JournalPatch, NewActionResult, NewChildRun, NewRun,
  RelatedIncidentQuery, RunEffect, RunListChange, ListChangeOutput, RunPatch,
  RunQuery, Store, WriteOptions,
} from '../store.js';
import { AuditLog } from './audit.js';
import type { AuditKeyring } from '../audit-keyring.js';
import type { AuditCheckpoint } from '../audit-checkpoint.js';
import { ConfigRepo } from './assets.js';
import { ApiTokenRepo, validateApiToken, type NewApiToken } from './api-tokens.js';
import { IncidentRepo } from './incidents.js';
import { ListRepo } from './lists.js';
import { RepoStore } from './repos.js';
import { migrate } from './migrations.js';
import { RunRepo } from './runs.js';
import { ChildRunRepo } from './child-runs.js';
import { SqlitePolicyStore, validateUser } from './policy.js';
import { GroupCommit } from './group-commit.js';
import { CaseRepo } from './cases.js';
import { pruneRuns } from './prune.js';
import type { CaseCommentRecord, CaseDetail, CaseRecord, CaseStatus, NewCase } from '../records.js';
import type { CaseQuery } from '../store.js';
import type { UserAccount } from '../policy-records.js';
import type {
  ActivePlaybook, NewPlaybookGrant, NewRepo, PlaybookBuild, PlaybookGrant, RepoRecord, RepoSyncStatus, RepoSyncTrigger,
  StoredBundle,
} from '../repo-records.js';
import type { NewSchedule, ScheduleFireResult, ScheduleRecord } from '../schedule-records.js';
import { ScheduleRepo, type ScheduleFire } from './schedules.js';
import type { KeyRing } from '../secrets.js';
import {
  keyStatus, resolveKeyRing, rotateSecrets, type KeyStatusView, type RotationHooks, type RotationResult,
} from './key-rotation.js';

export interface SqliteStoreOptions {
  /** Database file path, or ':memory:'. */
  path: string;
  /** 32-byte key that encrypts asset secrets (see secrets.ts loadSecretKey). */
  secretKey: Buffer;
  /** The new key of an unfinished rotation (`<key file>.next`), if any: see key-rotation.ts. */
  nextKey?: Buffer | null;
  /** 'full' (default) fsyncs every commit; 'normal' may lose the last commits on power loss (not on a crash). */
  synchronous?: 'full' | 'normal';
  /** Told when a data file was found readable by group or others (and tightened); default: a process warning. */
  onWarning?: (message: string) => void;
  /** The audit chain's HMAC keys (audit-keyring.ts); without them new links are plain SHA-256. */
  auditKeys?: AuditKeyring;
}

interface Repos {
  audit: AuditLog;
  incidents: IncidentRepo;
  runs: RunRepo;
  children: ChildRunRepo;
  lists: ListRepo;
  config: ConfigRepo;
  tokens: ApiTokenRepo;
  repos: RepoStore;
}

export class SqliteStore implements Store {
  /** The raw handle, for tests and maintenance tools (backup, vacuum). */
  readonly db: Database.Database;
  private readonly key: Buffer;
  private readonly nextKey: Buffer | null;
  private ring: KeyRing | undefined;
  private readonly auditKeys: AuditKeyring | undefined;
  private reposCache: Repos | undefined;

  constructor(opts: SqliteStoreOptions) {
    if (!Buffer.isBuffer(opts.secretKey) || opts.secretKey.length !== 32) {
      throw new Error('SqliteStore: secretKey must be a 32-byte Buffer');
    }
    this.key = Buffer.from(opts.secretKey);
    this.auditKeys = opts.auditKeys;
    this.nextKey = opts.nextKey ? Buffer.from(opts.nextKey) : null;
    if (opts.path !== ':memory:' && opts.path !== '') {
      mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
      // 0600 for the database and the -wal/-shm SQLite creates with its mode (file-modes.ts).
      preparePrivateDatabase(opts.path, opts.onWarning ?? defaultWarn);
    }
    this.db = new Database(opts.path);
    this.writes = new GroupCommit(this.db);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      // Every write queued in a group commit runs in a savepoint, and a savepoint keeps the original
      // of each page it changes in a sub-journal. By default that journal moves to a temp file once
      // it passes 64 KiB and then stays a file for the rest of the batch: the server wrote ~40 pages
      // per alert to it (~50 µs of kernel time per alert under ingestion load). In memory it is
      // emptied at each release. It only ever holds rollback data of the open transaction.
      this.db.pragma('temp_store = MEMORY');
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /**
   * Statements can only be prepared once the tables exist, so they are prepared on first use,
   * after applying any pending migrations (a store used without calling migrate() still works).
   */
  private get r(): Repos {
    if (!this.reposCache) {
      migrate(this.db);
      const ring = this.keyRing();
      const audit = new AuditLog(this.db, this.auditKeys);
      const runs = new RunRepo(this.db);
      const lists = new ListRepo(this.db, audit);
      this.reposCache = {
        audit, runs, lists,
        children: new ChildRunRepo(this.db, audit, runs),
        incidents: new IncidentRepo(this.db, audit, runs, lists),
        config: new ConfigRepo(this.db, audit, ring),
        tokens: new ApiTokenRepo(this.db, audit),
        repos: new RepoStore(this.db, audit, ring),
      };
    }
    return this.reposCache;
  }

  /**
   * The keys this database accepts (see key-rotation.ts resolveKeyRing): the current one first.
   * Throws a SecretKeyError for a retired or foreign key. The approval sealer takes its keys from here.
   */
  keyRing(): KeyRing {
    if (!this.ring) {
      migrate(this.db);
      this.ring = resolveKeyRing(this.db, this.key, this.nextKey);
    }
    return this.ring;
  }

  /** Key ids in use, retired, and a rotation under way (never a key). */
  keyStatus(): KeyStatusView {
    this.keyRing();
    return keyStatus(this.db);
  }

  /**
   * Re-encrypts every secret under `newKey` (resuming an unfinished rotation to it), then retires
   * the key this store was opened with. Close the store afterwards: it still holds the old key.
   */
  rotateMasterKey(newKey: Buffer, actor: string, hooks: RotationHooks = {}): RotationResult {
    this.writes.flushNow();
    return rotateSecrets(this.db, this.r.audit, this.key, newKey, actor, hooks,
      (reseal, afterRow) => this.policyStore().resealApprovals(reseal, afterRow));
  }

  private policyCache: SqlitePolicyStore | undefined;
  /** Hot-path writes share one transaction (and one fsync) per event-loop turn. */
  readonly writes: GroupCommit;
  /** The human-in-the-loop store (approvals, prompts, users, settings) on the same database. */
  policyStore(): SqlitePolicyStore {
    this.policyCache ??= new SqlitePolicyStore(this.db, this.r.audit);
    return this.policyCache;
  }

  async migrate(): Promise<void> {
    migrate(this.db);
    this.keyRing();
  }

  async close(): Promise<void> {
    if (this.db.open) {
      this.writes.flushNow();
      this.db.close();
    }
  }

  // ── incidents ──
  async ingest(incident: NewIncident, runs: IngestRun[], actor: string): Promise<IngestResult> { const r = this.r; return this.writes.run(() => r.incidents.ingest(incident, runs, actor)); }
  async getIncident(id: number): Promise<IncidentDetail | null> { return this.r.incidents.get(id); }
  async listIncidents(query: IncidentQuery): Promise<IncidentRecord[]> { return this.r.incidents.list(query); }
  async updateIncident(id: number, patch: { status?: IncidentStatus; severity?: Severity; owner?: string | null }, actor: string): Promise<IncidentRecord> {
    return this.r.incidents.update(id, patch, actor);
  }
  async countRelated(query: RelatedIncidentQuery): Promise<{ count: number; incidentIds: number[] }> { return this.r.incidents.countRelated(query); }
  async addNote(note: { incidentId: number; runId?: string; author: string; text: string }): Promise<NoteRecord> { return this.r.incidents.addNote(note); }
  async listNotes(incidentId: number): Promise<NoteRecord[]> { return this.r.incidents.listNotes(incidentId); }

  // ── runs and journal ──
  async createRun(incidentId: number, run: NewRun, actor: string): Promise<RunRecord> { const r = this.r; return this.writes.run(() => r.incidents.createRun(incidentId, run, actor)); }
  async rerunRun(originalId: string, run: NewRun, actor: string): Promise<RunRecord> {
    const r = this.r;
    return this.writes.run(() => r.incidents.rerun(originalId, run, actor));
  }
  async getRun(id: string): Promise<RunRecord | null> { return this.r.runs.get(id); }
  async listRuns(query: RunQuery): Promise<RunRecord[]> { return this.r.runs.list(query); }
  async runIdsWithPrefix(prefix: string, limit: number): Promise<string[]> { return this.r.runs.idsWithPrefix(prefix, limit); }
  async updateRun(id: string, patch: RunPatch): Promise<RunRecord> { const r = this.r; return this.writes.run(() => r.runs.update(id, patch)); }
  // Hot-path writes take their values when queued, not when the batch commits (see RunRepo's …Op).
  async patchRun(id: string, patch: RunPatch, opts?: WriteOptions): Promise<void> { return this.writes.run(this.r.runs.patchOp(id, patch), opts?.lazy); }
  async createChildRun(
    child: NewChildRun,
    step: JournalEntry,
    actor: string,
  ): Promise<{ run: RunRecord; created: boolean }> {
    const r = this.r;
    return this.writes.run(() => r.children.create(child, step, actor));
  }
  async getChildRun(parentRunId: string, parentSeq: number): Promise<RunRecord | null> {
    return this.r.children.byParentStep(parentRunId, parentSeq);
  }
  async listChildRuns(parentRunId: string): Promise<RunRecord[]> { return this.r.children.children(parentRunId); }
  async dueRuns(now: string, limit: number, opts: { includeRunning?: boolean } = {}): Promise<RunRecord[]> { return this.r.runs.due(now, limit, opts.includeRunning ?? false); }
  async nextWakeAt(): Promise<string | null> { return this.r.runs.nextWakeAt(); }
  async loadJournal(runId: string): Promise<JournalEntry[]> { return this.r.runs.loadJournal(runId); }
  async appendJournal(entry: JournalEntry, opts?: WriteOptions): Promise<void> { return this.writes.run(this.r.runs.appendJournalOp(entry), opts?.lazy); }
  async putJournal(entry: JournalEntry, opts?: WriteOptions): Promise<void> { return this.writes.run(this.r.runs.putJournalOp(entry), opts?.lazy); }
  async updateJournal(runId: string, seq: number, patch: JournalPatch, opts?: WriteOptions): Promise<void> {
    return this.writes.run(this.r.runs.updateJournalOp(runId, seq, patch), opts?.lazy);
  }
  flushWrites(): void { this.writes.urge(); }
  async applyRunEffect(entry: JournalEntry, effect: RunEffect, opts?: WriteOptions): Promise<void> {
    // Two statements that must land together: one transaction function (a savepoint in the batch).
    const tx = (this.runEffectTx ??= this.db.transaction((append: () => void, runId: string, fx: RunEffect) => {
      const r = this.r;
      append();
      const actor = `run:${runId}`;
      if (fx.type === 'note') r.incidents.addNote({ incidentId: fx.incidentId, runId, author: actor, text: fx.text });
      else r.incidents.update(fx.incidentId, fx.patch, actor);
    }));
    const append = this.r.runs.appendJournalOp(entry);
    const fx = effect.type === 'note' ? { ...effect } : { ...effect, patch: { ...effect.patch } };
    return this.writes.run(() => tx(append, entry.runId, fx), opts?.lazy);
  }
  private runEffectTx: ((append: () => void, runId: string, effect: RunEffect) => void) | undefined;
  async applyRunListChange(entry: JournalEntry, change: RunListChange, opts?: WriteOptions): Promise<ListChangeOutput> {
    // The change, its audit entry and the journal entry with the outcome: one transaction function
    // (a savepoint in the batch), so the outcome recorded is the one the change had.
    const tx = (this.listChangeTx ??= this.db.transaction((e: JournalEntry, c: RunListChange) => {
      const changed = this.r.lists.changeInTx({
        op: c.op, list: c.list, item: c.value, actor: `run:${e.runId}`,
        detail: { runId: e.runId, step: e.seq, playbook: c.playbookId },
      });
      const output: ListChangeOutput = c.op === 'add' ? { added: changed } : { removed: changed };
      this.r.runs.putJournalOp({ ...e, status: 'completed', output })();
      return output;
    }));
    const e = { ...entry }, c = { ...change };
    return this.writes.run(() => tx(e, c), opts?.lazy);
  }
  private listChangeTx: ((e: JournalEntry, c: RunListChange) => ListChangeOutput) | undefined;
  async resolveStep(runId: string, seq: number, resolution: { applied: true; output: unknown } | { applied: false }, actor: string): Promise<void> {
    const r = this.r;
    this.db.transaction(() => {
      const e = r.runs.resolveStepInTx(runId, seq, resolution, new Date().toISOString());
      r.audit.append({ actor, action: 'run.resolve_step', target: `run:${runId}`, detail: { step: seq, name: e.name, asset: e.asset, applied: resolution.applied } });
    }).immediate();
  }
  async recordActionResult(result: NewActionResult, opts?: WriteOptions): Promise<void> {
    return this.writes.run(this.r.runs.recordActionResultOp(result), opts?.lazy);
  }
  async listActionResults(runId: string): Promise<ActionResultRecord[]> { return this.r.runs.listActionResults(runId); }

  // ── playbook repositories ──
  async addRepo(repo: NewRepo, actor: string): Promise<RepoRecord> { return this.r.repos.add(repo, actor); }
  async getRepo(name: string): Promise<RepoRecord | null> { return this.r.repos.get(name); }
  async listRepos(): Promise<RepoRecord[]> { return this.r.repos.all(); }
  async repoPlaybooks(name: string): Promise<Array<{ playbookId: string; path: string; hash: string }>> { return this.r.repos.playbooksOf(name); }
  async removeRepo(name: string, actor: string): Promise<void> { this.r.repos.remove(name, actor); }
  async activateRepo(name: string, commit: string | null, builds: PlaybookBuild[], actor: string, trigger: RepoSyncTrigger, expectedActiveAt?: string | null): Promise<void> {
    this.r.repos.activate(name, commit, builds, actor, trigger, expectedActiveAt);
  }
  async recordRepoSync(name: string, status: Exclude<RepoSyncStatus, 'activated'>, commit: string | null, errors: string[], actor: string, trigger: RepoSyncTrigger): Promise<void> {
    this.r.repos.recordSync(name, status, commit, errors, actor, trigger);
  }
  async setRepoWebhookSecret(name: string, secret: string | null, actor: string): Promise<void> { this.r.repos.setWebhookSecret(name, secret, actor); }
  async repoWebhookSecret(name: string): Promise<string | null> { return this.r.repos.webhookSecret(name); }
  async repoCredentials(name: string): Promise<string | null> { return this.r.repos.credentials(name); }
  async activePlaybooks(): Promise<ActivePlaybook[]> { return this.r.repos.active(); }
  async getBundle(hash: string): Promise<StoredBundle | null> { return this.r.repos.bundle(hash); }
  async playbookCatalogRevision(): Promise<number> { return this.r.repos.revision(); }
  async getPlaybookGrant(playbookId: string): Promise<PlaybookGrant | null> { return this.r.repos.getGrant(playbookId); }
  async grantPlaybookPower(grant: NewPlaybookGrant, actor: string): Promise<PlaybookGrant> {
    return this.r.repos.grant(grant, actor);
  }

  // ── custom lists ──
  async createList(name: string, description: string | null, actor: string, kind?: string | null): Promise<ListRecord> {
    return this.r.lists.create(name, description, actor, kind ?? null);
  }
  async deleteList(name: string, actor: string): Promise<void> { this.r.lists.delete(name, actor); }
  async listLists(): Promise<ListRecord[]> { return this.r.lists.all(); }
  async getListItems(name: string): Promise<string[] | null> { return this.r.lists.items(name); }
  async addListItems(name: string, items: string[], actor: string): Promise<number> { return this.r.lists.add(name, items, actor); }
  async removeListItems(name: string, items: string[], actor: string): Promise<number> { return this.r.lists.remove(name, items, actor); }

  // ── assets, sources, tokens, playbook settings ──
  async putAsset(asset: Parameters<Store['putAsset']>[0], actor: string): Promise<AssetRecord> {
    return this.r.config.putAsset(asset, actor);
  }
  async getAsset(name: string): Promise<AssetRecord | null> { return this.r.config.getAsset(name); }
  async listAssets(): Promise<AssetRecord[]> { return this.r.config.listAssets(); }
  async deleteAsset(name: string, actor: string): Promise<void> { this.r.config.deleteAsset(name, actor); }
  async getAssetSecrets(name: string): Promise<Record<string, string>> { return this.r.config.getAssetSecrets(name); }
  async putSource(source: { name: string; kind: SourceKind; mapping: unknown; token: string }, actor: string): Promise<SourceRecord> {
    return this.r.config.putSource(source, actor);
  }
  async setSourceMapping(name: string, mapping: unknown, actor: string): Promise<SourceRecord> {
    return this.r.config.setSourceMapping(name, mapping, actor);
  }
  async findSourceByToken(token: string): Promise<SourceRecord | null> { return this.r.config.findSourceByToken(token); }
  async listSources(): Promise<SourceRecord[]> { return this.r.config.listSources(); }
  async createApiToken(token: NewApiToken, actor: string): Promise<ApiTokenRecord> {
    return this.r.tokens.create(token, actor);
  }
  async findApiToken(token: string): Promise<ApiTokenCredential | null> { return this.r.tokens.find(token); }
  async listApiTokens(): Promise<ApiTokenRecord[]> { return this.r.tokens.list(); }
  async revokeApiTokens(ref: string, actor: string, reason?: string | null): Promise<ApiTokenRecord[]> {
    return this.r.tokens.revoke(ref, actor, reason ?? null);
  }
  async touchApiToken(id: number, at: string): Promise<void> { return this.writes.run(this.r.tokens.touchOp(id, at), true); }
  async credentialGeneration(): Promise<number> { return this.r.tokens.generation(); }
  async putUserWithToken(
    user: Omit<UserAccount, 'createdAt'>,
    apiToken: { role: ApiTokenRecord['role']; token: string; expiresAt?: string | null } | null,
    actor: string,
  ): Promise<{ user: UserAccount; token: ApiTokenRecord | null }> {
    validateUser(user);
    if (apiToken) validateApiToken(apiToken);
    const policy = this.policyStore();
    const tokens = this.r.tokens;
    // The two writes nest as savepoints: a failing token insert (say, a duplicate) undoes the user too.
    return this.db.transaction(() => ({
      user: policy.putUserSync(user, actor),
      token: apiToken ? tokens.create({ name: user.name, ...apiToken }, actor) : null,
    })).immediate();
  }
  async getPlaybookSettings(playbookId: string): Promise<PlaybookSettings | null> { return this.r.config.getPlaybookSettings(playbookId); }
  async putPlaybookSettings(settings: Omit<PlaybookSettings, 'updatedAt' | 'triggerWhen'>, actor: string): Promise<PlaybookSettings> {
    return this.r.config.putPlaybookSettings(settings, actor);
  }
  async setPlaybookTrigger(playbookId: string, when: string | null, actor: string): Promise<PlaybookSettings> {
    return this.r.config.setPlaybookTrigger(playbookId, when, actor);
  }

  // ── audit ──
  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> { const r = this.r; return this.writes.run(() => r.audit.append(entry)); }
  async listAudit(query: { after?: number; limit?: number }): Promise<AuditEntry[]> { return this.r.audit.listEntries(query); }
  async verifyAudit(checkpoints?: readonly AuditCheckpoint[]): Promise<AuditVerification> { return this.r.audit.verify(checkpoints); }
  async auditHead(): Promise<AuditHead | null> { return this.r.audit.head(); }
  async auditExportCursor(sink: string): Promise<number> { return this.r.audit.exportCursor(sink); }
  async setAuditExportCursor(sink: string, lastId: number): Promise<void> {
    const r = this.r;
    return this.writes.run(() => r.audit.setExportCursor(sink, lastId));
  }

  // ── cases (built-in ticketing) ──
  private casesCache: CaseRepo | undefined;
  private get cases(): CaseRepo {
    this.casesCache ??= new CaseRepo(this.db, this.r.audit);
    return this.casesCache;
  }
  async createCase(c: NewCase, actor: string): Promise<{ case: CaseRecord; created: boolean }> { return this.cases.create(c, actor); }
  async getCase(idOrKey: number | string): Promise<CaseDetail | null> { return this.cases.get(idOrKey); }
  async listCases(query: CaseQuery): Promise<CaseRecord[]> { return this.cases.list(query); }
  async addCaseComment(c: { caseId: number; author: string; text: string; marker?: string }): Promise<{ comment: CaseCommentRecord; created: boolean }> {
    return this.cases.addComment(c);
  }
  async updateCaseStatus(id: number, status: CaseStatus, actor: string): Promise<CaseRecord> { return this.cases.updateStatus(id, status, actor); }

  // ── scheduled playbooks ──
  private schedulesCache: ScheduleRepo | undefined;
  private get schedules(): ScheduleRepo {
    this.schedulesCache ??= new ScheduleRepo(this.db, this.r.audit, this.r.incidents);
    return this.schedulesCache;
  }
  async createSchedule(schedule: NewSchedule, actor: string): Promise<ScheduleRecord> {
    return this.schedules.create(schedule, actor);
  }
  async getSchedule(id: number): Promise<ScheduleRecord | null> { return this.schedules.get(id); }
  async listSchedules(): Promise<ScheduleRecord[]> { return this.schedules.list(); }
  async removeSchedule(id: number, actor: string): Promise<ScheduleRecord> { return this.schedules.remove(id, actor); }
  async recordScheduleFire(id: number, fireAt: string, fire: ScheduleFire, actor: string): Promise<ScheduleFireResult> {
    const schedules = this.schedules;
    // Through the group commit, like an alert's ingestion: it commits with the batch it joins.
    return this.writes.run(() => schedules.fire(id, fireAt, fire, actor));
  }
  async pruneRuns(opts: import('../store.js').PruneOptions): Promise<import('../store.js').PruneCounts> { return pruneRuns(this.db, opts); }
}
