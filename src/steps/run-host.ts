/**
 * The host side of one run (protocol.ts `RunHost`): performs steps through the step service and
 * queues the run's journal writes on its write pipeline. In-process today; the replayer talks to it
 * only in plain data, so a sandboxed runner can reach it over a message channel instead.
 */
import type { JournalEntry } from '../store/records.js';
import type { JournalPatch, RunEffect, Store } from '../store/store.js';
import type { RunHost, StepOutcome, StepRequest } from './protocol.js';
import type { RunScope, StepService } from './step-service.js';

/** Journal writes of the replayer: nothing waits for them until the run's next durability point. */
const LAZY = { lazy: true } as const;

export function createRunHost(store: Store, steps: StepService, scope: RunScope): RunHost {
  return {
    perform: (req: StepRequest): Promise<StepOutcome> => steps.perform(scope, req),
    record: (entry: JournalEntry) => scope.writes.add(store.putJournal(entry, LAZY)),
    update: (seq: number, patch: JournalPatch) => scope.writes.add(store.updateJournal(scope.run.id, seq, patch, LAZY)),
    recordWithEffect: (entry: JournalEntry, effect: RunEffect) =>
      scope.writes.add(store.applyRunEffect(entry, effect, LAZY)),
    settle: () => scope.writes.durable(),
    abandon: (seqs: number[]) => steps.abandon(scope, seqs),
  };
}
