/** `riposte cases list|show`: Riposte's built-in cases (tickets opened by playbooks or the API). */
import type { Command } from 'commander';
import type { CaseStatus } from '../../store/records.js';
import type { CaseQuery } from '../../store/store.js';
import { CliError, positiveInt, printJson, withStore } from '../open-store.js';
import { formatTime, table, terminalSafe as s, truncate } from '../format.js';
import { print } from '../output.js';

const STATUSES: readonly CaseStatus[] = ['open', 'in_progress', 'resolved', 'closed'];

export function registerCases(program: Command): void {
  const cases = program.command('cases').description("Riposte's built-in cases (for teams without a ticketing system)");

  cases.command('list')
    .description('cases, newest first')
    .option('--status <status>', `only cases in this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { status?: string; limit?: string; json?: boolean }, cmd: Command) => {
      const query: CaseQuery = { limit: opts.limit === undefined ? 50 : positiveInt('--limit', opts.limit) };
      if (opts.status !== undefined) {
        if (!(STATUSES as readonly string[]).includes(opts.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}, got "${opts.status}"`);
        query.status = opts.status as CaseStatus;
      }
      const all = await withStore(cmd, (store) => store.listCases(query));
      if (opts.json) return printJson({ cases: all });
      if (all.length === 0) return print('no cases');
      print(table(['KEY', 'PRIORITY', 'STATUS', 'INCIDENT', 'CREATED', 'TITLE'], all.map((c) => [
        c.key, c.priority, c.status, c.incidentId === null ? '-' : `#${c.incidentId}`, formatTime(c.createdAt), truncate(c.title, 80),
      ])));
    });

  cases.command('show')
    .description('a case with its comments')
    .argument('<key>', 'CASE-12 or 12')
    .option('--json', 'machine-readable JSON')
    .action(async (key: string, opts: { json?: boolean }, cmd: Command) => {
      const c = await withStore(cmd, (store) => store.getCase(key));
      if (!c) throw new CliError(`case ${key.toUpperCase()} does not exist`);
      if (opts.json) return printJson({ case: c });
      print(`${s(c.key)}  ${s(c.title)}`);
      const head: Array<[string, string]> = [
        ['status', s(c.status)], ['priority', s(c.priority)], ['incident', c.incidentId === null ? '-' : `#${c.incidentId}`],
        ['labels', s(c.labels.join(', ')) || '-'], ['dedupe key', s(c.dedupeKey)], ['created', formatTime(c.createdAt)],
        ['updated', formatTime(c.updatedAt)], ['resolved', formatTime(c.resolvedAt)],
      ];
      for (const [k, v] of head) print(`  ${k.padEnd(10)}  ${v}`);
      if (c.description !== '') {
        print('');
        for (const line of c.description.split('\n')) print(`  ${s(line)}`);
      }
      print('');
      print(c.comments.length === 0 ? '  no comments' : `  ${c.comments.length} comment${c.comments.length === 1 ? '' : 's'}`);
      for (const m of c.comments) {
        print(`  ── ${formatTime(m.createdAt)}  ${s(m.author)}`);
        for (const line of m.text.split('\n')) print(`     ${s(line)}`);
      }
    });
}
