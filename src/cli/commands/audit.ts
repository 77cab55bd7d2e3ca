/** `riposte audit verify|list`: the hash-chained audit log. */
import type { Command } from 'commander';
import { CliError, positiveInt, printJson, withStore } from '../open-store.js';
import { formatTime, summarize, table } from '../format.js';
import { print } from '../output.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  audit.command('verify')
    .description('recompute the hash chain; exit 2 when it is broken')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const v = await withStore(cmd, (store) => store.verifyAudit());
      if (opts.json) printJson(v);
      else if (v.ok) print(`audit chain OK: ${v.entries} entries`);
      else print(`audit chain BROKEN at entry #${v.firstBadId ?? '?'}: ${v.reason ?? 'hash mismatch'}`);
      if (!v.ok) process.exitCode = 2;
    });

  audit.command('list')
    .description('audit entries, oldest first')
    .option('--after <id>', 'only entries with an id greater than this')
    .option('--limit <n>', 'at most n entries', '100')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { after?: string; limit: string; json?: boolean }, cmd: Command) => {
      const query: { after?: number; limit: number } = { limit: positiveInt('--limit', opts.limit) };
      if (opts.after !== undefined) {
        if (!/^\d+$/.test(opts.after)) throw new CliError(`--after must be an entry id, got "${opts.after}"`);
        query.after = Number(opts.after);
      }
      const entries = await withStore(cmd, (store) => store.listAudit(query));
      if (opts.json) return printJson({ entries });
      if (entries.length === 0) return print('no audit entries');
      print(table(['ID', 'AT', 'ACTOR', 'ACTION', 'TARGET', 'DETAIL'], entries.map((e) => [
        String(e.id), formatTime(e.at), e.actor, e.action, e.target ?? '', e.detail === null || e.detail === undefined ? '' : summarize(e.detail, 80),
      ])));
    });
}
