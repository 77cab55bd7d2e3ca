/** Cron expressions of scheduled playbooks: what is refused (with the problem named) and when ticks fall. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronError, parseCron } from '../../src/ingest/cron.js';

const NOW = Date.parse('2026-01-01T10:00:00.000Z');

test('a bad expression or time zone is refused with an error naming the problem', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['* * *', 'UTC', /"\* \* \*" has 3 fields; it needs five: minute hour day-of-month month day-of-week/],
    ['*/5 * * * * *', 'UTC', /has 6 fields; it needs five/],
    ['', 'UTC', /has 0 fields/],
    ['61 * * * *', 'UTC', /"61 \* \* \* \*" is not valid: .*61.*0-59/],
    ['0 0 31 2 *', 'UTC', /"0 0 31 2 \*" is not valid: .*day of month/],
    ['1-2-3 * * * *', 'UTC', /is not valid: Invalid range: 1-2-3/],
    ['@secondly', 'UTC', /shorthand "@secondly" is not supported; use one of @yearly/],
    ['@reboot', 'UTC', /shorthand "@reboot" is not supported/],
    ['0 9 * * *', 'Mars/Olympus', /time zone "Mars\/Olympus" is not known/],
  ];
  for (const [expr, tz, message] of refused) {
    assert.throws(
      () => parseCron(expr, tz, NOW),
      (err: unknown) => err instanceof CronError && message.test(err.message),
      `${expr} ${tz}`,
    );
  }
});

test('ticks: the latest at or before a time includes it; the next is strictly after; zones are honoured', () => {
  const hourly = parseCron('0 * * * *', 'UTC', NOW);
  assert.equal(hourly.latestAtOrBefore(NOW), NOW);
  assert.equal(hourly.latestAtOrBefore(NOW - 1), NOW - 3_600_000);
  assert.equal(hourly.nextAfter(NOW), NOW + 3_600_000);
  assert.equal(parseCron('@hourly', 'UTC', NOW).nextAfter(NOW), NOW + 3_600_000);
  // 09:00 in Paris is 08:00 UTC in winter.
  assert.equal(
    new Date(parseCron('0 9 * * *', 'Europe/Paris', NOW).nextAfter(NOW)!).toISOString(),
    '2026-01-02T08:00:00.000Z',
  );
  const weekdays = parseCron('30 12  * *   MON-FRI', 'UTC', NOW); // 2026-01-01 is a Thursday
  assert.equal(weekdays.expression, '30 12 * * MON-FRI', 'whitespace is normalised');
  assert.equal(new Date(weekdays.nextAfter(NOW)!).toISOString(), '2026-01-01T12:30:00.000Z');
  assert.equal(
    new Date(weekdays.nextAfter(Date.parse('2026-01-02T13:00:00Z'))!).toISOString(),
    '2026-01-05T12:30:00.000Z',
  );
});
