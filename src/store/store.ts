/**
 * The one persistence interface of Riposte. SQLite (embedded, default) implements it today;
 * PostgreSQL will implement the same interface for scale-out. All methods are async so both fit.
 *
 * Every method that changes state commits before its promise resolves: a resolved promise means
 * the change survives `kill -9`. Methods that take an `actor` write their audit entry in the same
 * transaction as the change, so the audit log never misses or invents a change.
 */
import type { AuditCheckpoint } from './audit-checkpoint.js';
import type {
  ActionResultRecord, ApiTokenCredential, ApiTokenRecord, AssetRecord, AuditEntry, IncidentDetail, IncidentRecord,
  JournalEntry, ListRecord, NewAuditEntry, NewIncident, NoteRecord, PlaybookSettings, RunRecord, RunStatus,
  SourceKind, SourceRecord,
} from './records.js';
import type { IncidentStatus, Severity } from '../common/domain.js';
import type { CaseCommentRecord, CaseDetail, CaseRecord, CaseStatus, NewCase, PlaybookOrigin } from './records.js';
import type { UserAccount } from './policy-records.js';
import type { PolicyStore } from './policy-store.js';
import type {
  ActivePlaybook, NewPlaybookGrant, NewRepo, PlaybookBuild, PlaybookGrant, RepoRecord, RepoSyncStatus, RepoSyncTrigger,
  StoredBundle,
} from './repo-records.js';
import type { NewSchedule, ScheduleFireResult, ScheduleRecord } from './schedule-records.js';

export interface CaseQuery {
  status?: CaseStatus;
  /** Return cases with id < before (keyset pagination, newest first). */
  before?: number;
  limit?: number;
}

export interface NewRun {
  id: string;
  playbookId: string;
  playbookVersion: number;
  playbookHash: string;
  minutesSaved?: number;
  args?: unknown;
  dryRun?: boolean;
  requestedBy?: string;
  /** The run this one repeats (a re-run). */
  rerunOf?: string;
  /** Other causes of the run besides `requestedBy` (see `RunRecord.alsoCausedBy`). */
  alsoCausedBy?: string[];
  /** Where the playbook's code came from (repository, commit, path); recorded on the run. */
  origin?: PlaybookOrigin | null;
  /** A child run: the run whose step asked for it (see `Store.createChildRun`). */
  parentRunId?: string;
  parentSeq?: number;
  /**
   * The incident as the playbook sees it (`RunRecord.input`), when it must not be the incident as
   * it is now: the authoring kit running a recorded run's incident. Default: a snapshot taken now.
   */
  input?: unknown;
}

/** A child run (`ctx.playbook`): on its parent's incident, with the parent's incident snapshot as input. */
export interface NewChildRun extends NewRun {
  parentRunId: string;
  parentSeq: number;
  incidentId: number;
  /** The parent's incident snapshot (`RunRecord.input`): parent and child see the same incident. */
  input: unknown;
}

/**
 * What a trigger condition sees of an alert being ingested, inside the ingest transaction: the
 * incident as written and the custom lists as they are in that transaction.
 */
export interface TriggerSubject {
  readonly severity: Severity;
  readonly label: string;
  readonly source: string;
  readonly artifacts: ReadonlyArray<{ readonly cef?: Readonly<Record<string, unknown>> }>;
  /**
   * Membership in a custom list as `ctx.lists.contains` decides it (equal to an item, or an IP
   * inside an IP/CIDR item). Throws for a list that does not exist.
   */
  inList(list: string, value: string): boolean;
}

/** A condition the run of an ingested alert must meet (src/engine/trigger-condition.ts). */
export interface RunCondition {
  /** The expression, recorded when it does not hold. */
  readonly text: string;
  /** Whose it is: the playbook's declaration (`triggers.when`) or the operator's setting. */
  readonly from: 'playbook' | 'operator';
  /** Synchronous and without effects; throws when it cannot be decided (an unknown list). */
  holds(subject: TriggerSubject): boolean;
}

/** A run `Store.ingest` starts only if its condition (if any) holds for the new incident. */
export interface IngestRun extends NewRun {
  condition?: RunCondition;
}

/** A run an ingested alert did not start because its trigger condition did not hold. */
export interface NotTriggered {
  playbookId: string;
  condition: string;
  from: RunCondition['from'];
  /** `false`, or why the condition could not be decided (it then counts as not holding). */
  reason: string;
}

