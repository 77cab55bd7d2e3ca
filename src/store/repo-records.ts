/** Records of playbook repositories (see src/repos/ for how they are synced and activated). */
import type { AutomationLevel } from '../common/domain.js';

export type RepoKind = 'git' | 'dir' | 'builtin';

export type RepoSyncStatus =
  | 'activated'  // a new commit compiled, type-checked and was activated
  | 'unchanged'  // the ref still points at the active commit
  | 'refused'    // the commit does not compile, type-check or load: the previous one keeps running
  | 'failed';    // the repository could not be fetched

export type RepoSyncTrigger = 'manual' | 'schedule' | 'webhook' | 'startup';

export interface RepoRecord {
  name: string;
  kind: RepoKind;
  /** Git URL, or the directory's absolute path. */
  url: string;
  /** Branch or tag followed (git); null: the remote's default branch. */
  ref: string | null;
  /** Synced every this many seconds; null: on demand and by webhook only. */
  syncIntervalS: number | null;
  /** A push hook is configured (its secret is never returned). */
  webhook: boolean;
  activeCommit: string | null;
  activeAt: string | null;
  lastSync: { at: string; status: RepoSyncStatus; commit: string | null; errors: string[] } | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewRepo {
  name: string;
  kind: RepoKind;
  url: string;
  /** `user:password` (or `user:token`) for an http(s) URL, given apart from it: stored encrypted, never shown. */
  credentials?: string | null;
  ref?: string | null;
  syncIntervalS?: number | null;
}

/** What a playbook declares about its power: granted only once an admin confirms it. */
export interface PlaybookPower {
  automation: AutomationLevel | null;
  /** Role → capability. */
  roles: Record<string, string>;
}

export interface PlaybookGrant extends PlaybookPower {
  playbookId: string;
  confirmedBy: string;
  confirmedAt: string;
}

/** A compiled playbook bundle, by its hash (the code identity a run records). */
export interface StoredBundle {
  hash: string;
  code: string;
  /** The playbook's declared configuration, as read from the bundle when it was activated. */
  config: unknown;
}

/** A playbook of a repository's active commit. */
export interface ActivePlaybook {
  repo: string;
  commit: string | null;
  playbookId: string;
  path: string;
  hash: string;
}

/** One playbook of a commit being activated. */
export interface PlaybookBuild {
  playbookId: string;
  path: string;
  bundle: StoredBundle;
}
