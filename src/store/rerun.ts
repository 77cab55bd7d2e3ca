/** Which runs may be re-run: the rule the store enforces and the API explains. */
import type { RunRecord } from './records.js';

/** Runs that have finished and may be re-run. */
export const RERUNNABLE: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** Why a run that has not finished cannot be re-run, in words a person can act on. */
export function notRerunnable(run: RunRecord): string {
  const why =
    run.status === 'needs_attention'
      ? 'it needs attention and may still resume (riposte runs resolve), so a re-run could repeat its actions'
      : run.status === 'waiting'
        ? `it is parked, waiting${run.waitingOn ? ` on ${run.waitingOn}` : ''}, and will go on`
        : 'it has not finished';
  return `run ${run.id} is ${run.status}: ${why}; only a completed, failed or cancelled run can be re-run`;
}