export interface IngestResult {
  incident: IncidentRecord;
  /** False when the alert was a duplicate (same source + sourceId): repeatCount was incremented. */
  created: boolean;
  /** Runs created for a new incident (none for a duplicate). */
  runs: RunRecord[];
  /** Runs whose trigger condition did not hold (none for a duplicate); also in the audit entry. */
  notTriggered: NotTriggered[];
}

export interface IncidentQuery {
  status?: IncidentStatus;
  label?: string;
  /** Substring search over name and artifact CEF values. */
  q?: string;
  /** Return incidents with id < before (keyset pagination, newest first). */
  before?: number;
  limit?: number;
}

export interface RelatedIncidentQuery {
  label?: string;
  match: Array<{ field: string; value: string }>;
  /** Inclusive lower bound on createdAt (ISO). */
  since: string;
  /** Exclusive upper bound on createdAt (ISO): the current incident's creation. */
  until: string;
  excludeIncidentId: number;
}

export interface RunQuery {
  incidentId?: number;
  status?: RunStatus;
  playbookId?: string;
  /** Only the re-runs of this run. */
  rerunOf?: string;
  limit?: number;
}

export interface RunPatch {
  status?: RunStatus;
  output?: unknown;
  error?: RunRecord['error'];
  attentionReason?: string | null;
  wakeAt?: string | null;
  startedAt?: string;
  finishedAt?: string | null;
  waitingOn?: string | null;
  /** Minutes credited to a finished run (0 when it did no real work; see docs/architecture.md). */
  minutesSaved?: number | null;
  /**
   * Every wait of a parked run (`waitingOn` is the first): a decision or answer on any of them
   * wakes it (`PolicyStore.wakeRunsWaitingOn`). Replaces the run's waits; [] clears them.
   */
  waits?: string[];
}

export interface JournalPatch {
  status: JournalEntry['status'];
  output?: unknown;
  error?: JournalEntry['error'];
  attempts?: number;
  finishedAt?: string | null;
  wakeAt?: string | null;
  detail?: string | null;
  resolution?: number | null;
}

/**
 * `lazy`: nothing waits for this write yet, so it may be committed with a later batch (within a
 * few ms) instead of at the end of this event-loop turn; it is still durable when its promise
 * resolves, and writes still commit in the order they were made. See `Store.flushWrites`.
 */
export interface WriteOptions {
  lazy?: boolean;
}

/** A run's change to its incident (see `Store.applyRunEffect`). */
export type RunEffect =
  | { type: 'note'; incidentId: number; text: string }
  | { type: 'incident'; incidentId: number; patch: { status?: IncidentStatus; severity?: Severity } };

/** A run's change to a custom list (`ctx.lists.add` / `remove`; see `Store.applyRunListChange`). */
export interface RunListChange {
  op: 'add' | 'remove';
  list: string;
  value: string;
  /** The playbook whose run makes the change: named in the audit entry. */
  playbookId: string;
}

/** What a list change step returns to the playbook: whether the list changed. */
export type ListChangeOutput = { added: boolean } | { removed: boolean };

export interface NewActionResult extends Omit<ActionResultRecord, 'id'> {}

export interface PruneOptions {
  /** ISO date-time: runs that finished before it are deleted. */
  finishedBefore: string;
  /** Most runs per transaction (1–10000). */
  batchSize: number;
  /**
   * How long one batch may hold the write lock (default 25 ms): a batch that took longer makes the
   * next one smaller (in proportion), a quicker one lets it grow back (at most doubling) up to
   * `batchSize`. Another writer — the server ingesting alerts — waits at most about this long.
   */
  targetBatchMs?: number;
  /** Pause between batches, so other writers get the lock (default: twice the batch's duration, at least 20 ms). */
  pauseMs?: number;
  /** Called after each batch with the running totals. */
  onBatch?: (soFar: PruneCounts) => void;
  /** Clock for the batch durations, in ms (tests); default performance.now. */
  now?: () => number;
}

/** Rows deleted by `Store.pruneRuns`. */
export interface PruneCounts {
  runs: number;
  journal: number;
  actionResults: number;
  approvals: number;
  approvalDecisions: number;
  emailLinks: number;
  prompts: number;
  batches: number;
}

