/**
 * What a run's replayer (the engine side that executes playbook code) and its host (the step
 * service, the journal writer) say to each other. Every message is plain data — no functions,
 * classes or promises inside — so the replayer can move into a sandboxed runner process and keep
 * this protocol unchanged (docs/architecture.md, "The step protocol").
 *
 * The replayer decides *which* step is asked for, in which order outcomes reach the playbook, and
 * what the journal says about it; the host decides *whether and how* an effect happens (policy
 * gate, dry run, intent, send, retries, reconcile, park) and keeps every write of the run in order.
 */
import type { ErrorRecord } from '../sdk/errors.js';
import type { PromptSpec } from '../sdk/playbook.js';
import type { WaitOn } from '../common/wait-on.js';
import type { JournalEntry } from '../store/records.js';
import type { JournalPatch, RunEffect } from '../store/store.js';

export type { WaitOn };

/** Where an action goes: a role of the playbook (bound to an asset by configuration), or a named asset of an app. */
export type ActionTarget = { role: string; capability: string } | { asset: string; appId: string };

/** A step the replayer needs performed now (it has no recorded outcome for it). */
export type StepRequest =
  | {
      kind: 'action';
      seq: number;
      name: string;
      target: ActionTarget;
      action: string;
      input: unknown;
      /**
       * The intent a previous execution recorded without an outcome (the process stopped, or the
       * vendor's answer was lost): the outcome is unknown, so the host reconciles and never re-sends
       * a non-idempotent action blindly.
       */
      intent?: { startedAt: string; attempts: number; asset: string | null };
    }
  | { kind: 'list'; seq: number; name: 'lists.contains'; input: { list: string; value: string } }
  /**
   * A change to a custom list (`ctx.lists.add` / `remove`): the host passes the policy gate, then
   * makes the change and journals its outcome in one transaction (the outcome says `journaled`).
   */
  | { kind: 'list-change'; seq: number; name: ListChangeName; input: { list: string; value: string } }
  | {
      kind: 'related';
      seq: number;
      name: 'related';
      input: { label: string; match: Array<{ field: string; value: string }>; since: string; until: string };
    }
  | { kind: 'prompt'; seq: number; name: 'prompt'; input: PromptSpec }
  /**
   * A child playbook (`ctx.playbook`): the host creates the child run once (its parent's step
   * journaled with it), then reports it waiting on the child until the child ends; the child's
   * output is the outcome, a failed or cancelled child fails the step.
   */
  | { kind: 'playbook'; seq: number; name: string; input: ChildPlaybookInput };

/** The journal names of list changes (their kind is `list-change`). */
export type ListChangeName = 'lists.add' | 'lists.remove';

/** What a child playbook step asks for, as journaled: the playbook and its args (a JSON object). */
export interface ChildPlaybookInput {
  playbook: string;
  args: Record<string, unknown>;
}

/** What became of a step request. */
export type StepOutcome =
  | {
      status: 'completed';
      output: unknown;
      detail?: string | null;
      attempts?: number;
      asset?: string;
      app?: string;
      /** A destructive step recorded, not executed (dry run): the run earns no minutes saved. */
      dryRun?: boolean;
      /** The host journaled an intent for the step: its outcome updates that entry. */
      journaled?: boolean;
      /** Input fields the action declares sensitive: journaled as a marker (common/sensitive.ts). */
      sensitive?: readonly string[];
    }
  | {
      status: 'failed';
      error: ErrorRecord;
      detail?: string | null;
      attempts?: number;
      asset?: string;
      app?: string;
      journaled?: boolean;
      sensitive?: readonly string[];
    }
  /** The step is parked: this branch of the playbook waits (durably, holding no memory). */
  | {
      status: 'waiting';
      on: WaitOn;
      wakeAt: number | null;
      detail: string;
      asset?: string;
      app?: string;
      /** The step holds an intent whose outcome is unknown (a re-send waits): its entry stays as it is. */
      journaled?: boolean;
      sensitive?: readonly string[];
    }
  /** The run cannot go on without a human (unknown outcome, tampered approval, failed write). */
  | { status: 'attention'; reason: string };

/**
 * The host side of one run, as the replayer sees it. Writes are queued, not awaited: they commit
 * in the order they were made, and `settle` waits for all of them.
 */
export interface RunHost {
  /** Performs a step that has no recorded outcome. Never rejects: failures are outcomes. */
  perform(req: StepRequest): Promise<StepOutcome>;
  /** Queues a journal write: a new entry, or the new state of the entry at its position. */
  record(entry: JournalEntry): void;
  /** Queues an update of the entry at `seq` (it exists): only the columns the patch names. */
  update(seq: number, patch: JournalPatch): void;
  /** Queues a journal entry together with the change it makes to the run's incident (one transaction). */
  recordWithEffect(entry: JournalEntry, effect: RunEffect): void;
  /** Resolves once every write queued for this run committed; rejects when one failed. */
  settle(): Promise<void>;
  /**
   * The run ended while these steps were parked (a branch that lost a race): withdraw what they
   * wait on (pending approvals, prompts) and journal them as abandoned.
   */
  abandon(seqs: number[]): Promise<void>;
}
