/**
 * The engine schedules runs: it picks due runs from the store (new, interrupted by a crash, or
 * waiting on a timer that has fired), executes each with replay, and persists the outcome.
 * A parked run (waiting on a timer, needing attention) holds no memory: only its store rows.
 * One timer tracks the earliest wake-up of all parked runs.
 *
 * One engine per store: with the embedded SQLite store a single process owns execution.
 */
import type { Store } from '../store/store.js';
import type { RunRecord } from '../store/records.js';
import type { PlaybookRegistry } from './registry.js';
import { effectiveAutomation } from './power.js';
import { RunExecution, type ExecutionResult } from './execution.js';
import { toErrorRecord } from '../sdk/errors.js';
import { formatWaitOn, type WaitOn } from '../common/wait-on.js';
import type { StepService } from '../steps/step-service.js';
import { RunWrites } from '../steps/run-writes.js';
import { createRunHost } from '../steps/run-host.js';

export interface EngineOptions {
  /** Runs executed at once. */
  concurrency?: number;
  now?: () => number;
  shortSleepMs?: number;
  /** Called after each run execution settles (for logs and metrics). */
  onRunSettled?: (run: RunRecord, result: ExecutionResult) => void;
  onError?: (err: unknown) => void;
  /**
   * Safety-net poll for runs made due by another process (e.g. `riposte runs resolve` writing to
   * the same database); in-process changes wake the engine directly. Default 1000 ms; 0 = off.
   */
  pollIntervalMs?: number;
  /**
   * Is what a run waits on (approval, prompt, kill switch) still unresolved? Asked right after the
   * run is persisted as waiting, so a decision made while the run was executing is not missed.
   */
  stillWaiting?: (on: WaitOn) => Promise<boolean>;
}