/** The newest audit entry, as a checkpoint records it. */
export interface AuditHead {
  id: number;
  hash: string;
  action: string;
  /** First entry with a keyed link, or null. */
  keyedFrom: number | null;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** First entry whose hash or link does not match, when `ok` is false. */
  firstBadId?: number;
  reason?: string;
  /** First entry with a keyed (HMAC) link; entries before it have plain SHA-256 links. */
  keyedFrom?: number | null;
  /** The audit keys the keyed links were checked with. */
  keyIds?: string[];
  /** The signed checkpoints the chain was checked against (see audit-checkpoint.ts). */
  checkpoints?: { checked: number; lastId: number | null; at: string | null };
}

export interface Store {
  /** Applies pending migrations. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // ── incidents ────────────────────────────────────────────────────────────────────────────
  /**
   * Records an alert atomically: the incident, its artifacts, the runs that should start and an
   * audit entry, or — when `source`+`sourceId` is already known — only bumps `repeatCount`.
   * A run with a `condition` is started only if it holds, evaluated in the same transaction (its
   * list lookups see the lists as of this write); the audit entry names the runs it kept out.
   */
  ingest(incident: NewIncident, runs: IngestRun[], actor: string): Promise<IngestResult>;
  getIncident(id: number): Promise<IncidentDetail | null>;
  listIncidents(query: IncidentQuery): Promise<IncidentRecord[]>;
  updateIncident(id: number, patch: { status?: IncidentStatus; severity?: Severity; owner?: string | null }, actor: string): Promise<IncidentRecord>;
  countRelated(query: RelatedIncidentQuery): Promise<{ count: number; incidentIds: number[] }>;
  addNote(note: { incidentId: number; runId?: string; author: string; text: string }): Promise<NoteRecord>;
  listNotes(incidentId: number): Promise<NoteRecord[]>;

