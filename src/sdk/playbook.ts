/**
 * Playbook SDK: a playbook is an async function over a durable context. Every effect goes
 * through `ctx` and is journaled, so a run can be replayed after a crash: completed steps return
 * their recorded results instead of running again. Playbook code must therefore be deterministic
 * apart from `ctx`: take time from `ctx.now()`, randomness from `ctx.random()`, and never touch
 * the network, files or environment directly.
 */
import type { z } from 'zod';
import type { AppDefinition, AnyActionDefinition } from './app.js';
import type { CapabilityClient, CapabilityName } from './capabilities.js';

import type { AutomationLevel, IncidentStatus, Severity } from '../common/domain.js';

export type { AutomationLevel, IncidentStatus, Severity };

export interface ArtifactView {
  readonly id: number;
  readonly name: string;
  readonly label?: string;
  readonly cef: Readonly<Record<string, string>>;
  /** CEF field → "contains" types, e.g. `{ destinationAddress: ['ip'] }`. */
  readonly contains: Readonly<Record<string, readonly string[]>>;
  /**
   * Typed fields whose value failed validation at ingestion (the source stores them as untrusted
   * text instead of refusing the alert): not in `cef` or `contains`, so `cefValue` never returns
   * them. Here for notes and tickets only — never pass `value` to an action as its type.
   */
  readonly untrusted?: Readonly<Record<string, UntrustedValue>>;
}

export interface UntrustedValue {
  /** The raw value as the alert carried it (text from outside: quote it, never act on it). */
  readonly value: string;
  /** Why it failed, e.g. `not an IP address (type ip)`. */
  readonly reason: string;
  /** The contains types it claimed. */
  readonly types: readonly string[];
}

/** The incident as it was when the run started (a snapshot, so replays see the same data). */
export interface IncidentView {
  readonly id: number;
  readonly name: string;
  readonly label: string;
  readonly severity: Severity;
  readonly status: IncidentStatus;
  readonly sourceId: string | null;
  readonly createdAt: string;
  readonly artifacts: readonly ArtifactView[];
}

