/**
 * `riposte runs start` and `riposte runs rerun`: runs a person starts. They go through the API with
 * that person's token (--token, $RIPOSTE_TOKEN or the bootstrap admin's), so the server records
 * them as the run's cause (four-eyes) and wakes its engine; the CLI prints the full run id and how
 * to follow it.
 */
import type { Command } from 'commander';
import type { RunRecord } from '../../store/records.js';
import { addApiOptions, apiClient } from '../api-client.js';
import { CliError, positiveInt, printJson } from '../open-store.js';
import { terminalSafe } from '../format.js';
import { print } from '../output.js';

/** `--args <json>`: a JSON object, or a CliError saying why not. */
export function parseArgs(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new CliError(`--args is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError('--args must be a JSON object, e.g. \'{"user":"jdoe"}\'');
  }
  return value as Record<string, unknown>;
}

function started(verb: string, run: RunRecord): string {
  const mode = run.dryRun ? ' (DRY RUN: destructive actions are recorded, not executed)' : '';
  const again = run.rerunOf ? `, repeating run ${run.rerunOf}` : '';
  return [
    terminalSafe(
      `${verb} run ${run.id}: playbook ${run.playbookId}@${run.playbookVersion} on incident #${run.incidentId}`
        + `${again}${mode}.`,
    ),
    `Follow it with: riposte runs show ${run.id}`,
  ].join('\n');
}

export function registerRunStarts(runs: Command): void {
  addApiOptions(
    runs
      .command('start')
      .description(
        "start a playbook on an incident, as your API token's user (you may not approve its destructive actions)",
      )
      .argument('<playbookId>', 'the playbook to run (riposte playbooks list)'),
  )
    .requiredOption('--incident <n>', 'the incident it runs on')
    .option('--args <json>', 'parameters for the playbook, a JSON object')
    .option('--dry-run', 'record destructive actions instead of executing them')
    .option('--json', 'print the run as JSON')
    .action(
      async (
        playbookId: string,
        o: { incident: string; args?: string; dryRun?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const body: Record<string, unknown> = {
          playbookId,
          incidentId: positiveInt('--incident', o.incident.replace(/^#/, '')),
        };
        if (o.args !== undefined) body.args = parseArgs(o.args);
        if (o.dryRun) body.dryRun = true;
        const { run } = await apiClient(cmd).send<{ run: RunRecord }>('POST', '/runs', body);
        if (o.json) return printJson(run);
        print(started('Started', run));
      },
    );

  addApiOptions(
    runs
      .command('rerun')
      .description(
        'run a finished (completed, failed or cancelled) run again: same incident, input and args, linked to it',
      )
      .argument('<run>', 'run id or a unique prefix (at least 8 characters)'),
  )
    .option('--dry-run', 'record destructive actions instead of executing them (default: as the original)')
    .option('--no-dry-run', 'execute destructive actions, even if the original was a dry run')
    .option('--json', 'print the run as JSON')
    .action(async (ref: string, o: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(ref)) {
        throw new CliError('a run reference has only letters, digits, `-` and `_`');
      }
      const body = o.dryRun === undefined ? {} : { dryRun: o.dryRun };
      const { run } = await apiClient(cmd).send<{ run: RunRecord }>('POST', `/runs/${ref}/rerun`, body);
      if (o.json) return printJson(run);
      print(started('Started', run));
    });
}