  // ── runs and journal ─────────────────────────────────────────────────────────────────────
  createRun(incidentId: number, run: NewRun, actor: string): Promise<RunRecord>;
  /**
   * A new run repeating a finished one (completed, failed, cancelled): on its incident, with its
   * input snapshot and args, `rerunOf` naming it; `run` gives the id, the playbook's current code
   * identity, the cause and dry-run flag. Audited (`run.rerun`) in the same transaction. The
   * original's status is checked under the write lock: ConflictError when it has not finished,
   * NotFoundError when it does not exist.
   */
  rerunRun(originalId: string, run: NewRun, actor: string): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | null>;
  listRuns(query: RunQuery): Promise<RunRecord[]>;
  /**
   * Ids of the runs whose id starts with `prefix` (exactly, case-sensitive: `_` and `%` are plain
   * characters), in id order, at most `limit`. A range scan of the id index, not a table scan.
   * Rejects an empty prefix or one that is not printable ASCII (run ids never are).
   */
  runIdsWithPrefix(prefix: string, limit: number): Promise<string[]>;
  /**
   * A run that ends (completed, failed, cancelled) makes the runs parked on it (`run:<id>`, a
   * parent waiting for its child) due now, in the same transaction.
   */
  updateRun(id: string, patch: RunPatch): Promise<RunRecord>;
  /** `updateRun` without reading the run back: the engine's state changes. Durable on resolve. */
  patchRun(id: string, patch: RunPatch, opts?: WriteOptions): Promise<void>;
  /**
   * Creates the child run of a parent's step (`ctx.playbook`) and journals that step of the parent
   * (`parentStep`, its waiting marker) in one transaction, audited as `run.create` by `actor`.
   * When (parentRunId, parentSeq) has a child already, returns it (`created: false`) and writes
   * nothing: a replay or a crash never creates two.
   */
  createChildRun(
    child: NewChildRun,
    parentStep: JournalEntry,
    actor: string,
  ): Promise<{ run: RunRecord; created: boolean }>;
  /** The child run created by step `parentSeq` of run `parentRunId`, or null. */
  getChildRun(parentRunId: string, parentSeq: number): Promise<RunRecord | null>;
  /** The child runs of a run, in the order of the steps that created them. */
  listChildRuns(parentRunId: string): Promise<RunRecord[]>;
  /**
   * Runs to start: queued runs and waiting runs whose wakeAt has passed — plus, with
   * `includeRunning` (once, when an engine starts), runs left `running` by a process that died.
   */
  dueRuns(now: string, limit: number, opts?: { includeRunning?: boolean }): Promise<RunRecord[]>;
  /** Earliest wakeAt of a waiting run, or null. */
  nextWakeAt(): Promise<string | null>;
  loadJournal(runId: string): Promise<JournalEntry[]>;
  /** Inserts a new entry; rejects if (runId, seq) exists. Durable on resolve. */
  appendJournal(entry: JournalEntry, opts?: WriteOptions): Promise<void>;
  /**
   * Inserts the entry or, when one is at its position, replaces its state (status, output, error,
   * attempts, times, detail, resolution): a parked marker becomes an intent or an outcome, an
   * intent its outcome. Kind, name and input are the caller's to keep equal (replay checks them).
   */
  putJournal(entry: JournalEntry, opts?: WriteOptions): Promise<void>;
  updateJournal(runId: string, seq: number, patch: JournalPatch, opts?: WriteOptions): Promise<void>;
  /**
   * Journals a playbook's change to its incident and applies it in one transaction, so a replay
   * after a crash never adds the note (or status change) twice nor loses it. Audited as `run:<id>`.
   */
  applyRunEffect(entry: JournalEntry, effect: RunEffect, opts?: WriteOptions): Promise<void>;
  /**
   * Makes a run's change to a custom list and journals it in one transaction: the entry (given
   * as completed; its output — `{ added }` or `{ removed }`, whether the list changed — is decided
   * in that transaction and returned) replaces whatever is at its position (a parked marker), and
   * a change is audited as `run:<id>` with the playbook and step. So a replay after a crash finds
   * the recorded outcome and never makes the change twice, nor loses it. An unknown list
   * (NotFoundError) or an item that cannot be stored (ValidationError) writes nothing.
   */
  applyRunListChange(entry: JournalEntry, change: RunListChange, opts?: WriteOptions): Promise<ListChangeOutput>;
  /**
   * An operator's answer for a parked step whose outcome was unknown: `applied` completes it with
   * the given output; not applied removes the intent so the step is sent afresh. Only for a
   * `started` action entry of a run that needs attention; the run is made due now (waiting, wakeAt now), so a running engine resumes it. Audited.
   */
  resolveStep(runId: string, seq: number, resolution: { applied: true; output: unknown } | { applied: false }, actor: string): Promise<void>;
  recordActionResult(result: NewActionResult, opts?: WriteOptions): Promise<void>;
  /** Commit the queued (lazy) writes now, at the end of this event-loop turn: someone waits for them. */
  flushWrites(): void;
  listActionResults(runId: string): Promise<ActionResultRecord[]>;

  // ── custom lists ─────────────────────────────────────────────────────────────────────────
  /** `kind`: what the items must be (LIST_KINDS in common/artifact-values.ts); null or absent: untyped. */
  createList(name: string, description: string | null, actor: string, kind?: string | null): Promise<ListRecord>;
  deleteList(name: string, actor: string): Promise<void>;
  listLists(): Promise<ListRecord[]>;
  getListItems(name: string): Promise<string[] | null>;
  addListItems(name: string, items: string[], actor: string): Promise<number>;
  removeListItems(name: string, items: string[], actor: string): Promise<number>;

  /** Users, settings (e.g. who may edit which list) and approvals, on the same database. */
  policyStore(): PolicyStore;

  // ── assets (secrets encrypted at rest) ───────────────────────────────────────────────────
  /** `egressAllow`: loopback/private destinations the asset may reach (default none); validated. */
  putAsset(asset: {
    name: string; appId: string; description?: string; config: Record<string, unknown>; secrets: Record<string, string>;
    egressAllow?: string[];
  }, actor: string): Promise<AssetRecord>;
  getAsset(name: string): Promise<AssetRecord | null>;
  listAssets(): Promise<AssetRecord[]>;
  deleteAsset(name: string, actor: string): Promise<void>;
  /** Decrypted secrets: for the broker only, never for the API. */
  getAssetSecrets(name: string): Promise<Record<string, string>>;

