/**
 * App SDK: an app is one object declaring the vendor product it talks to, the configuration an
 * asset of it needs (with secret fields named), and its actions. Each action declares what it
 * does to the world (kind, read-only, idempotent), schemas for its input and output, and a
 * handler whose parameter and return types are inferred from those schemas.
 */
import { z } from 'zod';
import { capabilityProblems } from './capabilities.js';

export type ActionKind = 'investigate' | 'contain' | 'correct' | 'generic';

/** What a handler receives besides its input. Credentials arrive only here, via `config`. */
export interface ActionContext<C> {
  /** The asset's configuration with secrets decrypted. Never log it. */
  readonly config: C;
  /** Stable across retries and replays of the same step: `${runId}:${step}`. */
  readonly idempotencyKey: string;
  /** Aborted when the per-action timeout fires. Pass it to every request. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** Structured log line attached to the action result (do not pass secrets). */
  log(message: string, data?: Record<string, unknown>): void;
}

export interface ReconcileContext<C> extends ActionContext<C> {
  /** When the engine durably recorded its intent to run this action (before it was sent). */
  readonly intentAt: Date;
}

/**
 * Answer of `reconcile`: did the vendor apply an action whose outcome the engine does not know
 * (the process died after sending it, or the reply was lost)?
 */
export type ReconcileOutcome<O> =
  | { applied: true; output: O }
  | { applied: false }
  | { applied: 'unknown'; reason: string };

export interface ActionDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType, C = any> {
  description: string;
  kind: ActionKind;
  /** True when the action changes nothing at the vendor. */
  readOnly: boolean;
  /**
   * Optional: whether the action is read-only for an asset with this configuration, for generic
   * apps whose effect depends on the asset (the HTTP app: a POST to a search API changes nothing).
   * When present, the engine uses its answer instead of `readOnly` for that asset's steps (a
   * read-only answer makes the action idempotent too); `readOnly` stays the default the catalog
   * shows. Called on every step: keep it a pure function of `config`.
   */
  readOnlyFor?(config: C): boolean;
  /** True when sending it twice has the same effect as sending it once. */
  idempotent: boolean;
  /**
   * True when the action carries data out to people or systems the caller chooses (e-mail, chat,
   * a search or event in the SIEM, an arbitrary HTTP request), whether or not it is read-only. A
   * person running it ad hoc needs the permission `adhoc.run-egress`; playbooks are reviewed code
   * and may use it freely.
   */
  egress?: boolean;
  input: I;
  /**
   * Top-level fields of `input` whose values are secrets the action needs (a new password, say):
   * the handler receives them; the journal, approvals, audit, action results, logs, API and CLI
   * show a marker instead. A step with one is re-executed only by playbook code that supplies the
   * value again (the journal has none): see docs/playbooks.md, "Sensitive inputs".
   */
  sensitiveInput?: readonly string[];
  output: O;
  /** Per-attempt timeout; default 30 s. */
  timeoutMs?: number;
  /** Retries for retryable errors; default 3. */
  maxAttempts?: number;
  /** Name of the action in the same app that undoes this one (e.g. blockIp → unblockIp). */
  undo?: string;
  handler(input: z.output<I>, ctx: ActionContext<C>): Promise<z.input<O>>;
  /**
   * For non-idempotent actions: ask the vendor whether an attempt whose outcome is unknown took
   * effect. Without it the engine parks the run as "needs attention" instead of re-sending.
   */
  reconcile?(input: z.output<I>, ctx: ReconcileContext<C>): Promise<ReconcileOutcome<z.input<O>>>;
}

export type AnyActionDefinition = ActionDefinition<z.ZodType, z.ZodType, any>;

export interface AppMeta<C extends z.ZodObject> {
  id: string;
  name: string;
  vendor: string;
  product: string;
  version: string;
  description?: string;
  /** Schema of an asset's configuration. */
  config: C;
  /** Keys of `config` that are secrets: stored encrypted, never logged, never returned. */
  secrets: ReadonlyArray<keyof z.output<C> & string>;
  /** Capabilities (see `capabilities.ts`) whose standard actions this app implements. */
  implements?: ReadonlyArray<string>;
}

export interface AppDefinition<C extends z.ZodObject = z.ZodObject, A extends Record<string, AnyActionDefinition> = Record<string, AnyActionDefinition>>
  extends AppMeta<C> {
  actions: A;
  /** Optional probe used by `riposte assets test`. */
  testConnectivity?(ctx: ActionContext<z.output<C>>): Promise<{ ok: true; detail?: string }>;
}

/** Builder handed to `defineApp`'s `actions` callback: types each action's handler. */
export type ActionBuilder<C> = <I extends z.ZodType, O extends z.ZodType>(
  def: ActionDefinition<I, O, C>,
) => ActionDefinition<I, O, C>;

export function defineApp<C extends z.ZodObject, A extends Record<string, AnyActionDefinition>>(
  def: AppMeta<C> & {
    actions: (action: ActionBuilder<z.output<C>>) => A;
    testConnectivity?: (ctx: ActionContext<z.output<C>>) => Promise<{ ok: true; detail?: string }>;
  },
): AppDefinition<C, A> {
  const actions = def.actions((a) => a);
  for (const [name, a] of Object.entries(actions)) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new Error(`app ${def.id}: action name "${name}" must be camelCase`);
    if (a.readOnly && !a.idempotent) throw new Error(`app ${def.id}: read-only action ${name} must be idempotent`);
    for (const f of a.sensitiveInput ?? []) {
      if (!(a.input instanceof z.ZodObject) || !Object.hasOwn(a.input.shape, f)) {
        throw new Error(`app ${def.id}: ${name}.sensitiveInput names "${f}", which is not a field of its input object`);
      }
    }
    if (a.undo !== undefined && !(a.undo in actions)) throw new Error(`app ${def.id}: ${name}.undo names unknown action ${a.undo}`);
  }
  for (const cap of def.implements ?? []) {
    const problems = capabilityProblems(cap, actions);
    if (problems.length > 0) throw new Error(`app ${def.id}: ${problems.join('; ')}`);
  }
  for (const s of def.secrets) {
    if (!(s in def.config.shape)) throw new Error(`app ${def.id}: secret "${s}" is not a config field`);
  }
  return { ...def, actions } as AppDefinition<C, A>;
}

/**
 * The action `name` of `app` as it applies to an asset with `config`: the definition itself, or
 * a copy whose `readOnly` (and `idempotent`) follow the action's `readOnlyFor`. Every place that
 * decides whether a step is gated, journaled as an intent or audited must take the definition
 * from here, never from `app.actions` directly.
 */
export function actionForAsset(
  app: AppDefinition, name: string, config: unknown,
): AnyActionDefinition | undefined {
  const def = Object.hasOwn(app.actions, name) ? app.actions[name] : undefined;
  if (def?.readOnlyFor === undefined) return def;
  const readOnly = def.readOnlyFor(config) === true;
  return readOnly === def.readOnly ? def : { ...def, readOnly, idempotent: def.idempotent || readOnly };
}

/** Input type of an action as a playbook passes it. */
export type ActionInput<D> = D extends ActionDefinition<infer I, any, any> ? z.input<I> : never;
/** Output type of an action as a playbook receives it. */
export type ActionOutput<D> = D extends ActionDefinition<any, infer O, any> ? z.output<O> : never;
