/** Rows of the store as the rest of Riposte sees them (camelCase, parsed JSON, ISO timestamps). */
import type { AutomationLevel, IncidentStatus, Severity } from '../common/domain.js';
import type { ErrorRecord } from '../sdk/errors.js';

export interface NewArtifact {
  name: string;
  label?: string;
  cef: Record<string, string>;
  contains?: Record<string, string[]>;
  /** Typed CEF fields whose value failed validation → why (see src/ingest/artifact-validation.ts). */
  untrusted?: Record<string, string>;
  sourceId?: string;
}

export interface NewIncident {
  name: string;
  label: string;
  severity: Severity;
  description?: string;
  /** Ingestion source that delivered it (e.g. "splunk"). */
  source: string;
  /** The source's identifier of the alert (Splunk `sid`); dedupe key together with `source`. */
  sourceId?: string;
  owner?: string;
  tags?: string[];
  artifacts: NewArtifact[];
}

export interface ArtifactRecord {
  id: number;
  incidentId: number;
  name: string;
  label: string | null;
  cef: Record<string, string>;
  contains: Record<string, string[]>;
  /**
   * Typed CEF fields whose raw value (still in `cef`) failed validation → why. No playbook
   * receives them in `cef`: a run's view lists them under `untrusted`.
   */
  untrusted: Record<string, string>;
  sourceId: string | null;
  createdAt: string;
}

export interface IncidentRecord {
  id: number;
  name: string;
  label: string;
  severity: Severity;
  status: IncidentStatus;
  description: string | null;
  owner: string | null;
  source: string;
  sourceId: string | null;
  /** How many times the same alert was delivered again after the first (dedupe). */
  repeatCount: number;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  lastSeenAt: string;
  closedAt: string | null;
}

export interface IncidentDetail extends IncidentRecord {
  artifacts: ArtifactRecord[];
}

export type RunStatus =
  | 'queued'        // created, not started
  | 'running'       // being executed (or was, when the process died: resumed at start-up)
  | 'waiting'       // parked on a timer (wakeAt) — holds no memory
  | 'completed'
  | 'failed'        // the playbook threw or an action failed for good
  | 'needs_attention' // parked for a human: unknown outcome of a non-idempotent action, non-determinism, …
  | 'cancelled';

export interface RunRecord {
  id: string;
  incidentId: number;
  playbookId: string;
  playbookVersion: number;
  /** Hash of the playbook's code when the run started (detects edits under the same version). */
  playbookHash: string;
  status: RunStatus;
  /** Snapshot of the incident the run started on (JSON of IncidentView). */
  input: unknown;
  output: unknown;
  error: ErrorRecord | null;
  /** Why the run needs attention, in words an analyst can act on. */
  attentionReason: string | null;
  wakeAt: string | null;
  minutesSaved: number | null;
  createdAt: string;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
  /** Parameters of a run started by hand (e.g. an ad-hoc action); null for alert-triggered runs. */
  args: unknown;
  /** What a waiting run waits for: `timer`, `approval:<id>`, `prompt:<id>`, `run:<id>`, `kill-switch`. */
  waitingOn: string | null;
  /** Destructive actions are recorded, not executed. */
  dryRun: boolean;
  /** Who asked for the run (`user:<name>`, `source:<name>`); approvals are requested in their name. */
  requestedBy: string | null;
  /** The run this one repeats (`riposte runs rerun`), or null. */
  rerunOf: string | null;
  /**
   * Everyone else who caused this run: for a re-run, whoever caused the run it repeats (and those
   * before them); a child run inherits its parent's. Four-eyes refuses them as approvers too.
   */
  alsoCausedBy: string[];
  /** A child run (`ctx.playbook`): the run that asked for it, and the position of that step in its journal. */
  parentRunId: string | null;
  parentSeq: number | null;
  /** Where the playbook's code came from; null for runs of in-memory playbooks (tests) and older runs. */
  origin: PlaybookOrigin | null;
}

/** Where a playbook's code came from: with `RunRecord.playbookHash`, exactly which code a run ran. */
export interface PlaybookOrigin {
  /** Repository name (`builtin` for the playbooks shipped with Riposte). */
  repository: string;
  /** The Git commit the code was built from; for `builtin`, the Riposte release (`riposte@<version>`); null for a plain directory. */
  commit: string | null;
  /** The playbook's file, relative to the repository's root. */
  path: string;
}

export type JournalKind =
  | 'action' | 'list' | 'related' | 'note' | 'status' | 'severity' | 'sleep' | 'now' | 'random' | 'prompt'
  | 'patch'     // a `ctx.patched(id)` marker: this run took the patched code path
  | 'playbook'  // a child playbook (`ctx.playbook`): its own run, whose end is the step's outcome
  | 'list-change'; // `ctx.lists.add` / `remove`: journaled with the change in one transaction ('list' is a lookup)

export type JournalStatus =
  | 'started'    // intent recorded; outcome not yet known
  | 'completed'
  | 'failed'
  | 'waiting'    // parked: a timer not yet due, or a step waiting for an approval, an answer, the kill switch
  | 'abandoned'; // parked when its run ended (a branch that lost a race): never performed, never handed over

