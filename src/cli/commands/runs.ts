/** `riposte runs list|show|resolve` (and `start|rerun`, in runs-start.ts). */
import type { Command } from 'commander';
import type { SqliteStore } from '../../store/sqlite/index.js';
import type { RunRecord, RunStatus } from '../../store/records.js';
import type { RunQuery } from '../../store/store.js';
import { firstPartyCatalog } from '../../apps/catalog.js';
import { CliError, cliActor, positiveInt, printJson, withStore } from '../open-store.js';
import { registerRunStarts } from './runs-start.js';
import { registerRunChecks } from './runs-check.js';
import { durationBetween, formatDuration, formatRunTimeline, formatTime, table, type RunDetail } from '../format.js';
import { issuesText } from '../../common/issues.js';
import { print } from '../output.js';

const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'waiting', 'completed', 'failed', 'needs_attention', 'cancelled'];
export const MIN_PREFIX = 6;

/** A run by its id or by a unique prefix of at least 6 characters. */
export async function findRun(store: SqliteStore, idOrPrefix: string): Promise<RunRecord> {
  const exact = await store.getRun(idOrPrefix);
  if (exact) return exact;
  if (!/^[A-Za-z0-9_-]+$/.test(idOrPrefix)) throw new CliError('a run id or prefix has only letters, digits, `-` and `_`');
  if (idOrPrefix.length < MIN_PREFIX) {
    throw new CliError(`run ${idOrPrefix} does not exist (give the full id or a unique prefix of at least ${MIN_PREFIX} characters)`);
  }
  const ids = await store.runIdsWithPrefix(idOrPrefix, 6);
  if (ids.length === 0) throw new CliError(`no run id starts with "${idOrPrefix}"`);
  if (ids.length > 1) {
    throw new CliError(`run id prefix "${idOrPrefix}" is ambiguous: it matches ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`);
  }
  const run = await store.getRun(ids[0]!);
  if (!run) throw new CliError(`run ${ids[0]} no longer exists`);
  return run;
}

export async function loadRunDetail(store: SqliteStore, run: RunRecord): Promise<RunDetail> {
  const [journal, actionResults, incident, children, parent, reruns] = await Promise.all([
    store.loadJournal(run.id), store.listActionResults(run.id), store.getIncident(run.incidentId),
    store.listChildRuns(run.id), run.parentRunId === null ? null : store.getRun(run.parentRunId),
    store.listRuns({ rerunOf: run.id }),
  ]);
  return {
    run, journal, actionResults, incident: incident ? { id: incident.id, name: incident.name } : null, parent, children,
    reruns: reruns.map((r) => ({ id: r.id, status: r.status, requestedBy: r.requestedBy, createdAt: r.createdAt })),
  };
}

