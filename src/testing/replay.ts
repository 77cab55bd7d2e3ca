/**
 * Replay of a past run against new code (`riposte runs replay`): the run's recorded journal handed
 * back to the new code exactly as the engine would after a restart — each outcome in its recorded
 * order — with a host that performs and writes nothing. It reports the first place where the new
 * code leaves the recorded path (a different step at a position, a step the run never asked for,
 * recorded steps it no longer asks for, another end) or that it would behave the same.
 *
 * Nothing is sent and nothing is written: the replay host refuses every step it is asked to
 * perform (the recording does not answer it, so the new code diverged), and the store is only read.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { RunExecution } from '../engine/execution.js';
import type { LoadedPlaybook } from '../engine/registry.js';
import type { RunHost } from '../steps/protocol.js';
import type { JournalEntry, RunRecord } from '../store/records.js';
import { brief } from './brief.js';
import { issuesText } from '../common/issues.js';

export const RECORDED_RUN_FORMAT = 'riposte-run/1';

/**
 * A run and its journal as a file (`riposte runs export <run> --journal`), so a playbook
 * repository's CI can replay it without the server's data: checked when read, as it came from a file.
 */
const RecordedRun = z.strictObject({
  format: z.literal(RECORDED_RUN_FORMAT),
  run: z.looseObject({
    id: z.string().min(1), playbookId: z.string().min(1), playbookHash: z.string(), status: z.string(),
    input: z.looseObject({ id: z.number(), artifacts: z.array(z.unknown()) }), output: z.unknown(), args: z.unknown(),
    dryRun: z.boolean(), updatedAt: z.string(), finishedAt: z.string().nullable(),
  }),
  journal: z.array(z.looseObject({
    seq: z.number().int().min(0), kind: z.string(), name: z.string(), status: z.string(), input: z.unknown(),
    output: z.unknown(), error: z.unknown(), resolution: z.number().int().nullable().optional(),
  })).max(100_000),
});
export interface RecordedRun { format: typeof RECORDED_RUN_FORMAT; run: RunRecord; journal: JournalEntry[] }

export function recordedRun(run: RunRecord, journal: JournalEntry[]): RecordedRun {
  return { format: RECORDED_RUN_FORMAT, run, journal };
}

/** A recorded run read from a file, checked: an Error naming every bad part. */
export function parseRecordedRun(raw: unknown): RecordedRun {
  const parsed = RecordedRun.safeParse(raw);
  if (parsed.success) return parsed.data as unknown as RecordedRun;
  const why = issuesText(parsed.error.issues.slice(0, 10), '(top)');
  throw new Error(`not a recorded run (riposte runs export <run> --journal): ${why}`);
}

export interface ReplayReport {
  /** The new code takes the recorded path and ends as the run ended. */
  same: boolean;
  /** The first divergence, in words, with both sides; null when the same. */
  divergence: string | null;
  /** How the replay ended (completed, failed, waiting, needs_attention …). */
  status: string;
  steps: number;
}


/** Replays `journal` (the run's) against `playbook` (the new code). */
export async function replayRun(run: RunRecord, journal: JournalEntry[], playbook: LoadedPlaybook): Promise<ReplayReport> {
  if (playbook.config.id !== run.playbookId) {
    throw new Error(`the new code is playbook ${playbook.config.id}, the run is of ${run.playbookId}`);
  }
  if (run.status !== 'completed' && run.status !== 'failed') {
    // A run still going has steps in flight the recording does not answer yet: no verdict is possible.
    throw new Error(`run ${run.id} is ${run.status}: only a completed or failed run can be replayed`);
  }
  const recorded = new Map(journal.map((e) => [e.seq, e]));
  const asked: string[] = [];
  /** A step the host is told to write: one the recording does not have is a divergence. */
  const written = (e: JournalEntry): void => {
    if (!recorded.has(e.seq)) asked.push(`step ${e.seq}: the new code does ${e.name}(${brief(e.input, 300)}), which the run never did`);
  };
  const host: RunHost = {
    async perform(req) {
      asked.push(`step ${req.seq}: the new code asks for ${req.name}(${brief(req.input, 300)}), which the run never did`);
      return { status: 'attention', reason: `replay: step ${req.seq} ${req.name} is not in the recording` };
    },
    record: written,
    recordWithEffect: written,
    update: () => {},
    settle: async () => {},
    abandon: async () => {},
  };
  const replayed: RunRecord = { ...run, status: 'running', output: null, error: null, attentionReason: null, wakeAt: null, waitingOn: null };
  const at = Date.parse(run.finishedAt ?? run.updatedAt);
  const exec = new RunExecution(replayed, playbook.config, playbook.executor, playbook.hash !== run.playbookHash, journal, host, {
    now: () => at, shortSleepMs: 0, dryRun: run.dryRun,
  });
  const result = await exec.execute();
  const report = (divergence: string | null): ReplayReport => ({ same: divergence === null, divergence, status: result.status, steps: journal.length });
  if (asked.length > 0) return report(asked[0]!);
  if (result.status === 'needs_attention') return report(result.reason);
  if (result.status !== run.status) {
    const why = result.status === 'failed' ? ` (${result.error.message})` : '';
    return report(`the run ended ${run.status}; the new code ends ${result.status}${why}`);
  }
  if (result.status === 'completed' && !isDeepStrictEqual(result.output, run.output)) {
    return report(`the run's output was ${brief(run.output, 300)}; the new code's is ${brief(result.output, 300)}`);
  }
  if (result.status === 'failed' && (result.error.name !== run.error?.name || result.error.message !== run.error?.message)) {
    return report(`the run failed with ${run.error?.name ?? '?'}: ${brief(run.error?.message, 300)}; the new code fails with ${result.error.name}: ${brief(result.error.message, 300)}`);
  }
  return report(null);
}
