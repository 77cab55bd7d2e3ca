/**
 * Persistence of the human-in-the-loop layer. Every change commits before the promise resolves
 * and writes its audit entry in the same transaction (actor named by the caller).
 */
import type {
  ApprovalDecision, ApprovalRecord, ApprovalStatus, AssetPolicy, PromptRecord, PromptStatus, UserAccount,
} from './policy-records.js';

export interface PolicyStore {
  // users
  putUser(user: Omit<UserAccount, 'createdAt'>, actor: string): Promise<UserAccount>;
  getUser(name: string): Promise<UserAccount | null>;
  listUsers(): Promise<UserAccount[]>;

  // settings (kill switch, blast-radius rules, …); audited with `auditAction`
  getSetting<T>(key: string): Promise<T | null>;
  putSetting(key: string, value: unknown, actor: string, auditAction: string): Promise<void>;

  getAssetPolicy(asset: string): Promise<AssetPolicy | null>;
  putAssetPolicy(asset: string, policy: AssetPolicy | null, actor: string): Promise<void>;

  // approvals
  /** Inserts the request; when one exists for (runId, seq) returns that one instead (never asks twice). */
  createApproval(a: ApprovalRecord): Promise<{ approval: ApprovalRecord; created: boolean }>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  getApprovalForStep(runId: string, seq: number): Promise<ApprovalRecord | null>;
  listApprovals(q: { status?: ApprovalStatus; runId?: string; limit?: number }): Promise<ApprovalRecord[]>;
  /**
   * Records a decision and the approval's new status/seal in one transaction, only if the approval
   * is still `pending` and the user has not decided yet; returns false otherwise.
   */
  recordDecision(id: string, decision: ApprovalDecision, next: { status: ApprovalStatus; decidedAt: string | null; seal: string }, actor: string): Promise<boolean>;
  /** Sets a pending approval's status (expired / cancelled) with its new seal. False if not pending. */
  closeApproval(id: string, status: ApprovalStatus, decidedAt: string, seal: string, actor: string, detail: unknown): Promise<boolean>;

  // single-use e-mail links
  createEmailLink(link: { nonce: string; approvalId: string; user: string; decision: 'approve' | 'deny'; expiresAt: string }): Promise<void>;
  /** Marks a link used; returns false when it was already used (or never issued). */
  useEmailLink(nonce: string): Promise<boolean>;

  // prompts
  createPrompt(p: PromptRecord, actor: string): Promise<{ prompt: PromptRecord; created: boolean }>;
  getPrompt(id: string): Promise<PromptRecord | null>;
  getPromptForStep(runId: string, seq: number): Promise<PromptRecord | null>;
  listPrompts(q: { status?: PromptStatus; limit?: number }): Promise<PromptRecord[]>;
  /** Answers a pending prompt; false when it is no longer pending. */
  answerPrompt(id: string, answer: unknown, user: string, via: string): Promise<boolean>;
  escalatePrompt(id: string, toRole: string, at: string): Promise<boolean>;
  closePrompt(id: string, status: PromptStatus, answer: unknown, at: string): Promise<boolean>;

  // separation of duties
  /**
   * The principals who wrote or changed the incident's content at or before `atOrBefore` (ISO):
   * whoever submitted it through an API token (`token:<name>`) and whoever changed its status or
   * severity since. Sources are not listed (no person behind them).
   */
  incidentEditors(incidentId: number, atOrBefore: string): Promise<string[]>;

  // runs
  /** Makes runs parked on `waitingOn` (as one of their waits) due now (approval decided, prompt answered, kill switch off). */
  wakeRunsWaitingOn(waitingOn: string): Promise<number>;
  /**
   * Executions (intents or completions) of an action since a time, for blast-radius limits;
   * `exclude`: the step being decided (its own intent, when it is sent again, does not count).
   */
  countActionExecutions(q: { app?: string; asset?: string; action: string; since: string; exclude?: { runId: string; seq: number } }): Promise<number>;
}
