/** SQLite implementation of PolicyStore (users, approvals, prompts, settings) on the store's database. */
import type Database from 'better-sqlite3';
import type { PolicyStore } from '../policy-store.js';
import type {
  ApprovalDecision, ApprovalRecord, ApprovalStatus, AssetPolicy, Exclusion, PromptRecord, PromptStatus, UserAccount,
} from '../policy-records.js';
import { z } from 'zod';
import type { AuditLog } from './audit.js';

/** New seals for an approval and, in order, for each of its decisions (see policy/seal.ts). */
export interface ApprovalSeals { seal: string; decisions: string[] }
import { NAME_RE, ValidationError, clampLimit, fromJson, nowIso, toJson } from './common.js';

type Row = Record<string, unknown>;

const USER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const EMAIL = z.email();

/** Throws a ValidationError unless `name` can name a user (and the API tokens issued to them). */
export function validateUserName(name: unknown): void {
  if (typeof name !== 'string' || !USER_NAME_RE.test(name)) {
    throw new ValidationError(`user name ${JSON.stringify(name)} must be letters, digits, . _ @ - (max 128)`);
  }
}

/** Throws a ValidationError naming the first bad field of a user (name, e-mail shape, role names). */
export function validateUser(u: Omit<UserAccount, 'createdAt'>): void {
  validateUserName(u.name);
  if (u.email !== null && (typeof u.email !== 'string' || u.email.length > 254 || !EMAIL.safeParse(u.email).success)) {
    const email = JSON.stringify(u.email);
    throw new ValidationError(`e-mail ${email} of user "${u.name}" is not an address like name@example.com`);
  }
  if (!Array.isArray(u.roles)) throw new ValidationError(`roles of user "${u.name}" must be a list of role names`);
  for (const role of u.roles) {
    if (typeof role !== 'string' || !NAME_RE.test(role)) {
      const r = JSON.stringify(role);
      throw new ValidationError(`role ${r} of user "${u.name}" must be letters, digits, . _ - (max 64), e.g. soc-lead`);
    }
  }
  if (typeof u.disabled !== 'boolean') throw new ValidationError(`disabled of user "${u.name}" must be true or false`);
}

const toUser = (r: Row): UserAccount => ({
  name: r.name as string, email: (r.email as string | null) ?? null, roles: fromJson<string[]>(r.roles as string),
  disabled: r.disabled === 1, createdAt: r.created_at as string,
});

const toDecision = (r: Row): ApprovalDecision => ({
  user: r.user_name as string, decision: r.decision as 'approve' | 'deny', via: r.via as ApprovalDecision['via'],
  comment: (r.comment as string | null) ?? null, at: r.at as string, seal: r.seal as string,
});

const toPrompt = (r: Row): PromptRecord => ({
  id: r.id as string, runId: r.run_id as string, seq: r.seq as number, question: r.question as string,
  answerType: r.answer_type as PromptRecord['answerType'], options: fromJson<string[] | null>(r.options as string | null),
  assigneeUser: (r.assignee_user as string | null) ?? null, assigneeRole: (r.assignee_role as string | null) ?? null,
  escalateToRole: (r.escalate_to_role as string | null) ?? null, escalateAt: (r.escalate_at as string | null) ?? null,
  escalatedAt: (r.escalated_at as string | null) ?? null, defaultAnswer: fromJson(r.default_answer as string | null),
  expiresAt: r.expires_at as string, status: r.status as PromptStatus, answer: fromJson(r.answer as string | null),
  answeredBy: (r.answered_by as string | null) ?? null, answeredAt: (r.answered_at as string | null) ?? null,
  createdAt: r.created_at as string,
  gatesContainment: r.gates_containment === 1, excluded: r.excluded ? fromJson<Exclusion[]>(r.excluded as string) : [],
});

export class SqlitePolicyStore implements PolicyStore {
  private readonly s;

