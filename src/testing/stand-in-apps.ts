/**
 * Stand-ins for the apps behind a playbook's roles in a hermetic test: each is a first-party app's
 * definition (its actions' kind, read-only and idempotent flags, input and output schemas — so the
 * policy gate, dry run and the broker's checks behave as in production) whose handlers answer from
 * the test's scenario instead of calling the vendor. Nothing here opens a socket.
 *
 * An answer that does not fit the action's output schema fails the step as a real vendor's
 * malformed answer would (the broker checks it); a call the scenario has no answer for is
 * remembered as the test's mistake and reported by the runner, naming the call.
 */
import { z } from 'zod';
import type { AnyActionDefinition, AppDefinition } from '../sdk/app.js';
import { RetryableError, TerminalError } from '../sdk/errors.js';
import { firstPartyApps } from '../apps/catalog.js';
import { capabilities, type CapabilityName } from '../sdk/capabilities.js';
import type { ActionAnswer } from './scenario.js';
import { ScenarioError } from './scenario.js';
import { brief } from './brief.js';

/** A call a stand-in answered (or could not). */
export interface StandInCall {
  name: string;
  input: unknown;
}

/** Answers calls by step name, in order; remembers what the scenario did not foresee. */
export class Answers {
  private readonly used = new Map<string, number>();
  readonly unforeseen: string[] = [];

  constructor(private readonly byName: Record<string, ActionAnswer | ActionAnswer[]>) {}

  next(name: string, input: unknown): ActionAnswer | null {
    const given = Object.hasOwn(this.byName, name) ? this.byName[name] : undefined;
    const n = this.used.get(name) ?? 0;
    this.used.set(name, n + 1);
    if (given === undefined) {
      this.unforeseen.push(`the playbook called ${name}(${brief(input, 200)}), and the test gives no answer for ${name}`);
      return null;
    }
    if (!Array.isArray(given)) return given;
    if (n < given.length) return given[n]!;
    this.unforeseen.push(
      `the playbook called ${name}(${brief(input, 200)}) a ${ordinal(n + 1)} time; the test answers it ${given.length} time(s)`,
    );
    return null;
  }
}

const ordinal = (n: number): string => `${n}${n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`;

/** The first-party app a role's capability runs on in the test. */
export function appFor(role: string, capability: string, chosen: string | undefined): AppDefinition {
  if (chosen !== undefined) {
    const app = firstPartyApps.find((a) => a.id === chosen);
    if (!app) throw new ScenarioError(`apps.${role}: there is no first-party app "${chosen}"`);
    if (!(app.implements ?? []).includes(capability)) {
      throw new ScenarioError(`apps.${role}: app ${chosen} does not implement the ${capability} capability`);
    }
    return app;
  }
  const app = firstPartyApps.find((a) => (a.implements ?? []).includes(capability));
  if (!app) throw new ScenarioError(`role ${role}: no first-party app implements the ${capability} capability`);
  return app;
}

/**
 * The stand-in of `app`: the actions of the capabilities it implements, with the app's flags (kind,
 * read-only, idempotent: what the policy reads) and the capability's schemas (the contract a
 * playbook's role sees, whatever app is bound), answering from `answers`. Its assets are named by role.
 */
export function standIn(app: AppDefinition, answers: Answers): AppDefinition {
  const actions: Record<string, AnyActionDefinition> = {};
  for (const cap of app.implements ?? []) {
    const contract = Object.hasOwn(capabilities, cap) ? capabilities[cap as CapabilityName] as Record<string, { input: z.ZodType; output: z.ZodType }> : {};
    for (const [action, schemas] of Object.entries(contract)) {
      const def = app.actions[action];
      if (!def) continue;
      const { reconcile: _vendorOnly, undo: _undo, ...flags } = def;
      actions[action] = {
        ...flags,
        input: schemas.input,
        output: schemas.output,
        maxAttempts: Math.min(def.maxAttempts ?? 3, 2),
        handler: async (input: unknown, ctx: { config: { role: string } }) => {
          const answer = answers.next(`${ctx.config.role}.${action}`, input);
          if (answer === null) throw new TerminalError('the test gives no answer for this call');
          if ('output' in answer) return answer.output;
          const opts = answer.fail.status === undefined ? {} : { status: answer.fail.status };
          throw answer.fail.retryable
            ? new RetryableError(answer.fail.message, opts)
            : new TerminalError(answer.fail.message, opts);
        },
      };
    }
  }
  return { ...app, config: z.object({ role: z.string() }), secrets: [], actions, testConnectivity: undefined };
}
