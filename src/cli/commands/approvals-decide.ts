/**
 * `riposte approvals approve|deny`: decide approval requests as the token's user, through the API.
 *
 * The command first shows exactly what it is about to decide (action, asset, parameters, run and
 * step of each approval). Approvals are named by their full ids, or as the pending approvals of one
 * run (`--run`: a full run id or a prefix matching exactly one run; the server refuses an
 * ambiguous one and lists the matches) or of one incident (`--incident`). Deciding more than one
 * needs `--yes` or typing `yes` at a terminal; otherwise nothing is sent. A run's approvals are
 * decided by the server's bulk route with the exact set shown here, so one that appeared or was
 * decided in the meantime makes the server refuse the whole set rather than decide something
 * that was not shown.
 */
import type { Command } from 'commander';
import type { ApprovalRecord, ApprovalStatus } from '../../store/policy-records.js';
import type { RunRecord } from '../../store/records.js';
import { addApiOptions, apiClient, type ApiClient } from '../api-client.js';
import { CliError, positiveInt } from '../open-store.js';
import { summarize, table, terminalSafe } from '../format.js';
import { confirmByTyping, interactive, type ConfirmIo } from '../confirm.js';
import { print } from '../output.js';

type Decision = 'approve' | 'deny';
interface DecideOptions { run?: string; incident?: string; yes?: boolean; comment?: string }
/** Approvals to decide together: those of one run (bulk route) or named one by one by their ids. */
interface Batch { runId: string | null; approvals: ApprovalRecord[] }
interface BulkResult {
  id: string;
  status: ApprovalStatus;
  approval: ApprovalRecord | null;
  error?: { code: string; message: string };
}
interface BulkAnswer { results: BulkResult[] }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const done: Record<Decision, string> = { approve: 'approved', deny: 'denied' };

const s = terminalSafe;

async function byIds(api: ApiClient, ids: string[]): Promise<Batch[]> {
  const bad = ids.find((id) => !UUID.test(id));
  if (bad !== undefined) {
    throw new CliError(`"${s(bad)}" is not an approval id (a UUID, as \`riposte approvals list\` prints it)`);
  }
  const approvals: ApprovalRecord[] = [];
  for (const id of new Set(ids)) {
    const { approval } = await api.get<{ approval: ApprovalRecord }>(`/approvals/${encodeURIComponent(id)}`);
    if (approval.status !== 'pending') {
      throw new CliError(`approval ${s(id)} is already ${s(approval.status)}; nothing was decided`);
    }
    approvals.push(approval);
  }
  return [{ runId: null, approvals }];
}

async function pendingOfRun(api: ApiClient, ref: string): Promise<Batch> {
  const { run, approvals } = await api.get<{ run: { id: string }; approvals: ApprovalRecord[] }>(
    `/runs/${encodeURIComponent(ref)}/approvals?status=pending`);
  return { runId: run.id, approvals };
}

async function byRun(api: ApiClient, ref: string): Promise<Batch[]> {
  const batch = await pendingOfRun(api, ref);
  if (batch.approvals.length === 0) throw new CliError(`run ${s(batch.runId!)} has no pending approvals`);
  return [batch];
}

