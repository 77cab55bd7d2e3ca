/** Scheduled playbooks as the rest of Riposte sees them (see migration 10). */

export interface ScheduleRecord {
  id: number;
  playbookId: string;
  /** The cron expression, as given (checked by the scheduler's parser before it is stored). */
  cron: string;
  /** IANA time zone the expression is read in, e.g. `UTC`, `Europe/Paris`. */
  timezone: string;
  /** Parameters handed to every run (a JSON object), or null. */
  args: Record<string, unknown> | null;
  /** Who created it (`user:<name>`): every run it starts is caused by them (four-eyes). */
  createdBy: string;
  createdAt: string;
  /** The tick it last fired for, or null when it never fired. */
  lastFireAt: string | null;
}

export interface NewSchedule {
  playbookId: string;
  cron: string;
  timezone: string;
  args: Record<string, unknown> | null;
  createdBy: string;
}

/** What `Store.recordScheduleFire` did. */
export type ScheduleFireResult =
  | { status: 'fired'; incidentId: number; runIds: string[] }
  | { status: 'skipped' }
  /** The tick is not after the last one recorded: it fired already (or a later one did). */
  | { status: 'already' }
  /** The schedule was removed meanwhile. */
  | { status: 'removed' };
