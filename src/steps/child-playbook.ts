/**
 * Child playbook steps (`ctx.playbook(id, input)`): the host side. A prompt is the model — a step
 * that parks its branch of the run, holding no memory, until something outside it happens; here
 * that something is the end of another run.
 *
 * Failure semantics:
 *   - the first time the step is performed, the child run is created and the parent's step is
 *     journaled as waiting on it, in one transaction (`Store.createChildRun`); a crash before that
 *     commit leaves neither, and the replay asks again; after it, every later execution of the
 *     parent finds the child (unique per parent and step) and never creates a second;
 *   - the child's end wakes the parent in the same transaction as the child's final state
 *     (`Store.patchRun`), so a crash cannot leave a parent waiting for a finished child;
 *   - a completed child's output is the step's outcome; a failed or cancelled child fails the step
 *     (`ChildRunFailed` / `ChildRunCancelled`, the child may have acted: `applied: 'unknown'`); a
 *     child that needs attention keeps the parent waiting;
 *   - an unknown or disabled playbook, or a child nested deeper than MAX_CHILD_DEPTH (a playbook
 *     calling its ancestors), fails the step before anything is written.
 * The child inherits its parent's cause (`requestedBy`, so four-eyes carries over), its dry run
 * and its incident snapshot.
 */
import type { Store } from '../store/store.js';
import type { JournalEntry, PlaybookOrigin, RunRecord } from '../store/records.js';
import { newRunId } from '../store/ids.js';
import { TerminalError, toErrorRecord, type ErrorRecord } from '../sdk/errors.js';
import type { StepOutcome, StepRequest } from './protocol.js';
import type { RunScope } from './step-service.js';

/** How deep child runs nest (a root run is at depth 0): beyond it a step fails, naming the chain. */
export const MAX_CHILD_DEPTH = 5;

/** What the host needs to know of an installed playbook to start a run of it. */
export interface PlaybookLookup {
  get(id: string): { config: { version: number; minutesSaved?: number }; hash: string; source?: PlaybookOrigin } | undefined;
}

type ChildRequest = Extract<StepRequest, { kind: 'playbook' }>;

export async function performChildPlaybook(
  store: Store,
  scope: RunScope,
  req: ChildRequest,
  now: () => number,
): Promise<StepOutcome> {
  const parent = scope.run;
  const existing = await store.getChildRun(parent.id, req.seq);
  if (existing) return childOutcome(existing);

  const id = req.input.playbook;
  const installed = scope.playbooks?.get(id);
  if (!installed) return failed(`playbook "${id}" is not installed in this server: it cannot run as a child playbook`);
  const settings = await store.getPlaybookSettings(id);
  if (settings && !settings.enabled) return failed(`playbook "${id}" is disabled: it cannot run as a child playbook`);
  const chain = await ancestry(store, parent);
  if (chain.length > MAX_CHILD_DEPTH) {
    const path = [...chain, id].join(' → ');
    const cycle = chain.includes(id) ? ` (${id} calls its own ancestor: a cycle)` : '';
    return failed(
      `child playbooks nest at most ${MAX_CHILD_DEPTH} deep; this one would be ${chain.length}: ${path}${cycle}`,
    );
  }

  const at = new Date(now()).toISOString();
  const childId = newRunId(now());
  const step: JournalEntry = {
    runId: parent.id, seq: req.seq, kind: 'playbook', name: req.name, asset: null, app: null, action: null,
    status: 'waiting', input: req.input, output: null, error: null, attempts: 0, startedAt: at, finishedAt: null,
    wakeAt: null, detail: waitingDetail(childId, id, null), resolution: null,
  };
  const { run } = await store.createChildRun(
    {
      id: childId, playbookId: id, playbookVersion: installed.config.version, playbookHash: installed.hash,
      origin: installed.source ?? null,
      ...(installed.config.minutesSaved !== undefined ? { minutesSaved: installed.config.minutesSaved } : {}),
      args: req.input.args, dryRun: parent.dryRun || scope.playbookDryRun,
      ...(parent.requestedBy !== null ? { requestedBy: parent.requestedBy } : {}),
      alsoCausedBy: parent.alsoCausedBy,
      parentRunId: parent.id, parentSeq: req.seq, incidentId: parent.incidentId, input: parent.input,
    },
    step,
    `run:${parent.id}`,
  );
  scope.wake?.();
  return childOutcome(run);
}

/** What the step is, given its child run as it is now. */
function childOutcome(child: RunRecord): StepOutcome {
  const what = `child run ${child.id} (playbook ${child.playbookId})`;
  switch (child.status) {
    case 'completed':
      return { status: 'completed', output: child.output, detail: `${what} completed` };
    case 'failed': {
      const why = child.error ? `${child.error.name}: ${child.error.message}` : 'no error recorded';
      return { ...failed(`${what} failed: ${why}`, 'ChildRunFailed', 'unknown'), detail: `${what} failed` };
    }
    case 'cancelled':
      return { ...failed(`${what} was cancelled`, 'ChildRunCancelled', 'unknown'), detail: `${what} was cancelled` };
    default:
      return {
        status: 'waiting',
        on: { kind: 'run', id: child.id },
        wakeAt: null,
        detail: waitingDetail(
          child.id,
          child.playbookId,
          child.status === 'needs_attention' ? child.attentionReason : null,
        ),
      };
  }
}

/** The parked step's journal detail: which child it waits on, and why that child is stuck if it is. */
function waitingDetail(childId: string, playbook: string, attention: string | null): string {
  const stuck = attention !== null ? `, which needs attention (${attention})` : '';
  return `waits for child run ${childId} of playbook ${playbook}${stuck} (riposte runs show ${childId})`;
}

/** The playbooks of the run's ancestors and its own, root first (stops at a chain longer than the limit). */
async function ancestry(store: Store, run: RunRecord): Promise<string[]> {
  const chain = [run.playbookId];
  let parentId = run.parentRunId;
  while (parentId !== null && chain.length <= MAX_CHILD_DEPTH) {
    const parent = await store.getRun(parentId);
    if (!parent) break;
    chain.unshift(parent.playbookId);
    parentId = parent.parentRunId;
  }
  return chain;
}

function failed(
  message: string,
  name?: string,
  applied: 'no' | 'unknown' = 'no',
): { status: 'failed'; error: ErrorRecord } {
  const error = toErrorRecord(new TerminalError(message, { applied }));
  if (name !== undefined) error.name = name;
  return { status: 'failed', error };
}