  // ── ingestion sources and API tokens (tokens stored as SHA-256 hashes) ────────────────────
  putSource(source: { name: string; kind: SourceKind; mapping: unknown; token: string }, actor: string): Promise<SourceRecord>;
  /**
   * Replaces the mapping of the `splunk-webhook` source `name` (label, severity, CEF fields), checked
   * against `sourceMappingSchema` first: a ValidationError names what is wrong and nothing is
   * written; NotFoundError for an unknown source. Audited (`source.mapping`, with the new mapping)
   * in the same transaction.
   */
  setSourceMapping(name: string, mapping: unknown, actor: string): Promise<SourceRecord>;
  findSourceByToken(token: string): Promise<SourceRecord | null>;
  listSources(): Promise<SourceRecord[]>;
  /** `expiresAt` (ISO-8601): refused after it. Audited (`api_token.create`, with the expiry). */
  createApiToken(
    token: { name: string; role: ApiTokenRecord['role']; token: string; expiresAt?: string | null }, actor: string,
  ): Promise<ApiTokenRecord>;
  /** The token whose hash matches — revoked and expired ones too: refusing them is the caller's job. */
  findApiToken(token: string): Promise<ApiTokenCredential | null>;
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /**
   * Revokes token `ref` (an id: all digits) or every token of the user named `ref`, each audited
   * (`api_token.revoke`); returns those revoked now. NotFoundError when no token matches.
   */
  revokeApiTokens(ref: string, actor: string, reason?: string | null): Promise<ApiTokenRecord[]>;
  /** Records a successful use (a lazy write, batched with the next commit; not audited). */
  touchApiToken(id: number, at: string): Promise<void>;
  /**
   * A number that changes whenever a token, a user account or a source changes, in any process
   * using the database: credential caches compare it to forget what a revocation made stale.
   */
  credentialGeneration(): Promise<number>;
  /**
   * Creates or updates a person and, unless `apiToken` is null, issues them an API token named
   * after them: one transaction with both audit entries. Everything (user name, e-mail shape, role
   * names, token role) is validated first; on any error nothing at all is written.
   */
  putUserWithToken(
    user: Omit<UserAccount, 'createdAt'>,
    apiToken: { role: ApiTokenRecord['role']; token: string; expiresAt?: string | null } | null,
    actor: string,
  ): Promise<{ user: UserAccount; token: ApiTokenRecord | null }>;

  // ── playbook settings ────────────────────────────────────────────────────────────────────
  // ── playbook repositories (src/repos/) ──
  addRepo(repo: NewRepo, actor: string): Promise<RepoRecord>;
  getRepo(name: string): Promise<RepoRecord | null>;
  listRepos(): Promise<RepoRecord[]>;
  /** The playbooks of a repository's active commit. */
  repoPlaybooks(name: string): Promise<Array<{ playbookId: string; path: string; hash: string }>>;
  /** Removes the repository, its playbooks and its grants (runs keep their bundles); audited. */
  removeRepo(name: string, actor: string): Promise<void>;
  /**
   * Activates a commit: its bundles and playbook set replace the repository's, and the repository's
   * grants for ids the commit no longer provides are deleted, in one transaction; audited. With
   * `expectedActiveAt`, refused (ConflictError) if another activation happened since.
   */
  activateRepo(name: string, commit: string | null, builds: PlaybookBuild[], actor: string, trigger: RepoSyncTrigger, expectedActiveAt?: string | null): Promise<void>;
  /** Records a sync that activated nothing (unchanged, refused with the errors, failed). */
  recordRepoSync(name: string, status: Exclude<RepoSyncStatus, 'activated'>, commit: string | null, errors: string[], actor: string, trigger: RepoSyncTrigger): Promise<void>;
  setRepoWebhookSecret(name: string, secret: string | null, actor: string): Promise<void>;
  repoWebhookSecret(name: string): Promise<string | null>;
  /** The credentials (`user:password`) a Git repository is fetched with, kept apart from its URL; null: none. */
  repoCredentials(name: string): Promise<string | null>;
  /** Every repository's active playbooks. */
  activePlaybooks(): Promise<ActivePlaybook[]>;
  /** A compiled bundle by hash (kept after newer commits, for runs that started on it). */
  getBundle(hash: string): Promise<StoredBundle | null>;
  /** Bumped by every activation, removal and grant. */
  playbookCatalogRevision(): Promise<number>;
  getPlaybookGrant(playbookId: string): Promise<PlaybookGrant | null>;
  /**
   * An admin confirms what one bundle of a playbook declares about its power, for the repository
   * providing it; audited. Rejects with PlaybookChangedError, writing nothing, when that bundle is
   * not the id's active one from that repository (a sync landed since the review).
   */
  grantPlaybookPower(grant: NewPlaybookGrant, actor: string): Promise<PlaybookGrant>;

