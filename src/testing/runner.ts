/**
 * Runs a playbook hermetically: the real engine, step service, policy gate and approvals on a
 * store in memory, the playbook's code in the real sandbox, and stand-ins of the apps behind its
 * roles answering from the scenario (stand-in-apps.ts) — no server, no socket, no vendor. Timers
 * run on a clock of the test's own (a `ctx.sleep` of an hour takes no time). Approvals the policy
 * asks for are decided as the scenario says, by a reviewer who is not the run's cause (four-eyes);
 * prompts are answered as it says.
 *
 * The run stops when it ends, or when it waits on something the scenario leaves open (an approval
 * it leaves pending, an unanswered prompt): the report says what it waits on. Everything is
 * thrown away afterwards; nothing outlives the call but the report.
 */
import { randomBytes } from 'node:crypto';
import { AppCatalog } from '../broker/catalog.js';
import { Broker } from '../broker/broker.js';
import { Engine } from '../engine/engine.js';
import { isDryRunStep } from '../engine/execution.js';
import type { LoadedPlaybook } from '../engine/registry.js';
import { PlaybookRegistry } from '../engine/registry.js';
import { newRunFor } from '../ingest/new-run.js';
import { parseTriggerCondition } from '../engine/trigger-condition.js';
import type { IngestRun, NewRun } from '../store/store.js';
import { createHitl, type Hitl } from '../policy/hitl.js';
import type { AppDefinition } from '../sdk/app.js';
import type { ErrorRecord } from '../sdk/errors.js';
import { capabilities, type CapabilityName } from '../sdk/capabilities.js';
import { StepService } from '../steps/step-service.js';
import type { JournalEntry, RunRecord, RunStatus } from '../store/records.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { checkScenario, ScenarioError, type CheckedScenario, type Decision, type Scenario } from './scenario.js';
import { Answers, appFor, standIn } from './stand-in-apps.js';

/** The run's cause (an alert from a source) and the reviewer who decides approvals. */
const CAUSE = 'source:test';
const REVIEWER = { name: 'reviewer', roles: ['admin', 'analyst', 'soc-lead'] };
/** Approvals, prompts and timers one test may go through before it is stopped as endless. */
const MAX_ROUNDS = 200;

/** One step of the run as the journal records it. */
export interface StepReport {
  seq: number;
  kind: JournalEntry['kind'];
  /** `<role>.<action>`, `lists.contains`, `note`, `sleep` … */
  name: string;
  input: unknown;
  status: JournalEntry['status'];
  output?: unknown;
  error?: ErrorRecord;
}

/** An action the run called, with what the policy asked for it. */
export interface ActionReport extends StepReport {
  /** The app whose stand-in answered. */
  app: string | null;
  /** Recorded, not performed (a dry run). */
  dryRun: boolean;
  /** The approval the policy asked for, and how it was decided; null when none was needed. */
  approval: { status: string; reasons: string[] } | null;
}

export interface RunReport {
  runId: string;
  status: RunStatus;
  output: unknown;
  error: ErrorRecord | null;
  /** Why the run needs attention, when it does. */
  attentionReason: string | null;
  /** What the run still waits on when the scenario left it open (`approval:<id>`, `prompt:<id>` …). */
  waitingOn: string[];
  /** Whether the playbook's triggers select the incident (the test runs it either way). */
  triggered: boolean;
  steps: StepReport[];
  actions: ActionReport[];
  notes: string[];
  incident: { status: string; severity: string };
  prompts: Array<{ question: string; status: string; answer: unknown }>;
  journal: JournalEntry[];
  /** The run's record as the store kept it (e.g. to replay it against other code). */
  run: RunRecord;
}

/** The playbook under test, as the engine runs it. */
export interface TestPlaybook {
  readonly id: string;
  readonly loaded: LoadedPlaybook;
}

export async function runPlaybook(playbook: TestPlaybook, scenario: Scenario = {}): Promise<RunReport> {
  const s = checkScenario(scenario);
  const world = await World.open(playbook.loaded, s);
  try {
    return await world.run(s);
  } finally {
    await world.close();
  }
}

