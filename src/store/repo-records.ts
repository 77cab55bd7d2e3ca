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
  /** A commit is activated only when the repository's tests (`tests/*.test.json`) pass. */
  requireTests: boolean;
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
  requireTests?: boolean;
}

/** What a playbook declares about its power: granted only once an admin confirms it. */
export interface PlaybookPower {
  automation: AutomationLevel | null;
  /** Role → capability. */
  roles: Record<string, string>;
}

/**
 * An admin's confirmation of a playbook's power: it covers the playbook only as provided by `repo`
 * (another repository providing the id later runs unconfirmed), and records the bundle reviewed.
 */
export interface PlaybookGrant extends PlaybookPower {
  playbookId: string;
  repo: string;
  /** The bundle whose declaration the admin reviewed and confirmed. */
  hash: string;
  confirmedBy: string;
  confirmedAt: string;
}

/** What an admin confirms: the power declared by one bundle, as its repository provides it now. */
export interface NewPlaybookGrant {
  playbookId: string;
  repo: string;
  hash: string;
  power: PlaybookPower;
}

/** The playbook's active code is not the bundle the admin reviewed: nothing was granted. */
export class PlaybookChangedError extends Error {
  constructor(
    readonly playbookId: string,
    readonly expected: { repo?: string; hash: string },
    readonly active: { repo: string; hash: string } | null,
  ) {
    const now = active
      ? `the active bundle is ${active.hash} from repository ${active.repo}`
      : 'it is no longer active';
    super(`playbook ${playbookId} changed since it was reviewed: confirming bundle ${expected.hash}`
      + `${expected.repo ? ` from repository ${expected.repo}` : ''}, but ${now}`);
    this.name = 'PlaybookChangedError';
  }
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