/** One effect of a run, keyed by its position (`seq`) and name; the memo that makes replay work. */
export interface JournalEntry {
  runId: string;
  seq: number;
  kind: JournalKind;
  /** e.g. `mdm.findDevice`, `lists.contains`, `sleep`. Compared on replay. */
  name: string;
  /** For actions: asset and app that served the call. */
  asset: string | null;
  app: string | null;
  action: string | null;
  status: JournalStatus;
  input: unknown;
  output: unknown;
  error: ErrorRecord | null;
  attempts: number;
  startedAt: string;
  finishedAt: string | null;
  /** sleep: when the timer fires. */
  wakeAt: string | null;
  /** Free text explaining a reconcile decision or similar. */
  detail: string | null;
  /**
   * Place of this outcome in the order outcomes were handed to the playbook (0, 1, 2 … per run):
   * replay hands recorded outcomes back in this order. Null while not handed over yet, for
   * synchronous values (`now`, `random`, patch markers) and for entries written before it existed.
   */
  resolution?: number | null;
}

/** One attempt of one action against a vendor (the record of what was sent and what came back). */
export interface ActionResultRecord {
  id: number;
  runId: string;
  seq: number;
  attempt: number;
  app: string;
  asset: string;
  action: string;
  idempotencyKey: string;
  /** 'succeeded' | 'failed' | 'reconciled' | 'timeout' */
  outcome: string;
  input: unknown;
  output: unknown;
  error: ErrorRecord | null;
  startedAt: string;
  durationMs: number;
}

export interface AssetRecord {
  name: string;
  appId: string;
  description: string | null;
  /** Non-secret configuration. */
  config: Record<string, unknown>;
  /** Names of the secret fields that are set (values never leave the store except to the broker). */
  secretFields: string[];
  /**
   * Loopback/private destinations the asset may reach beyond public addresses: `loopback`,
   * `private` or CIDRs (src/common/ip-ranges.ts; enforced by src/common/egress-guard.ts).
   */
  egressAllow: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ListRecord {
  name: string;
  description: string | null;
  /** What the items are (a contains type such as `ip`); null: untyped (items of any kind). */
  kind: string | null;
  itemCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface NoteRecord {
  id: number;
  incidentId: number;
  runId: string | null;
  author: string;
  text: string;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
  prevHash: string;
  hash: string;
  /** The audit key the link was computed with (HMAC-SHA-256); null for a plain SHA-256 link. */
  keyId?: string | null;
}

export interface NewAuditEntry {
  actor: string;
  action: string;
  target?: string;
  detail?: unknown;
}

export type SourceKind = 'splunk-webhook' | 'generic';

export interface SourceRecord {
  name: string;
  kind: SourceKind;
  /** Per-source mapping (label, severity, CEF field names); see ingest/mapping.ts. */
  mapping: unknown;
  enabled: boolean;
  createdAt: string;
}

export interface ApiTokenRecord {
  id: number;
  /** The user the token was issued to (tokens act as the user account of the same name). */
  name: string;
  role: 'admin' | 'analyst' | 'ingest' | 'viewer';
  createdAt: string;
  /** After this instant the token is refused; null: it does not expire. */
  expiresAt: string | null;
  /** When it was revoked (refused from then on); null: not revoked. */
  revokedAt: string | null;
  /** Last successful use, written at most about once a minute per token; null: never used. */
  lastUsedAt: string | null;
}

/** An API token as authentication sees it: its record, and whether the user account of its name is disabled. */
export interface ApiTokenCredential extends ApiTokenRecord {
  userDisabled: boolean;
}

/** Longest trigger condition accepted (characters). */
export const MAX_TRIGGER_LENGTH = 2000;

export interface PlaybookSettings {
  playbookId: string;
  enabled: boolean;
  automation: AutomationLevel | null;
  /** Role → asset name. */
  bindings: Record<string, string>;
  /** Destructive actions of this playbook's runs are recorded, not executed. */
  dryRun?: boolean;
  /**
   * The operator's trigger condition (src/engine/trigger-condition.ts); it replaces the playbook's
   * own `triggers.when`. Null: the playbook's applies. Set only through `Store.setPlaybookTrigger`.
   */
  triggerWhen: string | null;
  updatedAt: string;
}

// ── cases (built-in ticketing) ──

export type CasePriority = 'low' | 'medium' | 'high' | 'critical';
export type CaseStatus = 'open' | 'in_progress' | 'resolved' | 'closed';

/** Riposte's own ticket, for teams without a ticketing system. */
export interface CaseRecord {
  id: number;
  /** `CASE-<id>`. */
  key: string;
  incidentId: number | null;
  title: string;
  description: string;
  priority: CasePriority;
  status: CaseStatus;
  /** Caller's stable key: creating again with the same key returns this case. */
  dedupeKey: string;
  labels: string[];
  createdAt: string;
  updatedAt: string;
  /** Set when the case is resolved or closed; cleared when it is reopened. */
  resolvedAt: string | null;
}

export interface CaseCommentRecord {
  id: number;
  caseId: number;
  author: string;
  text: string;
  /** Caller's idempotency key: a second comment with the same marker on a case returns the first. */
  marker: string | null;
  createdAt: string;
}

export interface CaseDetail extends CaseRecord {
  comments: CaseCommentRecord[];
}

export interface NewCase {
  dedupeKey: string;
  incidentId?: number;
  title: string;
  description: string;
  priority: CasePriority;
  labels: string[];
}