/** `ctx.related` answered from the scenario's list (a recorded run's answers) instead of the store. */
function answerRelated(steps: StepService, given: Array<{ count: number; incidentIds: number[] }>, answers: Answers): void {
  const perform = steps.perform.bind(steps);
  let n = 0;
  steps.perform = async (scope, req) => {
    if (req.kind !== 'related') return perform(scope, req);
    const answer = given[n++];
    if (answer === undefined) {
      answers.unforeseen.push(`the playbook called ctx.related a ${n}. time; the test answers it ${given.length} time(s)`);
      return { status: 'failed', error: { name: 'TestError', message: 'the test gives no answer for this call', retryable: false, applied: 'no' } };
    }
    return { status: 'completed', output: answer };
  };
}

class World {
  private clock = Date.now();
  private engine!: Engine;
  /** The playbook under test, the only one installed: the engine's and ingestion's registry. */
  private readonly registry: PlaybookRegistry;

  private constructor(
    private readonly store: SqliteStore,
    private readonly playbook: LoadedPlaybook,
    private readonly answers: Answers,
    private readonly hitl: Hitl,
  ) {
    this.registry = new PlaybookRegistry([playbook]);
  }

  static async open(playbook: LoadedPlaybook, s: CheckedScenario): Promise<World> {
    const store = new SqliteStore({ path: ':memory:', secretKey: randomBytes(32) });
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
    const answers = new Answers(s.actions ?? {});
    let world: World | null = null;
    const hitl = createHitl({
      policy: store.policyStore(), secretKey: randomBytes(32), wake: () => world?.engine.wake(),
      now: () => world?.clock ?? Date.now(),
    });
    world = new World(store, playbook, answers, hitl);
    if (s.now !== undefined) world.clock = Date.parse(s.now);
    try {
      await world.furnish(s);
    } catch (err) {
      await store.close();
      throw err;
    }
    return world;
  }

  /** Assets (one per role), bindings, lists, earlier incidents; then the engine. */
  private async furnish(s: CheckedScenario): Promise<void> {
    const { store, playbook } = this;
    const roles = playbook.config.roles as Record<string, string>;
    for (const key of [...Object.keys(s.apps ?? {}), ...(s.requireApproval ?? [])]) {
      if (!Object.hasOwn(roles, key)) throw new ScenarioError(`playbook ${playbook.config.id} has no role "${key}"`);
    }
    for (const name of Object.keys(s.actions ?? {})) {
      const role = name.slice(0, name.indexOf('.'));
      const action = name.slice(role.length + 1);
      if (!Object.hasOwn(roles, role)) throw new ScenarioError(`actions.${name}: playbook ${playbook.config.id} has no role "${role}"`);
      const capability = roles[role]!;
      if (!Object.hasOwn(capabilities[capability as CapabilityName] ?? {}, action)) {
        throw new ScenarioError(`actions.${name}: role ${role} (${capability}) has no action "${action}"`);
      }
    }
    const apps = new Map<string, AppDefinition>();
    const bindings: Record<string, string> = {};
    for (const [role, capability] of Object.entries(roles)) {
      const app = appFor(role, capability, s.apps?.[role]);
      if (!apps.has(app.id)) apps.set(app.id, standIn(app, this.answers));
      await store.putAsset({ name: role, appId: app.id, config: { role }, secrets: {} }, 'test');
      bindings[role] = role;
    }
    for (const role of s.requireApproval ?? []) {
      await store.policyStore().putAssetPolicy(role, {
        requireApproval: true, approvers: { users: [], roles: ['soc-lead'] }, quorum: 1, fourEyes: true,
      }, 'test');
    }
    await store.putPlaybookSettings({
      playbookId: playbook.config.id, enabled: true, automation: s.automation ?? null, bindings, dryRun: false,
    }, 'test');
    for (const [name, items] of Object.entries(s.lists ?? {})) {
      await store.createList(name, null, 'test');
      if (items.length > 0) await store.addListItems(name, items, 'test');
    }
    const catalog = new AppCatalog([...apps.values()]);
    const broker = new Broker(store, catalog, { retryBaseMs: 0, retryMaxMs: 0, sleep: async () => {} });
    const hitl = this.hitl;
    const steps = new StepService(store, broker, {
      gate: hitl.gate, prompts: hitl.prompts, release: (r, seq, why) => hitl.cancelStep(r, seq, why), now: () => this.clock,
    });
    if (s.related) answerRelated(steps, s.related, this.answers);
    this.engine = new Engine(store, steps, this.registry, {
      shortSleepMs: 0, now: () => this.clock, stillWaiting: (w) => hitl.stillWaiting(w),
    });
  }

