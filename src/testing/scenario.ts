/**
 * What a hermetic playbook test says about the world the playbook runs in: the incident, what each
 * action answers, the custom lists, who approves, what the analyst answers to a prompt. It is data
 * (JSON in a declarative test or a fixture), checked here with messages naming the bad part.
 */
import { z } from 'zod';
import { AUTOMATION_LEVELS, SEVERITIES } from '../common/domain.js';
import { issuesText } from '../common/issues.js';

/** What one call of an action answers: its output, or a failure the vendor reported. */
export const ActionAnswer = z.union([
  z.strictObject({ output: z.unknown() }),
  z.strictObject({
    fail: z.strictObject({
      message: z.string().min(1),
      /** Like a vendor's 5xx or a timeout: retried by the broker, then the step fails. Default false. */
      retryable: z.boolean().optional(),
      status: z.number().int().min(100).max(599).optional(),
    }),
  }),
]);
export type ActionAnswer = z.infer<typeof ActionAnswer>;

/** `expire`: nobody decides, and the request expires (the test's clock passes its expiry). */
const Decision = z.enum(['approve', 'deny', 'pending', 'expire']);
/** One decision for every request of a step name, or one per request in the order they come. */
const Decisions = z.union([Decision, z.array(Decision).min(1)]);
const PromptAnswer = z.union([z.string(), z.number(), z.boolean(), z.strictObject({ timeout: z.literal(true) })]);
export type Decision = z.infer<typeof Decision>;

const cef = z.record(z.string(), z.string());
const STEP_NAME = /^[A-Za-z_][\w-]*\.[a-z][A-Za-z0-9]*$/;

export const Scenario = z.strictObject({
  incident: z.strictObject({
    name: z.string().min(1).max(500).optional(),
    label: z.string().min(1).max(128).optional(),
    severity: z.enum(SEVERITIES).optional(),
    description: z.string().max(10_000).optional(),
    sourceId: z.string().max(500).optional(),
    artifacts: z.array(z.strictObject({ name: z.string().min(1).optional(), cef })).max(1000).optional(),
  }).optional(),
  /** The run's parameters (a manual start's `args`). */
  args: z.record(z.string(), z.unknown()).optional(),
  /**
   * Answers by step name (`<role>.<action>`, e.g. `mdm.findDevice`): one answer for every call, or
   * a list answered in order (a call past its end fails the test, naming it).
   */
  actions: z.record(z.string(), z.union([ActionAnswer, z.array(ActionAnswer).min(1)])).optional().superRefine((a, ctx) => {
    for (const key of Object.keys(a ?? {})) {
      if (!STEP_NAME.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'must be <role>.<action>, e.g. mdm.findDevice' });
    }
  }),
  /**
   * The incident exactly as the playbook saw it in a recorded run (ids and times included); the
   * incident under test is made from it. Exported fixtures carry it; written tests use `incident`.
   */
  snapshot: z.looseObject({
    id: z.number().int().min(1),
    name: z.string(), label: z.string().min(1), severity: z.enum(SEVERITIES), status: z.string(),
    sourceId: z.string().nullable(), createdAt: z.string(),
    artifacts: z.array(z.looseObject({ name: z.string(), cef })),
  }).optional(),
  /** Answers of `ctx.related`, in order (instead of counting `history`): a recorded run's. */
  related: z.array(z.strictObject({ count: z.number().int().min(0), incidentIds: z.array(z.number().int()) })).optional(),
  /** Custom lists and their items. */
  lists: z.record(z.string().min(1), z.array(z.string())).optional(),
  /** Earlier incidents, for `ctx.related`: created just before the incident under test. */
  history: z.array(z.strictObject({
    label: z.string().min(1).max(128),
    artifacts: z.array(z.strictObject({ name: z.string().min(1).optional(), cef })).min(1),
  })).max(1000).optional(),
  /**
   * Approvals the policy asks for: one decision for all, or by step name (a decision, or a list of
   * them for successive requests of that step name). Default: approve.
   */
  approvals: z.union([Decision, z.record(z.string(), Decisions)]).optional(),
  /** Roles whose asset requires approval for every changing action (asset policy). */
  requireApproval: z.array(z.string()).optional(),
  /**
   * Answers to `ctx.prompt`, by question (an answer, `{ "timeout": true }` to let it time out, or a
   * list for successive prompts with that question); a prompt not listed stays unanswered.
   */
  prompts: z.record(z.string(), z.union([PromptAnswer, z.array(PromptAnswer).min(1)])).optional(),
  /** When the run starts (ISO 8601; default: now): what `ctx.now` says, on the test's own clock. */
  now: z.iso.datetime({ offset: true }).optional(),
  /** The playbook's automation level as an operator set it (default: the playbook's own). */
  automation: z.enum(AUTOMATION_LEVELS).optional(),
  /** The run is a dry run: destructive actions are recorded, not performed. */
  dryRun: z.boolean().optional(),
  /** Which first-party app stands behind a role (default: the first that implements its capability). */
  apps: z.record(z.string(), z.string()).optional(),
});
export type Scenario = z.input<typeof Scenario>;
export type CheckedScenario = z.output<typeof Scenario>;

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** The scenario, checked: a ScenarioError naming every bad part. */
export function checkScenario(raw: unknown, what = 'scenario'): CheckedScenario {
  const parsed = Scenario.safeParse(raw ?? {});
  if (parsed.success) {
    if (parsed.data.snapshot && parsed.data.incident) {
      throw new ScenarioError(`the ${what} is not valid: give the incident as \`incident\` or as a recorded \`snapshot\`, not both`);
    }
    if (parsed.data.related && parsed.data.history) {
      throw new ScenarioError(`the ${what} is not valid: give \`ctx.related\`'s answers as \`related\` or \`history\`, not both`);
    }
    return parsed.data;
  }
  const why = issuesText(parsed.error.issues, '(top)');
  throw new ScenarioError(`the ${what} is not valid: ${why}`);
}
