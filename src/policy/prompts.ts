/**
 * Prompts: a playbook asks a person a typed question and waits durably. The prompt row is keyed by
 * (run, step), so a replay never asks twice; timeouts take the default answer; an unanswered
 * prompt escalates to a second role once.
 */
import { randomUUID } from 'node:crypto';
import type { PromptSpec } from '../sdk/playbook.js';
import type { WaitOn } from '../common/wait-on.js';
import type { PolicyStore } from '../store/policy-store.js';
import { PolicyError } from './errors.js';
import type { Actor } from './principal.js';
import type { PromptRecord } from '../store/policy-records.js';
import type { RunRecord } from '../store/records.js';
import { exclusionOf, exclusionsFor } from './separation.js';

export interface PromptEvents {
  requested?(prompt: PromptRecord): Promise<void> | void;
  escalated?(prompt: PromptRecord): Promise<void> | void;
  answered?(prompt: PromptRecord): Promise<void> | void;
}

/** What the step should do now. */
export type PromptState =
  | { kind: 'answered'; answer: unknown; answeredBy: string | null; timedOut: boolean }
  | { kind: 'wait'; on: WaitOn; wakeAt: number };

export class PromptService {
  constructor(private readonly store: PolicyStore, private readonly now: () => number, private readonly events: PromptEvents = {}) {}

  /**
   * Creates the step's prompt on first ask, then reports its state (timing out or escalating it
   * when due). A prompt that gates containment records who may not answer it (separation.ts).
   */
  async step(
    run: Pick<RunRecord, 'id' | 'incidentId' | 'createdAt' | 'requestedBy' | 'alsoCausedBy'>,
    seq: number,
    spec: PromptSpec,
  ): Promise<PromptState> {
    const runId = run.id;
    let p = await this.store.getPromptForStep(runId, seq);
    if (!p) {
      const gatesContainment = spec.gatesContainment === true;
      const excluded = gatesContainment ? await exclusionsFor(this.store, run, { includeCause: true }) : [];
      const at = this.now();
      const created = await this.store.createPrompt({
        id: randomUUID(), runId, seq, question: spec.question, answerType: spec.type, options: spec.type === 'choice' ? spec.options : null,
        assigneeUser: 'user' in spec.to ? spec.to.user : null, assigneeRole: 'role' in spec.to ? spec.to.role : null,
        escalateToRole: spec.escalate?.toRole ?? null, escalateAt: spec.escalate ? new Date(at + spec.escalate.afterMs).toISOString() : null,
        escalatedAt: null, defaultAnswer: spec.default, expiresAt: new Date(at + spec.timeoutMs).toISOString(), status: 'pending',
        answer: null, answeredBy: null, answeredAt: null, createdAt: new Date(at).toISOString(), gatesContainment, excluded,
      }, `run:${runId}`);
      p = created.prompt;
      if (created.created) await this.events.requested?.(p);
    }
    if (p.status === 'answered') return { kind: 'answered', answer: p.answer, answeredBy: p.answeredBy, timedOut: false };
    if (p.status !== 'pending') return { kind: 'answered', answer: p.defaultAnswer, answeredBy: null, timedOut: true };
    const now = this.now();
    if (now >= Date.parse(p.expiresAt)) {
      await this.store.closePrompt(p.id, 'timed_out', p.defaultAnswer, new Date(now).toISOString());
      const again = (await this.store.getPrompt(p.id))!;
      if (again.status === 'answered') return { kind: 'answered', answer: again.answer, answeredBy: again.answeredBy, timedOut: false };
      return { kind: 'answered', answer: p.defaultAnswer, answeredBy: null, timedOut: true };
    }
    if (p.escalateToRole && p.escalateAt && p.escalatedAt === null && now >= Date.parse(p.escalateAt)) {
      if (await this.store.escalatePrompt(p.id, p.escalateToRole, new Date(now).toISOString())) {
        p = (await this.store.getPrompt(p.id))!;
        await this.events.escalated?.(p);
      }
    }
    const escalation = p.escalateAt && p.escalatedAt === null ? Date.parse(p.escalateAt) : Infinity;
    return { kind: 'wait', on: { kind: 'prompt', id: p.id }, wakeAt: Math.min(escalation, Date.parse(p.expiresAt)) };
  }

  /** A user answers; the answer must fit the prompt's type, and the user must be the assignee. */
  async answer(id: string, actor: Actor & { disabled?: boolean }, raw: unknown, via: string): Promise<PromptRecord> {
    const p = await this.store.getPrompt(id);
    if (!p) throw new PolicyError('not_found', `prompt ${id} does not exist`);
    if (p.status !== 'pending') throw new PolicyError('not_pending', `prompt ${id} is already ${p.status}`);
    if (this.now() >= Date.parse(p.expiresAt)) throw new PolicyError('expired', `prompt ${id} expired at ${p.expiresAt}; the default answer applies`);
    const mayAnswer = !actor.disabled && (actor.name === p.assigneeUser || (p.assigneeRole !== null && actor.roles.includes(p.assigneeRole)) || actor.roles.includes('admin'));
    if (!mayAnswer) throw new PolicyError('not_eligible', `${actor.name} may not answer prompt ${id}: it is for ${p.assigneeUser ? `user ${p.assigneeUser}` : `role ${p.assigneeRole}`}`);
    // Four-eyes, for admins too: whoever caused the run does not decide its containment this way either.
    const excluded = p.gatesContainment ? exclusionOf(p.excluded, actor.name) : undefined;
    if (excluded) {
      throw new PolicyError('four_eyes',
        `${actor.name} ${excluded.why} and cannot answer prompt ${id}: it gates containment (four-eyes)`);
    }
    const answer = coerceAnswer(p, raw);
    if (!(await this.store.answerPrompt(id, answer, actor.name, via))) throw new PolicyError('not_pending', `prompt ${id} was answered concurrently`);
    const next = (await this.store.getPrompt(id))!;
    await this.events.answered?.(next);
    return next;
  }
}

function coerceAnswer(p: PromptRecord, raw: unknown): unknown {
  switch (p.answerType) {
    case 'yesno':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'yes' || raw === 'true') return true;
      if (raw === 'no' || raw === 'false') return false;
      throw new PolicyError('invalid_answer', 'this prompt expects yes or no');
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw new PolicyError('invalid_answer', 'this prompt expects a number');
      return n;
    }
    case 'choice':
      if (typeof raw !== 'string' || !(p.options ?? []).includes(raw)) throw new PolicyError('invalid_answer', `this prompt expects one of: ${(p.options ?? []).join(', ')}`);
      return raw;
    case 'text':
      if (typeof raw !== 'string' || raw.length === 0 || raw.length > 4000) throw new PolicyError('invalid_answer', 'this prompt expects text (1–4000 characters)');
      return raw;
  }
}
