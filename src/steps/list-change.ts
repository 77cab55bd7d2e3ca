/**
 * A playbook's change to a custom list (`ctx.lists.add` / `ctx.lists.remove`): one step of its run.
 *
 * Failure semantics: the change, its audit entry and the step's journal entry with its outcome are
 * one transaction (`Store.applyRunListChange`). A crash before it commits leaves nothing: the
 * replay asks for the step again and the change is made then, once. After it, the replay hands
 * back the recorded outcome and nothing is changed again (an entry whose outcome was recorded but
 * not yet handed to the playbook is handed over live, in its turn). Adding an item that is already
 * in the list, or removing one that is not, changes nothing and is not an error: the outcome says
 * `{ added: false }` / `{ removed: false }`, and there is no audit entry (as for the CLI and API).
 *
 * Policy: a list change is a changing step of kind `generic`, so it passes the policy gate like a
 * changing action, with the list standing in for the asset (`list:<name>`, app `riposte`): the
 * kill switch holds it, a dry run (of the run or the playbook) journals what it would have done
 * and leaves the list alone, and the `manual` automation level asks for an approval first.
 * Lists are configuration: a playbook changes the items of an existing list, it cannot create
 * or delete one.
 */
import type { Store } from '../store/store.js';
import type { JournalEntry } from '../store/records.js';
import { NotFoundError, ValidationError } from '../store/sqlite/common.js';
import { TerminalError, toErrorRecord, type ErrorRecord } from '../sdk/errors.js';
import type { PolicyGate } from '../policy/gate.js';
import type { StepOutcome, StepRequest } from './protocol.js';
import type { RunScope } from './step-service.js';
import { waitDetail } from './wait-detail.js';

type ListChangeRequest = Extract<StepRequest, { kind: 'list-change' }>;

/** The app a list change names where an action names its app (approvals, the gate's detail). */
export const LIST_APP = 'riposte';

export async function performListChange(
  store: Store,
  gate: PolicyGate | undefined,
  scope: RunScope,
  req: ListChangeRequest,
  now: () => number,
): Promise<StepOutcome> {
  const { list, value } = req.input;
  const op = req.name === 'lists.add' ? 'add' : 'remove';
  const items = await store.getListItems(list);
  if (items === null) {
    const how = `create it with \`riposte lists create ${list}\``;
    const why = `custom list "${list}" does not exist: a playbook changes the items of an existing list (${how})`;
    return failed(why, 'ListNotFound');
  }
  let detail: string | null = null;
  const dryRun = () => dryRunOutcome(op, list, value, items.includes(value));
  if (gate) {
    const g = await gate.check({
      run: scope.run, seq: req.seq, asset: `list:${list}`, app: LIST_APP, action: req.name, kind: 'generic',
      params: req.input, automation: scope.automation, playbookDryRun: scope.playbookDryRun,
    });
    switch (g.kind) {
      case 'wait':
        return { status: 'waiting', on: g.on, wakeAt: g.wakeAt, detail: waitDetail(g.on) };
      case 'attention':
        return { status: 'attention', reason: `step ${req.seq} ${req.name}: ${g.reason}` };
      case 'deny':
        return failed(g.message, 'ApprovalDenied');
      case 'dry-run':
        return dryRun();
      case 'allow':
        detail = g.detail;
    }
  } else if (scope.run.dryRun || scope.playbookDryRun) return dryRun();

  const at = new Date(now()).toISOString();
  const entry: JournalEntry = {
    runId: scope.run.id, seq: req.seq, kind: 'list-change', name: req.name, asset: null, app: null, action: null,
    status: 'completed', input: req.input, output: null, error: null, attempts: 0, startedAt: at, finishedAt: at,
    wakeAt: null, detail, resolution: null,
  };
  try {
    const output = await store.applyRunListChange(entry, { op, list, value, playbookId: scope.run.playbookId });
    return { status: 'completed', output, detail, journaled: true };
  } catch (err) {
    // Nothing was written: the list was deleted meanwhile, or the item cannot be stored.
    if (err instanceof NotFoundError) return failed(`custom list "${list}" does not exist`, 'ListNotFound');
    if (err instanceof ValidationError) return failed(err.message, 'InvalidListItem');
    throw err;
  }
}

function dryRunOutcome(op: 'add' | 'remove', list: string, value: string, present: boolean): StepOutcome {
  const item = `"${value}"`, where = `custom list "${list}"`;
  let would: string;
  if (op === 'add') {
    would = present ? `${item} is already in ${where}: adding it would change nothing` : `would have added ${item} to ${where}`;
  } else {
    would = present ? `would have removed ${item} from ${where}` : `${item} is not in ${where}: removing it would change nothing`;
  }
  const output = op === 'add' ? { added: false, dryRun: true } : { removed: false, dryRun: true };
  const detail = `dry run: ${would}; the list was not changed`;
  return { status: 'completed', output, detail, attempts: 0, dryRun: true };
}

function failed(message: string, name: string): { status: 'failed'; error: ErrorRecord } {
  const error = toErrorRecord(new TerminalError(message, { applied: 'no' }));
  error.name = name;
  return { status: 'failed', error };
}
