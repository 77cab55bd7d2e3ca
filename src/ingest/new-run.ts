/**
 * The one way a run is made from a playbook, whatever started it (an alert, a person, a re-run, a
 * schedule): the playbook's id, version, code identity and origin as registered now, its minutes saved,
 * and who caused it. Runs started any of these ways are therefore indistinguishable to the engine.
 */
import { newRunId } from '../store/ids.js';
import type { NewRun } from '../store/store.js';
import { PlaybookRegistry, type RegisteredPlaybook } from '../engine/registry.js';

export function newRunFor(
  p: RegisteredPlaybook,
  requestedBy: string,
  extra: { args?: unknown; dryRun?: boolean } = {},
): NewRun {
  const run: NewRun = { id: newRunId(), ...PlaybookRegistry.runFields(p), requestedBy };
  if (extra.args !== undefined && extra.args !== null) run.args = extra.args;
  if (extra.dryRun) run.dryRun = true;
  return run;
}
