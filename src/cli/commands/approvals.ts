/** `riposte approvals …` and `riposte prompts …`: the inbox of decisions people owe running playbooks. */
import type { Command } from 'commander';
import type { ApprovalRecord, PromptRecord } from '../../store/policy-records.js';
import { addApiOptions, apiClient } from '../api-client.js';
import { printJson } from '../open-store.js';
import { registerApprovalDecisions } from './approvals-decide.js';
import { formatTime, summarize, table, terminalSafe } from '../format.js';
import { print } from '../output.js';

function approvalLine(a: ApprovalRecord): string[] {
  const approvals = a.decisions.filter((d) => d.decision === 'approve').length;
  const cells = [
    a.id, a.status, `${a.app}.${a.action}`, a.asset, summarize(a.params, 50), `${approvals}/${a.quorum}`, a.runId,
    formatTime(a.expiresAt),
  ];
  return cells.map(terminalSafe);
}

function approvalDetail(a: ApprovalRecord): string {
  return [
    `Approval ${a.id}  ${a.status.toUpperCase()}`,
    `  action      ${a.kind} ${a.app}.${a.action} on asset "${a.asset}"`,
    `  parameters  ${JSON.stringify(a.params)}`,
    `  param hash  ${a.paramsHash}`,
    `  run / step  ${a.runId} / ${a.seq}`,
    `  why         ${a.reasons.join('; ')}`,
    `  approvers   users [${a.approvers.users.join(', ')}] roles [${a.approvers.roles.join(', ')}], quorum ${a.quorum}${a.fourEyes ? ', four-eyes' : ''}`,
    `  requested   by ${a.requestedBy} at ${formatTime(a.requestedAt)}, expires ${formatTime(a.expiresAt)}`,
    ...(a.excluded ?? []).map((e, i) => `  ${i === 0 ? 'not by     ' : '           '} ${e.principal}: ${e.why}`),
    ...a.decisions.map((d) => `  ${d.decision === 'approve' ? 'approved' : 'denied  '}    by ${d.user} via ${d.via} at ${formatTime(d.at)}${d.comment ? `: ${d.comment}` : ''}`),
  ].map(terminalSafe).join('\n');
}

export function registerApprovals(program: Command): void {
  const approvals = program.command('approvals').description('approval requests for destructive actions');
  addApiOptions(approvals.command('list').description('list approval requests (pending by default)'))
    .option('--status <status>', 'pending | approved | denied | expired | cancelled | all', 'pending')
    .option('--json', 'print JSON')
    .action(async (o: { status: string; json?: boolean }, cmd: Command) => {
      const q = o.status === 'all' ? '' : `?status=${encodeURIComponent(o.status)}`;
      const { approvals: list } = await apiClient(cmd).get<{ approvals: ApprovalRecord[] }>(`/approvals${q}`);
      if (o.json) return printJson(list);
      if (list.length === 0) return print(`no ${o.status === 'all' ? '' : `${o.status} `}approval requests`);
      print(table(['ID', 'STATUS', 'ACTION', 'ASSET', 'PARAMETERS', 'APPROVED', 'RUN', 'EXPIRES'], list.map(approvalLine)));
    });
  addApiOptions(approvals.command('show <id>').description('show one approval request')).option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const { approval } = await apiClient(cmd).get<{ approval: ApprovalRecord }>(`/approvals/${encodeURIComponent(id)}`);
      if (o.json) return printJson(approval);
      print(approvalDetail(approval));
    });
  registerApprovalDecisions(approvals);

  const prompts = program.command('prompts').description('questions playbooks ask people');
  addApiOptions(prompts.command('list').description('list prompts (pending by default)'))
    .option('--status <status>', 'pending | answered | timed_out | all', 'pending').option('--json', 'print JSON')
    .action(async (o: { status: string; json?: boolean }, cmd: Command) => {
      const q = o.status === 'all' ? '' : `?status=${encodeURIComponent(o.status)}`;
      const { prompts: list } = await apiClient(cmd).get<{ prompts: PromptRecord[] }>(`/prompts${q}`);
      if (o.json) return printJson(list);
      if (list.length === 0) return print('no prompts');
      print(table(['ID', 'STATUS', 'FOR', 'TYPE', 'QUESTION', 'EXPIRES'], list.map((p) => [
        p.id, p.status, p.assigneeUser ? `user ${p.assigneeUser}` : `role ${p.assigneeRole}`, p.answerType + (p.options ? ` (${p.options.join('|')})` : '') + (p.gatesContainment ? ', gates containment' : ''), summarize(p.question, 60), formatTime(p.expiresAt),
      ])));
    });
  addApiOptions(prompts.command('show <id>').description('show one prompt')).option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const { prompt } = await apiClient(cmd).get<{ prompt: PromptRecord }>(`/prompts/${encodeURIComponent(id)}`);
      if (o.json) return printJson(prompt);
      printJson(prompt);
    });
  addApiOptions(prompts.command('answer <id> <answer>').description('answer a prompt (yes/no, a choice, a number or text)'))
    .action(async (id: string, answer: string, _o: unknown, cmd: Command) => {
      const { prompt } = await apiClient(cmd).send<{ prompt: PromptRecord }>('POST', `/prompts/${encodeURIComponent(id)}/answer`, { answer });
      print(`prompt ${prompt.id} answered: ${JSON.stringify(prompt.answer)}`);
    });
}
