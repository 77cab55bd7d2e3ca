/**
 * Fixtures: a real run turned into a hermetic test. `fixtureOfRun` reads a finished run — the
 * incident as its playbook saw it, what every vendor answered, what the lists and history lookups
 * said, how approvals and prompts were decided — into a scenario, and the path the run took into
 * the expectation; `checkFixture` runs the playbook (today's code) against the scenario and names
 * the first place where the path differs, with both sides.
 *
 * A fixture file is also a declarative test of a playbook repository (`tests/*.test.json`, run by
 * `riposte playbooks test`): `{ playbook, description?, scenario, expect }`.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { Store } from '../store/store.js';
import type { PolicyStore } from '../store/policy-store.js';
import type { JournalEntry, RunRecord } from '../store/records.js';
import { Scenario, ScenarioError, type ActionAnswer } from './scenario.js';
import { isDryRunStep } from '../engine/execution.js';
import { brief } from './brief.js';
import { firstPartyCatalog } from '../apps/catalog.js';
import type { AppCatalog } from '../broker/catalog.js';
import { runPlaybook, type RunReport, type TestPlaybook } from './runner.js';
import { issuesText } from '../common/issues.js';

export const FIXTURE_FORMAT = 'riposte-fixture/1';

export const Expectation = z.strictObject({
  status: z.string().optional(),
  output: z.unknown().optional(),
  /** The actions in the order the run called them: name, and input and status when given. */
  actions: z.array(z.strictObject({ name: z.string(), input: z.unknown().optional(), status: z.string().optional() })).optional(),
  notes: z.array(z.string()).optional(),
  incidentStatus: z.string().optional(),
});
export type Expectation = z.infer<typeof Expectation>;

export const Fixture = z.strictObject({
  format: z.literal(FIXTURE_FORMAT).optional(),
  playbook: z.string().min(1),
  description: z.string().max(2000).optional(),
  /** Where it was recorded (exported fixtures): informational. */
  recorded: z.looseObject({ runId: z.string() }).optional(),
  scenario: Scenario,
  expect: Expectation,
});
export type Fixture = z.input<typeof Fixture>;

/** The fixture in `raw` (parsed JSON), checked: a ScenarioError naming every bad part. */
export function parseFixture(raw: unknown, what = 'fixture'): z.output<typeof Fixture> {
  const parsed = Fixture.safeParse(raw);
  if (parsed.success) {
    if (Object.values(parsed.data.expect).every((v) => v === undefined)) {
      throw new ScenarioError(`the ${what} is not valid: expect: it checks nothing (give at least the run's status)`);
    }
    return parsed.data;
  }
  const why = issuesText(parsed.error.issues, '(top)');
  throw new ScenarioError(`the ${what} is not valid: ${why}`);
}

/** Steps that ended: their outcome is what the world answered. */
const ENDED = new Set(['completed', 'failed']);

/** A finished run as a fixture (`riposte runs export <id> --fixture`). */
export async function fixtureOfRun(store: Store, policy: PolicyStore, run: RunRecord): Promise<Fixture> {
  if (!['completed', 'failed'].includes(run.status)) {
    throw new ScenarioError(`run ${run.id} is ${run.status}: only a completed or failed run can become a fixture`);
  }
  const journal = await store.loadJournal(run.id);
  const catalog = firstPartyCatalog();
  const approvals = await policy.listApprovals({ runId: run.id });
  const actions: Record<string, ActionAnswer[]> = {};
  const lists: Record<string, string[]> = {};
  const related: Array<{ count: number; incidentIds: number[] }> = [];
  // Per step name (or question), in the order the requests came: a later request may go another way.
  const decisions: Record<string, Array<'approve' | 'deny' | 'pending' | 'expire'>> = {};
  const prompts: Record<string, Array<string | number | boolean | { timeout: true }>> = {};
  const requireApproval = new Set<string>();
  let changedUnapproved = false;
  for (const e of journal) {
    if (!ENDED.has(e.status)) continue;
    if (e.kind === 'action') {
      const a = approvals.find((x) => x.seq === e.seq);
      if (a) {
        (decisions[e.name] ??= []).push(a.status === 'approved' ? 'approve' : a.status === 'denied' ? 'deny' : a.status === 'expired' ? 'expire' : 'pending');
        // An approval the asset's policy asked for: the test asks for it the same way.
        if (a.reasons.some((r) => r.startsWith(`asset "${a.asset}" requires approval`))) requireApproval.add(e.name.slice(0, e.name.indexOf('.')));
      } else if (e.attempts > 0 && isChanging(e, catalog)) changedUnapproved = true;
      const answer = answerOf(e);
      if (answer) (actions[e.name] ??= []).push(answer);
    } else if (e.kind === 'list' && e.status === 'completed') {
      const { list, value } = e.input as { list: string; value: string };
      lists[list] ??= [];
      if (e.output === true && !lists[list].includes(value)) lists[list].push(value);
    } else if (e.kind === 'related' && e.status === 'completed') {
      related.push(e.output as { count: number; incidentIds: number[] });
    } else if (e.kind === 'prompt') {
      const p = await policy.getPromptForStep(run.id, e.seq);
      if (p?.status === 'answered' && (typeof p.answer === 'string' || typeof p.answer === 'number' || typeof p.answer === 'boolean')) {
        (prompts[p.question] ??= []).push(p.answer);
      } else if (p && p.status !== 'pending') (prompts[p.question] ??= []).push({ timeout: true });
    } else if (e.kind === 'playbook') {
      throw new ScenarioError(`run ${run.id} started a child playbook (step ${e.seq}): the authoring kit does not run child playbooks yet`);
    }
  }
  const notes = (await store.listNotes(run.incidentId)).filter((n) => n.runId === run.id).map((n) => n.text);
  const incident = await store.getIncident(run.incidentId);
  const scenario: Fixture['scenario'] = {
    snapshot: run.input as never,
    // ctx.now as the run saw it (the test's clock starts when the run started).
    now: run.startedAt ?? run.createdAt,
    // Changing actions sent without an approval: the automation level was autonomous then.
    ...(changedUnapproved && Object.keys(decisions).length === 0 ? { automation: 'autonomous' as const } : {}),
    ...(requireApproval.size > 0 ? { requireApproval: [...requireApproval] } : {}),
    ...(run.args !== null && run.args !== undefined ? { args: run.args as Record<string, unknown> } : {}),
    ...(Object.keys(actions).length > 0 ? { actions: collapse(actions) } : {}),
    ...(Object.keys(lists).length > 0 ? { lists } : {}),
    ...(related.length > 0 ? { related } : {}),
    ...(Object.keys(decisions).length > 0 ? { approvals: collapse(decisions) } : {}),
    ...(Object.keys(prompts).length > 0 ? { prompts: collapse(prompts) } : {}),
    // A dry run by the run's flag or by the playbook's setting: its destructive steps were recorded.
    ...(run.dryRun || journal.some(isDryRunStep) ? { dryRun: true } : {}),
  };
  return {
    format: FIXTURE_FORMAT,
    playbook: run.playbookId,
    description: `run ${run.id} of ${run.playbookId}@${run.playbookVersion} (${run.status}), recorded ${run.finishedAt ?? run.updatedAt}`,
    recorded: { runId: run.id, playbookVersion: run.playbookVersion, playbookHash: run.playbookHash, origin: run.origin ?? null },
    scenario,
    expect: {
      status: run.status,
      output: run.output,
      actions: journal.filter((e) => e.kind === 'action').map((e) => ({ name: e.name, input: e.input, status: e.status })),
      notes,
      ...(incident ? { incidentStatus: incident.status } : {}),
    },
  };
}