  async run(s: CheckedScenario): Promise<RunReport> {
    const { store, playbook } = this;
    for (const h of s.history ?? []) {
      await store.ingest({
        name: 'earlier incident', label: h.label, severity: 'low', source: 'test',
        artifacts: h.artifacts.map((a, i) => ({ name: a.name ?? `artifact ${i + 1}`, cef: a.cef })),
      }, [], 'test');
    }
    if (s.history?.length) {
      // The store stamps incidents with the wall clock (ms): the one under test comes strictly later.
      const at = Date.now();
      while (Date.now() <= at + 1) await new Promise((r) => setTimeout(r, 1));
    }
    const i = s.snapshot
      ? { ...s.snapshot, sourceId: s.snapshot.sourceId ?? undefined, artifacts: s.snapshot.artifacts.map((a) => ({ name: a.name, cef: a.cef })) }
      : s.incident ?? {};
    const incident = {
      name: i.name ?? 'test incident', label: i.label ?? playbook.config.triggers.labels[0] ?? 'test',
      severity: i.severity ?? 'medium', source: 'test', ...(i.description ? { description: i.description } : {}),
      ...(i.sourceId ? { sourceId: i.sourceId } : {}),
      artifacts: (i.artifacts ?? []).map((a, n) => ({ name: a.name ?? `artifact ${n + 1}`, cef: a.cef })),
    };
    // Ingested as an alert would be, so that the playbook's label and trigger condition decide
    // `triggered` as in production; a run the alert would not start is started by hand.
    const p = this.registry.get(playbook.config.id)!;
    const run: IngestRun = newRunFor(p, CAUSE, { args: s.args, dryRun: s.dryRun ?? false });
    if (s.snapshot) run.input = s.snapshot;
    const when = p.config.triggers.when;
    if (when !== undefined) {
      const parsed = parseTriggerCondition(when);
      run.condition = { text: when, from: 'playbook', holds: (subject) => parsed.holds(subject) };
    }
    const matches = this.registry.matching(incident.label).length > 0;
    const ingested = await store.ingest(incident, matches ? [run] : [], CAUSE);
    const triggered = ingested.runs.length > 0;
    const created = triggered ? ingested.runs[0]! : await store.createRun(ingested.incident.id, { ...run, condition: undefined } as NewRun, CAUSE);
    this.engine.start();
    return this.report(await this.drive(created.id, s), triggered);
  }

  /** Runs until the run ends or waits on something the scenario leaves open. */
  private async drive(runId: string, s: CheckedScenario): Promise<RunRecord> {
    for (let round = 0; ; round++) {
      if (round > MAX_ROUNDS) throw new ScenarioError(`the run went through more than ${MAX_ROUNDS} approvals, prompts and timers`);
      const run = await this.settled(runId);
      if (run.status !== 'waiting') return run;
      if (!(await this.unblock(run, s))) return run;
      this.engine.wake();
    }
  }

