/**
 * `riposte schedules add|list|remove`: playbooks started by a cron expression. Adding and removing
 * go through the API with an admin's token (the creator becomes the cause of every run the
 * schedule starts, and the server re-arms its timer); listing reads the store, like `runs list`.
 */
import type { Command } from 'commander';
import type { ScheduleRecord } from '../../store/schedule-records.js';
import { parseCron } from '../../ingest/cron.js';
import { addApiOptions, apiClient } from '../api-client.js';
import { positiveInt, printJson, withStore } from '../open-store.js';
import { parseArgs } from './runs-start.js';
import { formatTime, summarize, table, terminalSafe } from '../format.js';
import { print } from '../output.js';

/** When a stored schedule fires next, for the listing. */
function nextFire(s: ScheduleRecord, now: number): string | null {
  try {
    const t = parseCron(s.cron, s.timezone, now).nextAfter(now);
    return t === null ? null : new Date(t).toISOString();
  } catch {
    return null;
  }
}

export function registerSchedules(program: Command): void {
  const schedules = program.command('schedules').description('playbooks started on a cron schedule');

  addApiOptions(
    schedules
      .command('add')
      .description(
        'start a playbook at every tick of a cron expression, as you (an admin): '
          + 'you may not approve its destructive actions',
      )
      .argument('<playbookId>', 'the playbook to run (riposte playbooks list)'),
  )
    .requiredOption(
      '--cron <expr>',
      'five fields, minute hour day-of-month month day-of-week (e.g. "0 * * * *"), or @hourly, @daily …',
    )
    .option('--tz <zone>', 'IANA time zone the expression is read in', 'UTC')
    .option('--args <json>', 'parameters for every run, a JSON object')
    .option('--json', 'print the schedule as JSON')
    .action(
      async (playbookId: string, o: { cron: string; tz: string; args?: string; json?: boolean }, cmd: Command) => {
        const body: Record<string, unknown> = { playbookId, cron: o.cron, timezone: o.tz };
        if (o.args !== undefined) body.args = parseArgs(o.args);
        const { schedule } = await apiClient(cmd).send<{ schedule: ScheduleRecord & { nextFireAt: string | null } }>(
          'POST',
          '/schedules',
          body,
        );
        if (o.json) return printJson(schedule);
        print(
          terminalSafe(
            `Schedule ${schedule.id}: playbook ${schedule.playbookId} at "${schedule.cron}" (${schedule.timezone}), ` +
              `runs caused by ${schedule.createdBy}; next fire ${formatTime(schedule.nextFireAt)}.`,
          ),
        );
        print(
          'Each fire is an incident of source schedule:<id>: riposte incidents list, riposte runs list --playbook <id>',
        );
      },
    );

  schedules
    .command('list')
    .description('every schedule with its next fire')
    .option('--json', 'machine-readable JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const now = Date.now();
      const list = (await withStore(cmd, (store) => store.listSchedules())).map((s) => ({
        ...s,
        nextFireAt: nextFire(s, now),
      }));
      if (o.json) return printJson({ schedules: list });
      if (list.length === 0) return print('no schedules');
      print(
        table(
          ['ID', 'PLAYBOOK', 'CRON', 'ZONE', 'ARGS', 'BY', 'LAST FIRE', 'NEXT FIRE'],
          list.map((s) =>
            [
              String(s.id),
              s.playbookId,
              s.cron,
              s.timezone,
              s.args ? summarize(s.args, 40) : '',
              s.createdBy,
              formatTime(s.lastFireAt),
              formatTime(s.nextFireAt),
            ].map(terminalSafe),
          ),
        ),
      );
    });

  addApiOptions(
    schedules
      .command('remove')
      .description('remove a schedule (admin); its past fires stay as incidents and runs')
      .argument('<id>', 'the schedule id (riposte schedules list)'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const n = positiveInt('<id>', id);
    const { schedule } = await apiClient(cmd).send<{ schedule: ScheduleRecord }>('DELETE', `/schedules/${n}`);
    print(
      terminalSafe(`Removed schedule ${schedule.id} (playbook ${schedule.playbookId} at "${schedule.cron}").`),
    );
  });
}
