/** Human-in-the-loop and safety-rail records: users, approvals, prompts, policies. */

export interface UserAccount {
  name: string;
  email: string | null;
  /** Free-form roles, e.g. `analyst`, `soc-lead`, `admin`. */
  roles: string[];
  disabled: boolean;
  createdAt: string;
}

export interface Approvers {
  users: string[];
  roles: string[];
}

/** Per-asset rule: who must approve its non-read-only actions. */
export interface AssetPolicy {
  requireApproval: boolean;
  approvers: Approvers;
  /** How many distinct eligible approvers must approve (e.g. 2 of the SOC leads). */
  quorum: number;
  /** Always true: whoever caused the run may not approve its actions (kept for stored records). */
  fourEyes: boolean;
  /** How long a request stays open before it expires (default: the global default). */
  approvalTtlMs?: number;
}

/** More than `max` executions of an action within `windowMs` force approval for the next ones. */
export interface BlastRadiusRule {
  action: string;
  app?: string;
  asset?: string;
  max: number;
  windowMs: number;
}

export interface KillSwitchState {
  engaged: boolean;
  by: string;
  at: string;
  reason: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
export type DecisionChannel = 'api' | 'cli' | 'email' | 'chat';

export interface ApprovalDecision {
  user: string;
  decision: 'approve' | 'deny';
  via: DecisionChannel;
  comment: string | null;
  at: string;
  /** HMAC over the decision and the approval's parameter hash (see seal.ts). */
  seal: string;
}

/** A request to run one specific action step: bound to run, step, asset, action and parameters. */
export interface ApprovalRecord {
  id: string;
  runId: string;
  seq: number;
  asset: string;
  app: string;
  action: string;
  kind: string;
  params: unknown;
  paramsHash: string;
  /** Why approval is required, in words (automation level, asset policy, blast radius). */
  reasons: string[];
  approvers: Approvers;
  quorum: number;
  fourEyes: boolean;
  requestedBy: string;
  /**
   * Who may not approve besides the run's cause (`requestedBy`), and why: whoever else caused the
   * run, and (policy `four_eyes.incidentEditors`) whoever wrote or changed the incident before the
   * run took its snapshot. Fixed when the approval is requested; sealed.
   */
  excluded: Exclusion[];
  requestedAt: string;
  expiresAt: string;
  status: ApprovalStatus;
  decidedAt: string | null;
  /** HMAC over the approval's binding, status and decisions: a row edited in the database fails it. */
  seal: string;
  decisions: ApprovalDecision[];
}

export type PromptAnswerType = 'choice' | 'yesno' | 'text' | 'number';
export type PromptStatus = 'pending' | 'answered' | 'timed_out' | 'cancelled';

/** A principal (`user:<name>`, `token:<name>`) who may not decide an approval or prompt, and why. */
export interface Exclusion {
  principal: string;
  why: string;
}

export interface PromptRecord {
  id: string;
  runId: string;
  seq: number;
  question: string;
  /**
   * The answer decides a destructive action (`gatesContainment` on the prompt): then the people in
   * `excluded` (the run's causes, and the incident's editors when the policy says so) may not answer.
   */
  gatesContainment: boolean;
  excluded: Exclusion[];
  answerType: PromptAnswerType;
  options: string[] | null;
  assigneeUser: string | null;
  assigneeRole: string | null;
  escalateToRole: string | null;
  escalateAt: string | null;
  escalatedAt: string | null;
  defaultAnswer: unknown;
  expiresAt: string;
  status: PromptStatus;
  answer: unknown;
  answeredBy: string | null;
  answeredAt: string | null;
  createdAt: string;
}