/** What the vendor answered to a step, as the test's stand-in will; null when it was not the vendor. */
function answerOf(e: JournalEntry): ActionAnswer | null {
  if (e.status === 'completed') return e.attempts === 0 ? null : { output: e.output };
  if (!e.error || e.error.name === 'ApprovalDenied' || e.attempts === 0) return null;
  return { fail: { message: e.error.message, ...(e.error.status !== undefined ? { status: e.error.status } : {}) } };
}

const collapse = <T>(a: Record<string, T[]>): Record<string, T | T[]> =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));

/** Whether the step's action changes something at the vendor (from the first-party app's definition). */
function isChanging(e: JournalEntry, catalog: AppCatalog): boolean {
  const def = e.app && e.action ? catalog.action(e.app, e.action) : undefined;
  return def !== undefined && !def.readOnly;
}

/** The differences between what the run did and what was expected, first difference first. */
export function differences(report: RunReport, expect: Expectation): string[] {
  const out: string[] = [];
  const show = (v: unknown) => brief(v, 500);
  if (expect.actions) {
    const n = Math.max(expect.actions.length, report.actions.length);
    for (let i = 0; i < n; i++) {
      const want = expect.actions[i];
      const got = report.actions[i];
      if (!want) out.push(`action ${i + 1}: expected none, the playbook called ${got!.name}(${show(got!.input)})`);
      else if (!got) out.push(`action ${i + 1}: expected ${want.name}(${show(want.input)}), the playbook called nothing more`);
      else if (want.name !== got.name) out.push(`action ${i + 1}: expected ${want.name}(${show(want.input)}), the playbook called ${got.name}(${show(got.input)})`);
      else if (want.input !== undefined && !isDeepStrictEqual(want.input, got.input)) {
        out.push(`action ${i + 1} ${got.name}: expected input ${show(want.input)}, got ${show(got.input)}`);
      } else if (want.status !== undefined && want.status !== got.status) {
        out.push(`action ${i + 1} ${got.name}: expected it ${want.status}, it ${got.status}${got.error ? ` (${got.error.message})` : ''}`);
      }
      if (out.length > 0) break;
    }
  }
  if (expect.notes && !isDeepStrictEqual(expect.notes, report.notes)) {
    const i = expect.notes.findIndex((n, k) => report.notes[k] !== n);
    const at = i === -1 ? expect.notes.length : i;
    out.push(`note ${at + 1}: expected ${show(expect.notes[at] ?? null)}, got ${show(report.notes[at] ?? null)}`);
  }
  if (expect.status !== undefined && expect.status !== report.status) {
    out.push(`status: expected ${expect.status}, the run is ${report.status}${report.error ? ` (${report.error.message})` : ''}`);
  }
  if (expect.output !== undefined && !isDeepStrictEqual(expect.output, report.output)) {
    out.push(`output: expected ${show(expect.output)}, got ${show(report.output)}`);
  }
  if (expect.incidentStatus !== undefined && expect.incidentStatus !== report.incident.status) {
    out.push(`incident status: expected ${expect.incidentStatus}, it is ${report.incident.status}`);
  }
  return out;
}

/** Runs the fixture's playbook against its scenario: the report and its differences from `expect`. */
export async function checkFixture(playbook: TestPlaybook, fixture: unknown): Promise<{ report: RunReport; differences: string[] }> {
  const f = parseFixture(fixture);
  if (f.playbook !== playbook.id) {
    throw new ScenarioError(`the fixture is for playbook ${f.playbook}, not ${playbook.id}`);
  }
  const report = await runPlaybook(playbook, f.scenario);
  return { report, differences: differences(report, f.expect) };
}
