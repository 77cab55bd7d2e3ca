/**
 * `riposte audit verify|list|rotate-key`: the keyed, hash-chained audit log. Local commands: whoever
 * runs them needs the data directory and the audit keyring (file permissions decide who may).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, cliActor, dataDirOf, positiveInt, printJson, withStore } from '../open-store.js';
import { formatTime, summarize, table } from '../format.js';
import { print } from '../output.js';
import { terminalSafe } from '../terminal-text.js';
import { auditConfig } from '../../audit/config.js';
import { loadAuditKeyring, rotateAuditKeyring } from '../../store/audit-keyring.js';
import { parseCheckpoints, type AuditCheckpoint } from '../../store/audit-checkpoint.js';
import type { AuditVerification } from '../../store/store.js';

interface CheckpointSource { file: string | null; checkpoints: AuditCheckpoint[]; errors: string[] }

/** The checkpoints of `--checkpoint`, else of the server's checkpoint file when there is one. */
function loadCheckpoints(cmd: Command, flag: string | undefined): CheckpointSource {
  const dataDir = dataDirOf(cmd);
  const file = flag ?? auditConfig(dataDir).checkpointFile;
  if (!existsSync(file)) {
    if (flag !== undefined) throw new CliError(`no checkpoint file at ${file}`);
    return { file: null, checkpoints: [], errors: [] };
  }
  const keys = loadAuditKeyring({ dataDir, create: false });
  return { file, ...parseCheckpoints(readFileSync(file, 'utf8'), keys, file) };
}

/** What the result proves and what it cannot, in words (printed after OK and after BROKEN alike). */
function explain(v: AuditVerification, src: CheckpointSource): string[] {
  const lines: string[] = [];
  const keyedFrom = v.keyedFrom ?? null;
  const end = v.ok ? v.entries : (v.firstBadId ?? 1) - 1;
  const plainEnd = keyedFrom === null ? end : keyedFrom - 1;
  if (plainEnd >= 1 && keyedFrom === null) {
    lines.push(`  #1–#${plainEnd}: plain SHA-256 links only (no keyed entry yet): they agree with each other, but anyone`,
      '    who could write the database could have rewritten and re-hashed them all');
  } else if (plainEnd >= 1) {
    lines.push(`  #1–#${plainEnd}: plain SHA-256 links (written before the chain was keyed); the keyed link of #${keyedFrom}`,
      '    covers their hash, so rewriting them means re-hashing the keyed part too: see the next line');
  }
  if (keyedFrom !== null && end >= keyedFrom) {
    lines.push(`  #${keyedFrom}–#${end}: HMAC-SHA-256 links (keys ${(v.keyIds ?? []).join(', ')}): an edit, removal, reordering`,
      '    or re-hash by someone without the audit key would have failed');
  }
  const cps = v.checkpoints;
  if (src.file === null) {
    lines.push('  checkpoints: none given: removing the newest entries (truncation), or re-hashing the whole chain',
      '    as plain SHA-256, would go unnoticed; pass --checkpoint <file> (or the SIEM\'s copy)');
  } else if (cps && cps.lastId !== null) {
    lines.push(`  checkpoints: ${cps.checked} from ${src.file}; the newest covers #1–#${cps.lastId} (${cps.at})`,
      `  not detected: removal of entries after #${cps.lastId} (newer than the last checkpoint), and any change`,
      '    by someone holding the audit key (keep a copy of the checkpoints where they cannot write: the SIEM)');
  } else {
    lines.push(`  checkpoints: ${src.file} holds none`);
  }
  return lines;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  audit.command('verify')
    .description('recompute the keyed hash chain and check it against the signed checkpoints; exit 2 when broken')
    .option('--checkpoint <file>', 'checkpoint file (JSON lines; default: the server\'s, when present)')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { checkpoint?: string; json?: boolean }, cmd: Command) => {
      const src = loadCheckpoints(cmd, opts.checkpoint);
      let v = await withStore(cmd, (store) => store.verifyAudit(src.checkpoints));
      if (src.errors.length > 0 && v.ok) {
        v = { ...v, ok: false, reason: `the checkpoint file does not check out: ${src.errors.join('; ')}` };
      }
      if (opts.json) printJson({ ...v, checkpointFile: src.file, checkpointErrors: src.errors });
      else {
        const head = v.ok ? `audit chain OK: ${v.entries} entries`
          : `audit chain BROKEN${v.firstBadId !== undefined ? ` at entry #${v.firstBadId}` : ''}: ${v.reason ?? 'hash mismatch'}`;
        print([head, ...explain(v, src)].map(terminalSafe).join('\n'));
      }
      if (!v.ok) process.exitCode = 2;
    });

  audit.command('rotate-key')
    .description('add a new audit key to the keyring (old keys stay, so old entries still verify); audited')
    .action(async (_opts: unknown, cmd: Command) => {
      let r: { from: string; to: string; path: string };
      try {
        r = rotateAuditKeyring({ dataDir: dataDirOf(cmd) });
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      // Opened after the rotation: this entry is the first chained with the new key.
      await withStore(cmd, (store) => store.appendAudit({ actor: cliActor(), action: 'audit.rotate_key', detail: { from: r.from, to: r.to } }));
      print(`audit key rotated in ${r.path}: ${r.from} → ${r.to}\n` +
        `A running server keeps chaining with ${r.from} (still valid) until it is restarted.`);
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