export class Engine {
  private readonly active = new Map<string, Promise<void>>();
  private pumpScheduled = false;
  private pumping = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private stopped = true;
  private recovering = true;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly shortSleepMs: number;
  private idleWaiters: Array<() => void> = [];
  /** Runs interrupted with their sandbox realm: their next execution gets a realm of its own. */
  private readonly alone = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly steps: StepService,
    private readonly registry: PlaybookRegistry,
    private readonly opts: EngineOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 64;
    this.now = opts.now ?? Date.now;
    this.shortSleepMs = opts.shortSleepMs ?? 2_000;
  }

  /** Starts scheduling; runs left `running` by a previous process are resumed first. */
  start(): void {
    this.stopped = false;
    this.recovering = true;
    const poll = this.opts.pollIntervalMs ?? 1000;
    if (poll > 0) {
      this.poller = setInterval(() => this.wake(), poll);
      this.poller.unref();
    }
    this.wake();
  }

  /** Stops taking new runs and waits for the executing ones to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.active.values()]);
  }

  /** Look for due runs soon (coalesced). */
  wake(): void {
    if (this.stopped || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  /** Resolves when no run is executing and none is due (for tests and the demo). */
  idle(): Promise<void> {
    if (this.active.size === 0 && !this.pumping && !this.pumpScheduled) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  get activeCount(): number {
    return this.active.size;
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        const free = this.concurrency - this.active.size;
        if (free <= 0 || this.stopped) break;
        // Runs left `running` by a dead process are picked up once, at start; after that, `running`
        // runs are this engine's own (in `active`), so only new and woken runs are fetched.
        const recover = this.recovering;
        this.recovering = false;
        const due = await this.store.dueRuns(new Date(this.now()).toISOString(), recover ? free + this.active.size : free, { includeRunning: recover });
        for (const run of due) {
          if (this.active.size >= this.concurrency) break;
          if (this.active.has(run.id)) continue;
          const p = this.execute(run).catch((err) => this.opts.onError?.(err)).finally(() => {
            this.active.delete(run.id);
            this.wake();
          });
          this.active.set(run.id, p);
        }
      } while (this.again);
      await this.armTimer();
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.pumping = false;
      if (this.active.size === 0 && !this.pumpScheduled) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private async armTimer(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const next = await this.store.nextWakeAt();
    if (next === null) return;
    const delay = Math.min(Math.max(0, Date.parse(next) - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async execute(run: RunRecord): Promise<void> {
    const reg = await this.registry.forRun(run);
    if (!reg) {
      await this.store.patchRun(run.id, { status: 'needs_attention', attentionReason: `playbook ${run.playbookId} is not installed in this server` });
      return;
    }
    // The state change is queued, not awaited: it commits before (or with) the run's first write
    // that anything waits for, and the execution waits for it before it settles.
    const writes = new RunWrites(this.store);
    if (run.status === 'queued') writes.add(this.store.patchRun(run.id, { status: 'running', startedAt: new Date(this.now()).toISOString() }, { lazy: true }));
    else if (run.status === 'waiting') writes.add(this.store.patchRun(run.id, { status: 'running', wakeAt: null, waitingOn: null, waits: [] }, { lazy: true }));
    const [journal, settings] = await Promise.all([this.store.loadJournal(run.id), this.store.getPlaybookSettings(run.playbookId)]);
    const playbookDryRun = settings?.dryRun ?? false;
    const scope = {
      run, writes, bindings: settings?.bindings ?? {}, playbookDryRun,
      automation: effectiveAutomation(settings?.automation ?? null, reg.config.automation, (reg.unconfirmed ?? []).length === 0),
      playbooks: this.registry, wake: () => this.wake(),
    };
    const exec = new RunExecution(run, reg.config, reg.executor, reg.hash !== run.playbookHash, journal, createRunHost(this.store, this.steps, scope), {
      now: this.now, shortSleepMs: this.shortSleepMs, dryRun: run.dryRun || playbookDryRun, dedicated: this.alone.has(run.id),
    });
    let result: ExecutionResult;
    try {
      result = await exec.execute();
    } catch (err) {
      result = { status: 'failed', error: toErrorRecord(err) };
    }
    const at = new Date(this.now()).toISOString();
    switch (result.status) {
      case 'completed':
        await this.store.patchRun(run.id, {
          status: 'completed', output: result.output, finishedAt: at, attentionReason: null, minutesSaved: creditedMinutes(run, result.output, exec.didDryRun),
        });
        break;
      case 'failed':
        await this.store.patchRun(run.id, { status: 'failed', error: result.error, finishedAt: at, minutesSaved: 0 });
        break;
      case 'waiting': {
        const waits = result.on.map(formatWaitOn);
        await this.store.patchRun(run.id, { status: 'waiting', wakeAt: result.wakeAt, waitingOn: waits[0] ?? null, waits });
        // A decision made (or a child run ended) while the run was executing would otherwise be missed.
        for (const on of result.on) {
          const over = on.kind === 'run'
            ? await this.runEnded(on.id)
            : on.kind !== 'timer' && this.opts.stillWaiting !== undefined && !(await this.opts.stillWaiting(on));
          if (over) {
            await this.store.patchRun(run.id, { wakeAt: new Date(this.now()).toISOString() });
            break;
          }
        }
        break;
      }
      case 'needs_attention':
        await this.store.patchRun(run.id, { status: 'needs_attention', attentionReason: result.reason, error: result.error });
        break;
      case 'interrupted':
        // Due again at once, in a sandbox realm of its own: if its own code exhausted the memory
        // it shared, it now fails alone; if not, it goes on where its journal says.
        this.alone.add(run.id);
        await this.store.patchRun(run.id, { status: 'waiting', wakeAt: at, waitingOn: 'timer', waits: [] });
        break;
    }
    if (result.status !== 'interrupted') this.alone.delete(run.id);
    this.opts.onRunSettled?.(run, result);
  }

  /**
   * A child run the parent now waits on has already ended (while the parent was executing): its
   * end woke nothing, the parent was not parked yet. Later ends wake the parent in the store.
   */
  private async runEnded(id: string): Promise<boolean> {
    const child = await this.store.getRun(id);
    return child === null || child.status === 'completed' || child.status === 'failed' || child.status === 'cancelled';
  }
}

/**
 * Minutes a completed run earns (the ROI figures): the playbook's `minutesSaved`, unless the run
 * was a dry run (nothing was done for real: 0), or the playbook's result says otherwise with a
 * numeric `minutesSaved` (e.g. 0 for a run that could not do its work). Failed runs earn 0.
 */
export function creditedMinutes(run: RunRecord, output: unknown, dryRun: boolean): number | null {
  if (run.minutesSaved === null) return null;
  if (dryRun) return 0;
  const claimed = output !== null && typeof output === 'object' ? (output as { minutesSaved?: unknown }).minutesSaved : undefined;
  if (typeof claimed === 'number' && Number.isFinite(claimed) && claimed >= 0) return Math.min(claimed, run.minutesSaved);
  return run.minutesSaved;
}