/** The journal entry a `<step>` argument names: its seq (`5`, `#5`) or its step name. */
function pickStep(detail: RunDetail, step: string): number {
  const s = step.replace(/^#/, '');
  if (/^\d+$/.test(s)) return Number(s);
  const hits = detail.journal.filter((e) => e.name === step && e.kind === 'action' && e.status === 'started');
  if (hits.length === 1) return hits[0]!.seq;
  throw new CliError(hits.length === 0
    ? `run ${detail.run.id} has no unresolved step named "${step}" (give the step's number, e.g. 5)`
    : `several unresolved steps are named "${step}": give the number (${hits.map((e) => e.seq).join(', ')})`);
}

export function registerRuns(program: Command): void {
  const runs = program.command('runs')
    .description('playbook runs: list, timeline, resolve a parked step, start, re-run, export as a fixture, replay against new code');

  runs.command('list')
    .description('runs, newest first')
    .option('--incident <id>', 'only runs of this incident')
    .option('--status <status>', `only this status (${RUN_STATUSES.join(', ')})`)
    .option('--playbook <id>', 'only runs of this playbook')
    .option('--limit <n>', 'at most n runs', '50')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { incident?: string; status?: string; playbook?: string; limit: string; json?: boolean }, cmd: Command) => {
      const query: RunQuery = { limit: positiveInt('--limit', opts.limit) };
      if (opts.incident !== undefined) query.incidentId = positiveInt('--incident', opts.incident.replace(/^#/, ''));
      if (opts.status !== undefined) {
        if (!RUN_STATUSES.includes(opts.status as RunStatus)) throw new CliError(`--status must be one of ${RUN_STATUSES.join(', ')}, got "${opts.status}"`);
        query.status = opts.status as RunStatus;
      }
      if (opts.playbook !== undefined) query.playbookId = opts.playbook;
      const list = await withStore(cmd, (store) => store.listRuns(query));
      if (opts.json) return printJson({ runs: list });
      if (list.length === 0) return print('no runs');
      print(table(['RUN', 'PLAYBOOK', 'INCIDENT', 'STATUS', 'STARTED', 'DURATION'], list.map((r) => {
        const d = durationBetween(r.startedAt, r.finishedAt);
        return [r.id, `${r.playbookId}@${r.playbookVersion}`, `#${r.incidentId}`, r.status, formatTime(r.startedAt), d === null ? '-' : formatDuration(d)];
      })));
    });

  runs.command('show')
    .description("a run's timeline: every journaled step with timing, inputs, outputs and attempts")
    .argument('<runId>', 'run id or a unique prefix (at least 6 characters)')
    .option('--json', 'machine-readable JSON (everything, untruncated)')
    .action(async (runId: string, opts: { json?: boolean }, cmd: Command) => {
      const detail = await withStore(cmd, async (store) => loadRunDetail(store, await findRun(store, runId)));
      if (opts.json) return printJson(detail);
      print(formatRunTimeline(detail));
    });

  registerRunStarts(runs);
  registerRunChecks(runs);

  runs.command('resolve')
    .description('answer for a parked action whose outcome was unknown; the server resumes the run')
    .argument('<runId>', 'run id or a unique prefix')
    .argument('<step>', 'the step number (seq) shown by `riposte runs show`, or its name')
    .option('--applied', 'the action took effect at the vendor: complete the step with --output')
    .option('--output <json>', "the action's output as JSON (with --applied), checked against its schema", '{}')
    .option('--not-applied', 'the action did not take effect: send it again')
    .action(async (runId: string, step: string, opts: { applied?: boolean; notApplied?: boolean; output: string }, cmd: Command) => {
      if (Boolean(opts.applied) === Boolean(opts.notApplied)) throw new CliError('give exactly one of --applied or --not-applied');
      const message = await withStore(cmd, async (store) => {
        const detail = await loadRunDetail(store, await findRun(store, runId));
        const { run } = detail;
        if (run.status !== 'needs_attention') throw new CliError(`run ${run.id} is ${run.status}, not needs_attention: nothing to resolve`);
        const seq = pickStep(detail, step);
        const entry = detail.journal.find((e) => e.seq === seq);
        if (!entry) throw new CliError(`run ${run.id} has no step ${seq}`);
        if (entry.kind !== 'action' || entry.status !== 'started') {
          throw new CliError(`step ${seq} (${entry.name}) is a ${entry.status} ${entry.kind} step, not an action with an unknown outcome`);
        }
        const label = `step ${seq} ${entry.name}${entry.asset ? ` on asset "${entry.asset}"` : ''}`;
        if (opts.notApplied) {
          await store.resolveStep(run.id, seq, { applied: false }, cliActor());
          return `Resolved ${label} as NOT applied: the server sends it again when it resumes run ${run.id} (within a second).`;
        }
        let raw: unknown;
        try {
          raw = JSON.parse(opts.output);
        } catch (err) {
          throw new CliError(`--output is not valid JSON: ${(err as Error).message}`);
        }
        const appId = entry.app ?? (entry.asset ? (await store.getAsset(entry.asset))?.appId : undefined);
        const def = appId !== undefined && entry.action ? firstPartyCatalog().action(appId, entry.action) : undefined;
        if (!def) throw new CliError(`cannot check the output of ${label}: action ${appId ?? '?'}.${entry.action ?? '?'} is not installed`);
        const parsed = def.output.safeParse(raw);
        if (!parsed.success) {
          const why = issuesText(parsed.error.issues, '(output)');
          throw new CliError(`--output does not match the output of ${appId}.${entry.action}: ${why}`);
        }
        await store.resolveStep(run.id, seq, { applied: true, output: parsed.data }, cliActor());
        return `Resolved ${label} as APPLIED with output ${JSON.stringify(parsed.data)}: the server resumes run ${run.id} from the next step (within a second).`;
      });
      print(message);
      print(`Follow it with: riposte runs show ${runId}`);
    });
}
