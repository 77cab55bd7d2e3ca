/**
 * Cron expressions of scheduled playbooks, parsed by `cron-parser`: the five standard fields
 * (minute hour day-of-month month day-of-week, names like MON or JAN allowed) or a shorthand
 * such as `@hourly`, read in an IANA time zone (UTC by default). A schedule fires at most once a
 * minute: seconds fields and `@secondly` are refused, as is an expression that never fires.
 */
import { CronExpressionParser } from 'cron-parser';

export const CRON_SHORTHANDS = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@minutely',
  '@weekdays',
  '@weekends',
];

/** A cron expression or time zone that cannot be used; the message names the problem. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

export interface CronSchedule {
  readonly expression: string;
  readonly timezone: string;
  /** The latest tick at or before `at` (ms since the epoch), or null when there is none. */
  latestAtOrBefore(at: number): number | null;
  /** The first tick strictly after `at`, or null when there is none. */
  nextAfter(at: number): number | null;
}

/** A usable IANA time zone name, or a CronError naming it. */
export function checkTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz }); // throws a RangeError for an unknown zone
    return tz;
  } catch {
    throw new CronError(`time zone "${tz}" is not known (use an IANA name such as UTC or Europe/Paris)`);
  }
}

/** Parses `expression` in `timezone`; a CronError says what is wrong with either. */
export function parseCron(expression: string, timezone = 'UTC', now: number = Date.now()): CronSchedule {
  const expr = expression.trim().replace(/\s+/g, ' ');
  const tz = checkTimezone(timezone);
  if (expr.startsWith('@')) {
    if (!CRON_SHORTHANDS.includes(expr.toLowerCase())) {
      throw new CronError(
        `cron shorthand "${expr}" is not supported; use one of ${CRON_SHORTHANDS.join(', ')} or five fields`,
      );
    }
  } else {
    const n = expr === '' ? 0 : expr.split(' ').length;
    if (n !== 5) {
      throw new CronError(
        `cron expression "${expr}" has ${n} field${n === 1 ? '' : 's'}; it needs five: ` +
          'minute hour day-of-month month day-of-week (e.g. "0 * * * *" for every hour)',
      );
    }
  }
  const at = (date: number) => CronExpressionParser.parse(expr, { currentDate: new Date(date), tz });
  try {
    at(now);
  } catch (err) {
    throw new CronError(`cron expression "${expr}" is not valid: ${(err as Error).message}`);
  }
  const tick = (date: number, dir: 'prev' | 'next'): number | null => {
    try {
      return at(date)[dir]().getTime();
    } catch {
      return null; // no tick in that direction (within the parser's search limit)
    }
  };
  if (tick(now, 'next') === null) throw new CronError(`cron expression "${expr}" never fires`);
  return {
    expression: expr,
    timezone: tz,
    // `prev` is strictly before its date; ticks fall on whole seconds, so +1 ms includes `at` itself.
    latestAtOrBefore: (t) => tick(t + 1, 'prev'),
    nextAfter: (t) => tick(t, 'next'),
  };
}
