/**
 * `riposte prune --older-than 30d [--batch 500] [--batch-ms 25]`: deletes the history of finished
 * runs (journal, action results, approvals, prompts) older than the given age, in small
 * transactions (each sized to hold the write lock about --batch-ms) so a running server keeps
 * ingesting alerts meanwhile. Incidents, notes and the audit log are kept; the prune itself is
 * recorded in the audit log.
 */
import type { Command } from 'commander';
import type { PruneCounts } from '../../store/store.js';
import { DEFAULT_TARGET_BATCH_MS } from '../../store/sqlite/prune.js';
import { CliError, cliActor, positiveInt, printJson, withStore } from '../open-store.js';
import { print, writeErr } from '../output.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `3600s`, `2w` → milliseconds. */
export function parseAge(raw: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(raw.trim());
  if (!m) throw new CliError(`--older-than must look like 30d, 12h, 90m, 3600s or 2w, got "${raw}"`);
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0) throw new CliError('--older-than must be more than zero');
  return ms;
}

export function registerPrune(program: Command): void {
  program.command('prune')
    .description('delete the history (journal, action results, approvals, prompts) of finished runs older than an age; incidents and the audit log are kept')
    .requiredOption('--older-than <age>', 'age of the runs to delete, by when they finished: 30d, 12h, 90m, 2w …')
    .option('--batch <n>', 'most runs deleted per transaction', '500')
    .option('--batch-ms <ms>', 'how long one transaction may hold the write lock; batches are sized to it, so a running server keeps ingesting', String(DEFAULT_TARGET_BATCH_MS))
    .option('--json', 'print the counts as JSON')
    .action(async (opts: { olderThan: string; batch: string; batchMs: string; json?: boolean }, cmd: Command) => {
      const ageMs = parseAge(opts.olderThan);
      const batchSize = positiveInt('--batch', opts.batch);
      if (batchSize > 10_000) throw new CliError('--batch must be at most 10000');
      const targetBatchMs = positiveInt('--batch-ms', opts.batchMs);
      if (targetBatchMs > 60_000) throw new CliError('--batch-ms must be at most 60000');
      const finishedBefore = new Date(Date.now() - ageMs).toISOString();
      const started = Date.now();
      const counts: PruneCounts = await withStore(cmd, async (store) => {
        const c = await store.pruneRuns({
          finishedBefore, batchSize, targetBatchMs,
          onBatch: (soFar) => { if (!opts.json && soFar.batches % 20 === 0) writeErr(`  … ${soFar.runs} runs deleted\n`); },
        });
        if (c.runs > 0) await store.appendAudit({ actor: cliActor(), action: 'runs.prune', detail: { finishedBefore, ...c } });
        return c;
      });
      if (opts.json) return printJson({ finishedBefore, seconds: (Date.now() - started) / 1000, ...counts });
      print(`Deleted ${counts.runs} runs that finished before ${finishedBefore}, in ${counts.batches} batches: ` +
        `${counts.journal} journal entries, ${counts.actionResults} action results, ${counts.approvals} approvals ` +
        `(${counts.approvalDecisions} decisions, ${counts.emailLinks} e-mail links), ${counts.prompts} prompts.`);
    });
}