/** First value of a CEF field across the incident's artifacts. */
export function cefValue(incident: IncidentView, field: string): string | undefined {
  for (const a of incident.artifacts) {
    const v = a.cef[field];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** The first untrusted value of a CEF field across the incident's artifacts (see ArtifactView.untrusted). */
export function untrustedValue(incident: IncidentView, field: string): UntrustedValue | undefined {
  for (const a of incident.artifacts) {
    const u = a.untrusted !== undefined && Object.hasOwn(a.untrusted, field) ? a.untrusted[field] : undefined;
    if (u !== undefined) return u;
  }
  return undefined;
}

/** Typed client of one configured asset: one method per action of the app. */
export type AssetClient<A extends AppDefinition> = {
  [K in keyof A['actions']]: A['actions'][K] extends AnyActionDefinition
    ? (input: z.input<A['actions'][K]['input']>) => Promise<z.output<A['actions'][K]['output']>>
    : never;
};

export interface RelatedQuery {
  /** Only incidents with this label (default: the current incident's label). */
  label?: string;
  /** Match incidents having an artifact whose CEF field equals the value; several = any of them. */
  match: Array<{ field: string; value: string }>;
  /** Look back this far from the current incident's creation time. */
  withinMs: number;
}

export interface RelatedResult {
  count: number;
  incidentIds: number[];
}

interface PromptBase {
  question: string;
  /** Who should answer: a named user or anyone with a role. */
  to: { user: string } | { role: string };
  /** After this long without an answer the default answer is taken (`timedOut: true`). */
  timeoutMs: number;
  /** Unanswered after `afterMs`: reassign to a second role (audited, notified). */
  escalate?: { afterMs: number; toRole: string };
  /**
   * The answer decides a destructive action (e.g. "wipe the device?"): whoever caused the run (and
   * anyone else four-eyes excludes from approving its actions) may not answer it, admins included.
   */
  gatesContainment?: boolean;
}

export type PromptSpec = PromptBase & (
  | { type: 'choice'; options: string[]; default: string }
  | { type: 'yesno'; default: boolean }
  | { type: 'text'; default: string }
  | { type: 'number'; default: number }
);

export type PromptAnswerOf<S> = S extends { type: 'yesno' } ? boolean : S extends { type: 'number' } ? number : string;

export interface PromptResult<A> {
  answer: A;
  /** User who answered, or null when the default was taken. */
  answeredBy: string | null;
  timedOut: boolean;
}

/**
 * The durable context of a run. Every method is an effect journaled at the run's next position;
 * on replay (after a park on a timer, an approval, a prompt, or a crash) a recorded effect returns
 * its recorded result and is not performed again, and outcomes reach the code in the order they
 * were first handed to it — so branches of `Promise.all` / `Promise.race` replay exactly.
 *
 * When can an effect run twice? A read-only lookup (an investigate action, `lists.contains`,
 * `related`) whose outcome was not yet recorded when the process died is asked again. A changing
 * action is sent only after its intent is committed; if the process dies before its outcome is
 * recorded, an idempotent action is sent again, a non-idempotent one is reconciled with the vendor
 * (or the run is parked for an operator) — never re-sent blindly. Notes and status changes are
 * recorded with their change in one transaction: exactly once, and so are list changes
 * (`lists.add` / `lists.remove`).
 */
export interface PlaybookContext<R extends Record<string, CapabilityName> = Record<string, CapabilityName>> {
  readonly runId: string;
  readonly incident: IncidentView;
  /** Clients for the capability roles the playbook declares, bound to assets by configuration. */
  readonly roles: { readonly [K in keyof R]: CapabilityClient<R[K]> };
  /** Client of a named asset of a specific app. */
  asset<A extends AppDefinition>(app: A, assetName: string): AssetClient<A>;
  readonly lists: {
    /** True when the value is in the custom list (IP lists also match CIDR entries). */
    contains(list: string, value: string): Promise<boolean>;
    /**
     * Adds `value` to the custom list (which must exist: playbooks change items, operators create
     * lists with `riposte lists create`). `{ added: false }` when it was already there — not an
     * error. The change is audited (`list.add`, actor `run:<id>`, with the playbook and step).
     *
     * Failure semantics: the change and the step's outcome are recorded in one transaction, so it
     * happens exactly once — a replay hands back the recorded outcome, and a crash before the
     * commit leaves neither (the replay makes the change then). It passes the policy gate like a
     * changing action of kind `generic`: the kill switch holds it, the `manual` automation level
     * asks for an approval, and in a dry run the list is left alone and the outcome is
     * `{ added: false, dryRun: true }` (the run's timeline says what would have changed). A list
     * that does not exist rejects with an `ActionFailedError` (`record.name` `ListNotFound`); a
     * list name or value the API would refuse (not a string, whitespace around it, a malformed
     * CIDR, longer than 1024 characters) rejects with a TypeError before anything is journaled.
     */
    add(list: string, value: string): Promise<{ added: boolean; dryRun?: true }>;
    /** Removes `value` from the custom list; `{ removed: false }` when it was not there. As `add` otherwise. */
    remove(list: string, value: string): Promise<{ removed: boolean; dryRun?: true }>;
  };
  /** Incidents related to this one (same user, device, …) within a time window. */
  related(query: RelatedQuery): Promise<RelatedResult>;
  note(text: string): Promise<void>;
  setStatus(status: IncidentStatus): Promise<void>;
  setSeverity(severity: Severity): Promise<void>;
  /**
   * Ask a person and wait (durably, holding no memory) for the typed answer, the timeout's default,
   * or — unanswered after `escalate.afterMs` — reassign the question to a second role first.
   */
  prompt<S extends PromptSpec>(spec: S): Promise<PromptResult<PromptAnswerOf<S>>>;
  /**
   * Run another playbook as a child of this run and wait (durably, holding no memory) for its
   * result: the child's return value. The child is a run of its own, on this run's incident (the
   * same incident snapshot), with `input` as its `args` (a JSON object, at most 64 KiB), this
   * run's cause (`requestedBy`: whoever caused this run cannot approve the child's destructive
   * actions either) and this run's dry run. `riposte runs show` links parent and children.
   *
   * Failure semantics: the child is created exactly once — together with this step's journal
   * entry, in one transaction — so neither a replay nor a crash starts it twice; after a restart
   * this run goes on waiting for the same child. A child that fails or is cancelled rejects with
   * an `ActionFailedError` (`record.name` `ChildRunFailed` / `ChildRunCancelled`, `applied:
   * 'unknown'`: it may have acted before failing), which the playbook can catch; a child that
   * needs attention keeps this run waiting until an operator resolves it and it ends. An unknown
   * or disabled playbook id, or child playbooks nested more than 5 deep (a playbook calling its
   * own ancestors), reject with an `ActionFailedError` too, and no child is created; an id that
   * is not kebab-case or an input that is not a JSON object of at most 64 KiB rejects with a
   * TypeError before anything is journaled. If this run ends while the step still waits (a lost
   * `Promise.race`), the child is not cancelled: it runs to its end on its own.
   */
  playbook(id: string, input?: Record<string, unknown>): Promise<unknown>;
  /** Durable sleep: the run holds no memory or process while it waits, and survives restarts. */
  sleep(ms: number): Promise<void>;
  /** Deterministic time: the same value on every replay of this point of the run. */
  now(): Date;
  /** Deterministic randomness in [0, 1). */
  random(): number;
  /**
   * Versioning for a playbook changed while runs are in flight. Returns true when this run takes
   * the new code path — it reached this point after the change — and false when a run that started
   * on the old code already went past this point the old way, so its replay must too:
   *
   *     if (ctx.patched('notify-owner')) await ctx.roles.chat.sendMessage({ … });   // new step
   *
   * A run that takes the patched path records a marker here (a journal entry). Once no run that
   * predates the patch is left, the old branch can go: replace the call with
   * `ctx.deprecatePatch('notify-owner')` (runs that recorded the marker still replay), and after
   * those too have finished, remove it. Synchronous, and deterministic on replay.
   */
  patched(id: string): boolean;
  /** The successor of `patched(id)` once the old code path is gone: accepts the marker runs recorded, records none. */
  deprecatePatch(id: string): void;
}

export interface PlaybookConfig<R extends Record<string, CapabilityName>> {
  id: string;
  version: number;
  description?: string;
  triggers: {
    /** An incident with one of these labels starts a run… */
    labels: string[];
    /**
     * …if this condition holds for it too (evaluated when the alert is ingested), e.g.
     * `severity >= "high" && artifact.destinationAddress in list("unauthorized-ips")`.
     * The grammar is in README.md (Playbooks: trigger conditions); a playbook whose condition
     * does not parse is refused when it is loaded. An operator's condition
     * (`riposte playbooks trigger <id> --when …`) replaces this one.
     */
    when?: string;
  };
  /** Default automation level; operators can change it at run time. */
  automation?: AutomationLevel;
  /**
   * Analyst minutes one run saves when it did the analyst's work (the ROI figures). A run earns
   * them only when it completed and was not a dry run; a run that could not do its work returns
   * an object with `minutesSaved: 0` (or another number) to say so.
   */
  minutesSaved?: number;
  /** Capability roles the playbook uses; configuration binds each to an asset. */
  roles: R;
}

export type PlaybookFunction<R extends Record<string, CapabilityName>> = (
  ctx: PlaybookContext<R>,
  incident: IncidentView,
  /** Parameters of a run started by hand; undefined for alert-triggered runs. */
  args?: unknown,
) => Promise<unknown>;

export interface PlaybookDefinition<R extends Record<string, CapabilityName> = Record<string, CapabilityName>>
  extends PlaybookConfig<R> {
  // Method syntax on purpose: a playbook with specific roles is then a PlaybookDefinition of any
  // roles (the engine hands it a context built from its own `roles`), without a cast.
  run(ctx: PlaybookContext<R>, incident: IncidentView, args?: unknown): Promise<unknown>;
}

export function definePlaybook<const R extends Record<string, CapabilityName>>(
  config: PlaybookConfig<R>,
  run: PlaybookFunction<R>,
): PlaybookDefinition<R> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(config.id)) throw new Error(`playbook id "${config.id}" must be kebab-case`);
  if (!Number.isInteger(config.version) || config.version < 1) throw new Error(`playbook ${config.id}: version must be a positive integer`);
  return { ...config, run };
}