  constructor(private readonly db: Database.Database, private readonly audit: AuditLog) {
    this.s = {
      putUser: db.prepare(`INSERT INTO users (name, email, roles, disabled, created_at) VALUES (@name, @email, @roles, @disabled, @created_at)
        ON CONFLICT(name) DO UPDATE SET email = excluded.email, roles = excluded.roles, disabled = excluded.disabled`),
      getUser: db.prepare('SELECT * FROM users WHERE name = ?'),
      users: db.prepare('SELECT * FROM users ORDER BY name'),
      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare(`INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
      getAssetPolicy: db.prepare('SELECT policy FROM assets WHERE name = ?'),
      putAssetPolicy: db.prepare('UPDATE assets SET policy = ?, updated_at = ? WHERE name = ?'),
      insertApproval: db.prepare(`INSERT INTO approvals (id, run_id, seq, asset, app, action, kind, params, params_hash, reasons, approvers,
        quorum, four_eyes, requested_by, requested_at, expires_at, status, decided_at, seal, excluded)
        VALUES (@id, @run_id, @seq, @asset, @app, @action, @kind, @params, @params_hash, @reasons, @approvers, @quorum, @four_eyes,
        @requested_by, @requested_at, @expires_at, @status, @decided_at, @seal, @excluded)`),
      approval: db.prepare('SELECT * FROM approvals WHERE id = ?'),
      approvalForStep: db.prepare('SELECT * FROM approvals WHERE run_id = ? AND seq = ?'),
      decisions: db.prepare('SELECT * FROM approval_decisions WHERE approval_id = ? ORDER BY id'),
      insertDecision: db.prepare(`INSERT INTO approval_decisions (approval_id, user_name, decision, via, comment, at, seal)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      setApproval: db.prepare(`UPDATE approvals SET status = ?, decided_at = ?, seal = ? WHERE id = ? AND status = 'pending'`),
      insertLink: db.prepare('INSERT INTO email_links (nonce, approval_id, user_name, decision, expires_at) VALUES (?, ?, ?, ?, ?)'),
      useLink: db.prepare('UPDATE email_links SET used_at = ? WHERE nonce = ? AND used_at IS NULL'),
      insertPrompt: db.prepare(`INSERT INTO prompts (id, run_id, seq, question, answer_type, options, assignee_user, assignee_role,
        escalate_to_role, escalate_at, escalated_at, default_answer, expires_at, status, answer, answered_by, answered_at, created_at,
        gates_containment, excluded)
        VALUES (@id, @run_id, @seq, @question, @answer_type, @options, @assignee_user, @assignee_role, @escalate_to_role, @escalate_at,
        NULL, @default_answer, @expires_at, 'pending', NULL, NULL, NULL, @created_at, @gates_containment, @excluded)`),
      prompt: db.prepare('SELECT * FROM prompts WHERE id = ?'),
      promptForStep: db.prepare('SELECT * FROM prompts WHERE run_id = ? AND seq = ?'),
      answerPrompt: db.prepare(`UPDATE prompts SET status = 'answered', answer = ?, answered_by = ?, answered_at = ? WHERE id = ? AND status = 'pending'`),
      escalatePrompt: db.prepare(`UPDATE prompts SET assignee_role = ?, escalated_at = ? WHERE id = ? AND status = 'pending' AND escalated_at IS NULL`),
      closePrompt: db.prepare(`UPDATE prompts SET status = ?, answer = ?, answered_at = ? WHERE id = ? AND status = 'pending'`),
      incidentCreator: db.prepare<[number, string], { source: string }>(
        'SELECT source FROM incidents WHERE id = ? AND created_at <= ?'),
      incidentEditors: db.prepare<[number, string], { principal: string }>(
        'SELECT principal FROM incident_editors WHERE incident_id = ? AND first_at <= ? ORDER BY first_at'),
      wake: db.prepare(`UPDATE runs SET wake_at = ?, updated_at = ? WHERE status = 'waiting'
        AND id IN (SELECT run_id FROM run_waits WHERE waiting_on = ?)`),
    };
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ── users ──
  async putUser(u: Omit<UserAccount, 'createdAt'>, actor: string): Promise<UserAccount> {
    return this.putUserSync(u, actor);
  }
  /**
   * `putUser` without the promise: validates, then writes the user and its audit entry in one
   * transaction — a savepoint when the caller already holds one (see `Store.putUserWithToken`).
   */
  putUserSync(u: Omit<UserAccount, 'createdAt'>, actor: string): UserAccount {
    validateUser(u);
    return this.tx(() => {
      this.s.putUser.run({ name: u.name, email: u.email, roles: JSON.stringify([...new Set(u.roles)].sort()), disabled: u.disabled ? 1 : 0, created_at: nowIso() });
      this.audit.appendInTx({ actor, action: 'user.put', target: `user:${u.name}`, detail: { email: u.email, roles: u.roles, disabled: u.disabled } });
      return toUser(this.s.getUser.get(u.name) as Row);
    });
  }
  async getUser(name: string): Promise<UserAccount | null> {
    const r = this.s.getUser.get(name) as Row | undefined;
    return r ? toUser(r) : null;
  }
  async listUsers(): Promise<UserAccount[]> {
    return (this.s.users.all() as Row[]).map(toUser);
  }

  // ── settings ──
  async getSetting<T>(key: string): Promise<T | null> {
    const r = this.s.getSetting.get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as T) : null;
  }
  async putSetting(key: string, value: unknown, actor: string, auditAction: string): Promise<void> {
    this.tx(() => {
      this.s.putSetting.run(key, JSON.stringify(value), nowIso(), actor);
      this.audit.appendInTx({ actor, action: auditAction, target: `setting:${key}`, detail: value });
    });
  }
  async getAssetPolicy(asset: string): Promise<AssetPolicy | null> {
    const r = this.s.getAssetPolicy.get(asset) as { policy: string | null } | undefined;
    return r?.policy ? (JSON.parse(r.policy) as AssetPolicy) : null;
  }
  async putAssetPolicy(asset: string, policy: AssetPolicy | null, actor: string): Promise<void> {
    this.tx(() => {
      const res = this.s.putAssetPolicy.run(toJson(policy), nowIso(), asset);
      if (res.changes === 0) throw new Error(`asset "${asset}" does not exist`);
      this.audit.appendInTx({ actor, action: 'asset.policy', target: `asset:${asset}`, detail: policy });
    });
  }

  // ── approvals ──
  private loadApproval(r: Row | undefined): ApprovalRecord | null {
    if (!r) return null;
    return {
      id: r.id as string, runId: r.run_id as string, seq: r.seq as number, asset: r.asset as string, app: r.app as string,
      action: r.action as string, kind: r.kind as string, params: fromJson(r.params as string), paramsHash: r.params_hash as string,
      reasons: fromJson<string[]>(r.reasons as string), approvers: fromJson(r.approvers as string), quorum: r.quorum as number,
      fourEyes: r.four_eyes === 1, requestedBy: r.requested_by as string, requestedAt: r.requested_at as string,
      excluded: r.excluded ? fromJson<Exclusion[]>(r.excluded as string) : [],
      expiresAt: r.expires_at as string, status: r.status as ApprovalStatus, decidedAt: (r.decided_at as string | null) ?? null,
      seal: r.seal as string, decisions: (this.s.decisions.all(r.id) as Row[]).map(toDecision),
    };
  }
  async createApproval(a: ApprovalRecord): Promise<{ approval: ApprovalRecord; created: boolean }> {
    return this.tx(() => {
      const existing = this.loadApproval(this.s.approvalForStep.get(a.runId, a.seq) as Row | undefined);
      if (existing) return { approval: existing, created: false };
      this.s.insertApproval.run({
        id: a.id, run_id: a.runId, seq: a.seq, asset: a.asset, app: a.app, action: a.action, kind: a.kind, params: JSON.stringify(a.params ?? null),
        params_hash: a.paramsHash, reasons: JSON.stringify(a.reasons), approvers: JSON.stringify(a.approvers), quorum: a.quorum,
        four_eyes: a.fourEyes ? 1 : 0, requested_by: a.requestedBy, requested_at: a.requestedAt, expires_at: a.expiresAt,
        status: a.status, decided_at: a.decidedAt, seal: a.seal, excluded: a.excluded.length > 0 ? JSON.stringify(a.excluded) : null,
      });
      this.audit.appendInTx({
        actor: a.requestedBy, action: 'approval.request', target: `run:${a.runId}`,
        detail: { approvalId: a.id, step: a.seq, asset: a.asset, app: a.app, action: a.action, paramsHash: a.paramsHash, reasons: a.reasons, approvers: a.approvers, quorum: a.quorum, fourEyes: a.fourEyes, expiresAt: a.expiresAt },
      });
      return { approval: this.loadApproval(this.s.approval.get(a.id) as Row)!, created: true };
    });
  }
  /**
   * Master key rotation: gives each approval the seals `reseal` computes (its own and its
   * decisions', in order), one approval per transaction; `null` or unchanged seals leave it as it is.
   */
  resealApprovals(reseal: (a: ApprovalRecord) => ApprovalSeals | null, afterRow?: () => void): number {
    const ids = this.db.prepare('SELECT id FROM approvals ORDER BY id').pluck().all() as string[];
    const setSeal = this.db.prepare('UPDATE approvals SET seal = ? WHERE id = ?');
    const setDecision = this.db.prepare('UPDATE approval_decisions SET seal = ? WHERE approval_id = ? AND user_name = ?');
    const one = this.db.transaction((id: string): boolean => {
      const a = this.loadApproval(this.s.approval.get(id) as Row | undefined);
      const next = a ? reseal(a) : null;
      if (!a || !next || next.seal === a.seal) return false;
      a.decisions.forEach((d, i) => setDecision.run(next.decisions[i], id, d.user));
      setSeal.run(next.seal, id);
      return true;
    });
    let n = 0;
    for (const id of ids) {
      if (one.immediate(id)) {
        n++;
        afterRow?.();
      }
    }
    return n;
  }

  async getApproval(id: string): Promise<ApprovalRecord | null> {
    return this.loadApproval(this.s.approval.get(id) as Row | undefined);
  }
  async getApprovalForStep(runId: string, seq: number): Promise<ApprovalRecord | null> {
    return this.loadApproval(this.s.approvalForStep.get(runId, seq) as Row | undefined);
  }
  async listApprovals(q: { status?: ApprovalStatus; runId?: string; limit?: number }): Promise<ApprovalRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.status) { where.push('status = ?'); args.push(q.status); }
    if (q.runId) { where.push('run_id = ?'); args.push(q.runId); }
    const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, clampLimit(q.limit, 100, 1000)) as Row[]).map((r) => this.loadApproval(r)!);
  }
  async recordDecision(id: string, d: ApprovalDecision, next: { status: ApprovalStatus; decidedAt: string | null; seal: string }, actor: string): Promise<boolean> {
    return this.tx(() => {
      const cur = this.s.approval.get(id) as Row | undefined;
      if (!cur || cur.status !== 'pending') return false;
      if ((this.s.decisions.all(id) as Row[]).some((x) => x.user_name === d.user)) return false;
      this.s.insertDecision.run(id, d.user, d.decision, d.via, d.comment, d.at, d.seal);
      this.s.setApproval.run(next.status, next.decidedAt, next.seal, id);
      this.audit.appendInTx({
        actor, action: d.decision === 'approve' ? 'approval.approve' : 'approval.deny', target: `run:${cur.run_id}`,
        detail: { approvalId: id, step: cur.seq, asset: cur.asset, action: cur.action, paramsHash: cur.params_hash, via: d.via, comment: d.comment, status: next.status },
      });
      return true;
    });
  }
  async closeApproval(id: string, status: ApprovalStatus, decidedAt: string, seal: string, actor: string, detail: unknown): Promise<boolean> {
    return this.tx(() => {
      const cur = this.s.approval.get(id) as Row | undefined;
      if (!cur || this.s.setApproval.run(status, decidedAt, seal, id).changes === 0) return false;
      this.audit.appendInTx({ actor, action: `approval.${status === 'expired' ? 'expire' : status}`, target: `run:${cur.run_id}`, detail: { approvalId: id, step: cur.seq, asset: cur.asset, action: cur.action, paramsHash: cur.params_hash, ...(detail as object) } });
      return true;
    });
  }

  // ── e-mail links ──
  async createEmailLink(l: { nonce: string; approvalId: string; user: string; decision: 'approve' | 'deny'; expiresAt: string }): Promise<void> {
    this.s.insertLink.run(l.nonce, l.approvalId, l.user, l.decision, l.expiresAt);
  }
  async useEmailLink(nonce: string): Promise<boolean> {
    return this.s.useLink.run(nowIso(), nonce).changes === 1;
  }

  // ── prompts ──
  async createPrompt(p: PromptRecord, actor: string): Promise<{ prompt: PromptRecord; created: boolean }> {
    return this.tx(() => {
      const existing = this.s.promptForStep.get(p.runId, p.seq) as Row | undefined;
      if (existing) return { prompt: toPrompt(existing), created: false };
      this.s.insertPrompt.run({
        id: p.id, run_id: p.runId, seq: p.seq, question: p.question, answer_type: p.answerType, options: toJson(p.options),
        assignee_user: p.assigneeUser, assignee_role: p.assigneeRole, escalate_to_role: p.escalateToRole, escalate_at: p.escalateAt,
        default_answer: toJson(p.defaultAnswer), expires_at: p.expiresAt, created_at: p.createdAt,
        gates_containment: p.gatesContainment ? 1 : 0, excluded: p.excluded.length > 0 ? JSON.stringify(p.excluded) : null,
      });
      this.audit.appendInTx({ actor, action: 'prompt.request', target: `run:${p.runId}`, detail: { promptId: p.id, step: p.seq, question: p.question, to: p.assigneeUser ?? `role:${p.assigneeRole}`, expiresAt: p.expiresAt } });
      return { prompt: toPrompt(this.s.prompt.get(p.id) as Row), created: true };
    });
  }
  async getPrompt(id: string): Promise<PromptRecord | null> {
    const r = this.s.prompt.get(id) as Row | undefined;
    return r ? toPrompt(r) : null;
  }
  async getPromptForStep(runId: string, seq: number): Promise<PromptRecord | null> {
    const r = this.s.promptForStep.get(runId, seq) as Row | undefined;
    return r ? toPrompt(r) : null;
  }
  async listPrompts(q: { status?: PromptStatus; limit?: number }): Promise<PromptRecord[]> {
    const rows = q.status
      ? this.db.prepare('SELECT * FROM prompts WHERE status = ? ORDER BY created_at DESC LIMIT ?').all(q.status, clampLimit(q.limit, 100, 1000))
      : this.db.prepare('SELECT * FROM prompts ORDER BY created_at DESC LIMIT ?').all(clampLimit(q.limit, 100, 1000));
    return (rows as Row[]).map(toPrompt);
  }
  async answerPrompt(id: string, answer: unknown, user: string, via: string): Promise<boolean> {
    return this.tx(() => {
      if (this.s.answerPrompt.run(JSON.stringify(answer), user, nowIso(), id).changes === 0) return false;
      const p = toPrompt(this.s.prompt.get(id) as Row);
      this.audit.appendInTx({ actor: `user:${user}`, action: 'prompt.answer', target: `run:${p.runId}`, detail: { promptId: id, step: p.seq, answer, via } });
      return true;
    });
  }
  async escalatePrompt(id: string, toRole: string, at: string): Promise<boolean> {
    return this.tx(() => {
      if (this.s.escalatePrompt.run(toRole, at, id).changes === 0) return false;
      const p = toPrompt(this.s.prompt.get(id) as Row);
      this.audit.appendInTx({ actor: `run:${p.runId}`, action: 'prompt.escalate', target: `run:${p.runId}`, detail: { promptId: id, step: p.seq, toRole } });
      return true;
    });
  }
  async closePrompt(id: string, status: PromptStatus, answer: unknown, at: string): Promise<boolean> {
    return this.tx(() => {
      if (this.s.closePrompt.run(status, toJson(answer), at, id).changes === 0) return false;
      const p = toPrompt(this.s.prompt.get(id) as Row);
      this.audit.appendInTx({ actor: `run:${p.runId}`, action: `prompt.${status === 'timed_out' ? 'timeout' : status}`, target: `run:${p.runId}`, detail: { promptId: id, step: p.seq, answer } });
      return true;
    });
  }

  async incidentEditors(incidentId: number, atOrBefore: string): Promise<string[]> {
    return this.db.transaction(() => {
      const creator = this.s.incidentCreator.get(incidentId, atOrBefore)?.source;
      const editors = this.s.incidentEditors.all(incidentId, atOrBefore).map((r) => r.principal);
      // The generic route names an incident's source after the API token that sent it (routes/ingest.ts).
      return [...new Set([...(creator?.startsWith('token:') ? [creator] : []), ...editors])];
    })();
  }

  async wakeRunsWaitingOn(waitingOn: string): Promise<number> {
    const now = nowIso();
    return this.s.wake.run(now, now, waitingOn).changes;
  }

  async countActionExecutions(q: { app?: string; asset?: string; action: string; since: string; exclude?: { runId: string; seq: number } }): Promise<number> {
    let sql = `SELECT COUNT(*) AS n FROM journal WHERE kind = 'action' AND action = ? AND started_at >= ? AND (status = 'started' OR (status = 'completed' AND attempts > 0))`; // dry-run steps (0 attempts) never count
    const args: unknown[] = [q.action, q.since];
    if (q.app) { sql += ' AND app = ?'; args.push(q.app); }
    if (q.asset) { sql += ' AND asset = ?'; args.push(q.asset); }
    if (q.exclude) { sql += ' AND NOT (run_id = ? AND seq = ?)'; args.push(q.exclude.runId, q.exclude.seq); }
    return (this.db.prepare(sql).get(...args) as { n: number }).n;
  }
}
