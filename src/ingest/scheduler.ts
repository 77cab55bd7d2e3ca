/**
 * Scheduled playbooks: each schedule starts its playbook at every tick of its cron expression, as
 * the person who created it. One timer is armed for the earliest next tick of all schedules; each
 * pass fires, for every schedule, the latest tick at or before now that is after its last fire —
 * so a schedule whose ticks were missed while the server was down fires once at start-up (for the
 * latest of them), not once per missed tick.
 *
 * Failure semantics: a fire is one store transaction — the tick's incident (source `schedule:<id>`,
 * sourceId the tick), its queued run and the schedule's `lastFireAt` — so a crash before it commits
 * fires the tick at the next start, and a crash after it never fires it again (the store also
 * dedupes the incident on (source, sourceId)). A failed fire (store error) is retried after
 * RETRY_MS. The run is then the engine's, like any queued run. One scheduler per store: it runs in
 * the server's process, beside the engine.
 */
import type { Store } from '../store/store.js';
import type { NewIncident } from '../store/records.js';
import type { ScheduleFireResult, ScheduleRecord } from '../store/schedule-records.js';
import type { PlaybookRegistry } from '../engine/registry.js';
import type { RunWaker } from './ingest-service.js';
import { newRunFor } from './new-run.js';
import { parseCron, type CronSchedule } from './cron.js';
import { checkArgs, startablePlaybook, StartRefused } from './run-starter.js';

/** How soon a fire that failed (the store refused the write) is tried again. */
export const RETRY_MS = 5_000;

export interface SchedulerTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface SchedulerOptions {
  now?: () => number;
  /** The one timer (tests inject their own); default setTimeout, unref'd. */
  timers?: SchedulerTimers;
  onError?: (err: unknown) => void;
  /** Called after each fire is recorded (for logs and tests). */
  onFire?: (schedule: ScheduleRecord, fireAt: string, result: ScheduleFireResult) => void;
}

export interface ScheduleRequest {
  playbookId: string;
  cron: string;
  /** IANA time zone the expression is read in; default UTC. */
  timezone?: string;
  args?: Record<string, unknown>;
}

const realTimers: SchedulerTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Scheduler {
  private readonly now: () => number;
  private readonly timers: SchedulerTimers;
  private timer: unknown = null;
  private started = false;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly store: Store,
    private readonly registry: PlaybookRegistry,
    private readonly waker: RunWaker,
    private readonly opts: SchedulerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? realTimers;
  }

  /** Fires what was missed while stopped, then keeps the timer armed. */
  start(): Promise<void> {
    this.started = true;
    return this.tick();
  }

  /** Disarms the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.started = false;
    this.disarm();
    await this.running;
  }

  /**
   * One pass (serialised: a call during a pass runs another after it): fires every schedule that is
   * due, then arms the timer for the earliest next tick (when started). Never rejects.
   */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } catch (err) {
        this.opts.onError?.(err);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Checks and stores a schedule for a person (`createdBy`, `user:<name>`), then re-arms. */
  async create(req: ScheduleRequest, createdBy: string, actor: string): Promise<ScheduleRecord> {
    const cron = parseCron(req.cron, req.timezone ?? 'UTC', this.now());
    const args = req.args === undefined ? null : checkArgs(req.args);
    await startablePlaybook(this.store, this.registry, req.playbookId);
    const rec = await this.store.createSchedule(
      { playbookId: req.playbookId, cron: cron.expression, timezone: cron.timezone, args, createdBy },
      actor,
    );
    if (this.started) void this.tick();
    return rec;
  }

  async remove(id: number, actor: string): Promise<ScheduleRecord> {
    const rec = await this.store.removeSchedule(id, actor);
    if (this.started) void this.tick();
    return rec;
  }

  /** When `schedule` fires next (ISO), or null when it never will. */
  nextFireAt(schedule: ScheduleRecord): string | null {
    const next = parseCron(schedule.cron, schedule.timezone).nextAfter(this.now());
    return next === null ? null : new Date(next).toISOString();
  }

  private async pass(): Promise<void> {
    const now = this.now();
    let next: number | null = null;
    const soonest = (t: number | null) => {
      if (t !== null && (next === null || t < next)) next = t;
    };
    for (const s of await this.store.listSchedules()) {
      let cron: CronSchedule;
      try {
        cron = parseCron(s.cron, s.timezone, now);
      } catch (err) {
        this.opts.onError?.(err); // checked when stored: only a changed parser gets here
        continue;
      }
      const due = cron.latestAtOrBefore(now);
      const since = Date.parse(s.lastFireAt ?? s.createdAt);
      if (due !== null && due > since) {
        // An earlier tick after the last fire was missed (the server was down): this fire stands for it.
        const first = cron.nextAfter(since);
        try {
          await this.fire(s, due, first !== null && first < due ? first : null);
        } catch (err) {
          this.opts.onError?.(err);
          soonest(now + RETRY_MS);
        }
      }
      soonest(cron.nextAfter(now));
    }
    this.arm(next, now);
  }

  private async fire(s: ScheduleRecord, tick: number, missedFrom: number | null): Promise<void> {
    const fireAt = new Date(tick).toISOString();
    let fire: { incident: NewIncident; run: ReturnType<typeof newRunFor> } | { skipped: string };
    try {
      const p = await startablePlaybook(this.store, this.registry, s.playbookId);
      fire = { incident: tickIncident(s, fireAt, missedFrom), run: newRunFor(p, s.createdBy, { args: s.args }) };
    } catch (err) {
      if (!(err instanceof StartRefused)) throw err;
      fire = { skipped: err.message };
    }
    const result = await this.store.recordScheduleFire(s.id, fireAt, fire, `schedule:${s.id}`);
    if (result.status === 'fired' && result.runIds.length > 0) this.waker.wake();
    this.opts.onFire?.(s, fireAt, result);
  }

  private arm(next: number | null, now: number): void {
    this.disarm();
    if (!this.started || next === null) return;
    const delay = Math.min(Math.max(0, next - now), 2 ** 31 - 1);
    this.timer = this.timers.set(() => void this.tick(), delay);
  }

  private disarm(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }
}

/** The incident a tick is recorded as: the run's input, and the dedupe key of the fire. */
function tickIncident(s: ScheduleRecord, fireAt: string, missedFrom: number | null): NewIncident {
  const late =
    missedFrom === null
      ? ''
      : ` The ticks from ${new Date(missedFrom).toISOString()} on were missed while the ` +
        'server was not running: this one fire stands for them.';
  return {
    name: `Scheduled run of ${s.playbookId}`,
    label: 'scheduled',
    severity: 'low',
    description: `Schedule ${s.id} (cron "${s.cron}", ${s.timezone}) fired for its tick of ${fireAt}.${late}`,
    source: `schedule:${s.id}`,
    sourceId: fireAt,
    tags: ['scheduled'],
    artifacts: [],
  };
}