  getPlaybookSettings(playbookId: string): Promise<PlaybookSettings | null>;
  /** Everything but the trigger condition, which stays as it is (see `setPlaybookTrigger`). Audited. */
  putPlaybookSettings(
    settings: Omit<PlaybookSettings, 'updatedAt' | 'triggerWhen'>, actor: string,
  ): Promise<PlaybookSettings>;
  /**
   * Sets (or, with null, clears) the operator's trigger condition of a playbook, creating its
   * settings with the defaults if it has none; audited (`playbook.trigger`, before and after). The
   * caller validates the expression first; the store only refuses an empty or oversized one.
   */
  setPlaybookTrigger(playbookId: string, when: string | null, actor: string): Promise<PlaybookSettings>;

  // ── audit (append-only, hash-chained) ────────────────────────────────────────────────────
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  listAudit(query: { after?: number; limit?: number }): Promise<AuditEntry[]>;
  /** Recomputes every link; with checkpoints (signatures already checked), also truncation and rewrites. */
  verifyAudit(checkpoints?: readonly AuditCheckpoint[]): Promise<AuditVerification>;
  /** The newest entry, for checkpoints; null when the log is empty. */
  auditHead(): Promise<AuditHead | null>;
  /** The last audit id the named export sink acknowledged (0: none yet). */
  auditExportCursor(sink: string): Promise<number>;
  setAuditExportCursor(sink: string, lastId: number): Promise<void>;

  // ── cases (built-in ticketing) ──
  /**
   * Finds the case with `dedupeKey` or creates it (key `CASE-<id>`), atomically: concurrent calls
   * with the same key yield one case. Only a creation is audited.
   */
  createCase(c: NewCase, actor: string): Promise<{ case: CaseRecord; created: boolean }>;
  /** By id, or by key (`CASE-12`, case-insensitive); with its comments, oldest first. */
  getCase(idOrKey: number | string): Promise<CaseDetail | null>;
  /** Newest first. */
  listCases(query: CaseQuery): Promise<CaseRecord[]>;
  /** With a `marker` already used on the case, returns that comment (created: false) and writes nothing. */
  addCaseComment(c: { caseId: number; author: string; text: string; marker?: string }): Promise<{ comment: CaseCommentRecord; created: boolean }>;
  /** Sets the status (resolvedAt follows); a no-op, not audited, when the case already has it. */
  updateCaseStatus(id: number, status: CaseStatus, actor: string): Promise<CaseRecord>;

  // ── scheduled playbooks ──
  /** Stores a schedule (fields checked; the cron expression is the caller's to parse first). Audited. */
  createSchedule(schedule: NewSchedule, actor: string): Promise<ScheduleRecord>;
  getSchedule(id: number): Promise<ScheduleRecord | null>;
  /** Oldest first. */
  listSchedules(): Promise<ScheduleRecord[]>;
  /** Removes it (its past fires stay, as incidents); NotFoundError when unknown. Audited. */
  removeSchedule(id: number, actor: string): Promise<ScheduleRecord>;
  /**
   * Records the fire of schedule `id` for tick `fireAt` (ISO, UTC) in one transaction: the
   * schedule's `lastFireAt` becomes `fireAt`, and either the tick's incident (source
   * `schedule:<id>`, sourceId the tick, deduped like any alert) with its run is ingested, or —
   * `{ skipped }` — a `schedule.skip` audit entry says why nothing started. A tick not after
   * `lastFireAt` writes nothing (`already`), nor does a removed schedule (`removed`).
   */
  recordScheduleFire(
    id: number, fireAt: string, fire: { incident: NewIncident; run: NewRun } | { skipped: string }, actor: string,
  ): Promise<ScheduleFireResult>;

  // ── maintenance ──
  /**
   * Deletes finished runs (completed, failed, cancelled) that finished before the cutoff, with
   * their journal, action results, approvals (decisions, e-mail links) and prompts, in batches of
   * `batchSize` runs, each its own short transaction. Incidents, notes and the audit log are kept.
   */
  pruneRuns(opts: PruneOptions): Promise<PruneCounts>;
}
