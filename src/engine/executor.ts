/**
 * How a playbook's code runs for one execution of a run: in this process (playbooks defined in
 * memory: tests), or in the sandbox (src/sandbox/: every playbook of a repository, the shipped one
 * included). The engine hands the code its `ctx` and learns only the result; `release` is called
 * when the execution is over (the run finished or parked), so the sandbox can free what it held.
 */
import type { IncidentView, PlaybookContext, PlaybookDefinition } from '../sdk/playbook.js';

export interface PlaybookExecution {
  /** Settles with the playbook function's result. */
  result: Promise<unknown>;
  /**
   * The code can await nothing but ctx steps (the sandbox: no timers, no I/O): when no step is in
   * flight or parked and it has not returned, it never will, and the run fails instead of hanging.
   */
  isolated: boolean;
  release(): void;
}

export interface StartOptions {
  /** Run in a realm of its own (after an interruption: whoever exhausts it is then alone). */
  dedicated?: boolean;
}

export interface PlaybookExecutor {
  start(ctx: PlaybookContext, incident: IncidentView, args: unknown, opts?: StartOptions): PlaybookExecution;
}

/** Runs the definition's function in this process: for playbooks defined in memory (tests). */
export function inProcessExecutor(definition: PlaybookDefinition): PlaybookExecutor {
  return {
    start(ctx, incident, args) {
      let result: Promise<unknown>;
      try {
        result = Promise.resolve(definition.run(ctx, incident, args ?? undefined));
      } catch (err) {
        result = Promise.reject(err);
      }
      return { result, isolated: false, release: () => {} };
    },
  };
}

/**
 * The playbook's code stopped through no fault of its own: its sandbox realm was lost (another
 * execution in it exhausted the memory they share). The engine records the steps still in flight
 * and executes the run again from its journal, in a realm of its own (`dedicated`).
 */
export class ExecutionInterrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutionInterrupted';
  }
}