  private async settled(runId: string): Promise<RunRecord> {
    for (;;) {
      await this.engine.idle();
      const run = await this.store.getRun(runId);
      if (!run) throw new Error(`run ${runId} vanished`);
      if (run.status !== 'queued' && run.status !== 'running') return run;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Decides what the scenario decides for what the run waits on; false when it leaves it open. */
  private async unblock(run: RunRecord, s: CheckedScenario): Promise<boolean> {
    let moved = false;
    let open = 0;
    const journal = await this.store.loadJournal(run.id);
    const pending = (await this.hitl.policy.listApprovals({ runId: run.id, status: 'pending' })).sort((a, b) => a.seq - b.seq);
    for (const a of pending) {
      const name = journal.find((e) => e.seq === a.seq)?.name ?? '';
      const given = typeof s.approvals === 'string' ? s.approvals : s.approvals?.[name];
      const decision: Decision = this.nth(`approval ${name}`, a.id, given) ?? 'approve';
      if (decision === 'pending') open++;
      if (decision === 'pending' || decision === 'expire') continue; // an expiring one lets time pass
      await this.hitl.approvals.decide(a.id, REVIEWER, decision, 'api');
      moved = true;
    }
    for (const e of journal.filter((x) => x.kind === 'prompt')) {
      const p = await this.hitl.policy.getPromptForStep(run.id, e.seq);
      if (!p || p.status !== 'pending') continue;
      const answer = this.nth(`prompt ${p.question}`, p.id, s.prompts?.[p.question]);
      if (answer === undefined) open++;
      if (answer === undefined || (typeof answer === 'object' && answer.timeout)) continue;
      await this.hitl.prompts.answer(p.id, REVIEWER, answer, 'api');
      moved = true;
    }
    if (!moved && open === 0 && run.wakeAt !== null) {
      // Only time moves the run on (a sleep, a prompt's timeout, an approval's expiry): let it
      // pass, on the test's clock.
      // (1 ms past it: an approval expires once the clock is *past* its expiry.)
      this.clock = Math.max(this.clock, Date.parse(run.wakeAt) + 1);
      moved = true;
    }
    return moved;
  }

  /** Requests seen per key (a step name's approvals, a question's prompts), to hand out list entries in order. */
  private readonly seen = new Map<string, string[]>();

  /** The scenario's answer for the request `id` under `key`: the one answer, or the list's entry for it. */
  private nth<T>(key: string, id: string, given: T | T[] | undefined): T | undefined {
    if (!Array.isArray(given)) return given;
    const ids = this.seen.get(key) ?? [];
    if (!ids.includes(id)) ids.push(id);
    this.seen.set(key, ids);
    return given[ids.indexOf(id)];
  }

  private async report(run: RunRecord, triggered: boolean): Promise<RunReport> {
    if (this.answers.unforeseen.length > 0) throw new ScenarioError(this.answers.unforeseen.join('; '));
    const { store } = this;
    const journal = await store.loadJournal(run.id);
    const approvals = await this.hitl.policy.listApprovals({ runId: run.id });
    const steps: StepReport[] = journal.map((e) => ({
      seq: e.seq, kind: e.kind, name: e.name, input: e.input, status: e.status,
      ...(e.output !== null && e.output !== undefined ? { output: e.output } : {}),
      ...(e.error ? { error: e.error } : {}),
    }));
    const actions: ActionReport[] = journal.filter((e) => e.kind === 'action').map((e) => {
      const a = approvals.find((x) => x.seq === e.seq);
      return {
        ...steps.find((x) => x.seq === e.seq)!, app: e.app,
        dryRun: isDryRunStep(e),
        approval: a ? { status: a.status, reasons: a.reasons } : null,
      };
    });
    const incident = (await store.getIncident(run.incidentId))!;
    const prompts = await Promise.all(journal.filter((e) => e.kind === 'prompt').map(async (e) => {
      const p = await this.hitl.policy.getPromptForStep(run.id, e.seq);
      return { question: p?.question ?? '', status: p?.status ?? 'unknown', answer: p?.answer ?? null };
    }));
    return {
      runId: run.id, status: run.status, output: run.output, error: run.error, attentionReason: run.attentionReason,
      waitingOn: run.status === 'waiting' && run.waitingOn !== null ? [run.waitingOn] : [], triggered, steps, actions,
      notes: (await store.listNotes(run.incidentId)).filter((n) => n.runId === run.id).map((n) => n.text),
      incident: { status: incident.status, severity: incident.severity }, prompts, journal, run,
    };
  }

  async close(): Promise<void> {
    await this.engine?.stop();
    await this.store.close();
  }
}