async function byIncident(api: ApiClient, incident: string): Promise<Batch[]> {
  const id = positiveInt('--incident', incident.replace(/^#/, ''));
  await api.get(`/incidents/${id}`); // a clear 404 for an incident that does not exist
  const { runs } = await api.get<{ runs: RunRecord[] }>(`/runs?incidentId=${id}&limit=500`);
  const batches: Batch[] = [];
  for (const run of runs) {
    const b = await pendingOfRun(api, run.id);
    if (b.approvals.length > 0) batches.push(b);
  }
  if (batches.length === 0) throw new CliError(`incident #${id} has no pending approvals`);
  return batches;
}

/** What is about to be decided, one approval a line; every field is terminal-safe. */
export function describeApprovals(approvals: ApprovalRecord[]): string {
  return table(['APPROVAL', 'ACTION', 'ASSET', 'PARAMETERS', 'RUN', 'STEP'], approvals.map((a) => [
    s(a.id), s(`${a.app}.${a.action}`), s(a.asset), summarize(a.params, 80), s(a.runId), String(a.seq),
  ]));
}

async function confirmed(decision: Decision, n: number, o: DecideOptions, io: ConfirmIo): Promise<void> {
  if (n === 1 || o.yes) return;
  if (!interactive(io)) {
    throw new CliError(`refusing to ${decision} ${n} approvals without confirmation: check the list above, then run ` +
      'again with --yes (or in a terminal, to confirm by typing yes); nothing was decided');
  }
  const yes = await confirmByTyping(`Type yes to ${decision} these ${n} approvals: `, io);
  if (!yes) throw new CliError('not confirmed; nothing was decided');
}

const resultLine = (a: { id: string; action: string; asset: string; status: string }) =>
  `${s(a.id)}: ${s(a.action)} on ${s(a.asset)} is now ${s(a.status)}`;

/** Decides every batch; returns how many approvals were refused by the server. */
async function decideAll(api: ApiClient, decision: Decision, batches: Batch[], comment?: string): Promise<number> {
  let refused = 0;
  for (const b of batches) {
    if (b.runId === null) {
      for (const a of b.approvals) {
        const path = `/approvals/${encodeURIComponent(a.id)}/${decision}`;
        const { approval } = await api.send<{ approval: ApprovalRecord }>('POST', path, comment ? { comment } : {});
        print(resultLine(approval));
      }
      continue;
    }
    const path = `/runs/${encodeURIComponent(b.runId)}/approvals/decide`;
    const answer = await api.send<BulkAnswer>('POST', path, {
      decision, approvalIds: b.approvals.map((a) => a.id), ...(comment ? { comment } : {}),
    });
    for (const r of answer.results) {
      const shown = b.approvals.find((a) => a.id === r.id);
      const line = resultLine({ ...r, action: shown?.action ?? '?', asset: shown?.asset ?? '?' });
      if (r.error) {
        refused++;
        print(`${line} (not ${done[decision]}: ${s(r.error.message)} [${s(r.error.code)}])`);
      } else {
        print(line);
      }
    }
  }
  return refused;
}

const TERMINAL: ConfirmIo = { input: process.stdin, output: process.stdout };

export function registerApprovalDecisions(approvals: Command, io: ConfirmIo = TERMINAL): void {
  for (const decision of ['approve', 'deny'] as const) {
    addApiOptions(approvals.command(`${decision} [ids...]`)
      .description(`${decision} approval requests (as the token's user), after showing what they are`))
      .option('--run <ref>', `${decision} the pending requests of this run (full run id, or a prefix matching one run)`)
      .option('--incident <number>', `${decision} the pending requests of this incident's runs`)
      .option('--yes', `${decision} more than one request without asking`)
      .option('--comment <text>', 'why')
      .action(async (ids: string[], o: DecideOptions, cmd: Command) => {
        const named = [ids.length > 0, o.run !== undefined, o.incident !== undefined].filter(Boolean).length;
        if (named === 0) {
          throw new CliError(`nothing to ${decision}: give approval ids, --run <run id> or --incident <number>`);
        }
        if (named > 1) throw new CliError('give approval ids, --run or --incident, not several');
        const api = apiClient(cmd);
        const batches = ids.length > 0 ? await byIds(api, ids)
          : o.run !== undefined ? await byRun(api, o.run) : await byIncident(api, o.incident!);
        const all = batches.flatMap((b) => b.approvals);
        const what = all.length === 1 ? 'this approval request' : `these ${all.length} approval requests`;
        print(`About to ${decision} ${what}:`);
        print(describeApprovals(all));
        await confirmed(decision, all.length, o, io);
        const refused = await decideAll(api, decision, batches, o.comment);
        if (refused > 0) {
          throw new CliError(`${refused} of ${all.length} approval requests were not ${done[decision]} (see above)`);
        }
      });
  }
}
