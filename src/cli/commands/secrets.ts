/**
 * `riposte secrets status | rotate-key`: the master key's id and a rotation's progress, and the
 * rotation itself. Local commands: who may run them is whoever may read the master key and write
 * the data directory (file permissions, the key command's own access control); there is no API route.
 *
 * Failure semantics of rotate-key: for a key held in a file, the new key is written durably to
 * `<key file>.next` before any row changes; rows are re-encrypted one transaction each (see
 * store/sqlite/key-rotation.ts); the database retires the old key; only then does the new key file
 * replace the old one (atomic rename). Killed at any point, a rerun of the same command finishes it.
 * For a key from the environment or a command, the new key comes from --new-key-file or
 * --new-key-command, and the operator switches the key source once the command reports success.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  NEXT_KEY_SUFFIX, keySourceOf, promoteNextKeyFile, readKey, readNextKey, writeKeyFile, type KeySource,
} from '../../store/master-key.js';
import { keyIdOf } from '../../store/secrets.js';
import { DB_FILE, SqliteStore } from '../../store/sqlite/index.js';
import { Sealer, resealApproval } from '../../policy/seal.js';
import { liveServerPid } from '../../server/server-pid.js';
import { CliError, cliActor, dataDirOf, keyFlagsOf, printJson } from '../open-store.js';
import { write } from '../output.js';

/** Test knob: the rotation kills its own process after this many rows (proves a rerun resumes). */
export const KILL_AFTER_ROWS_ENV = 'RIPOSTE_TEST_ROTATION_KILL_AFTER_ROWS';

interface NewKeyOpts { newKeyFile?: string; newKeyCommand?: string }

/** The new key given for a key from the environment or a command (which Riposte cannot rewrite). */
function givenNewKey(source: KeySource, opts: NewKeyOpts, dataDir: string): { key: Buffer; origin: string } | null {
  const given = opts.newKeyFile !== undefined || opts.newKeyCommand !== undefined;
  if (source.kind === 'file') {
    if (!given) return null;
    throw new CliError(`the master key is the file ${source.path}: the rotation generates the new key itself ` +
      `(written to ${source.path}${NEXT_KEY_SUFFIX} first); --new-key-file and --new-key-command are for keys ` +
      'from the environment or a command');
  }
  if (!given) {
    throw new CliError(`the master key comes from ${source.origin}, which Riposte cannot rewrite: ` +
      'give the new key with --new-key-file <path> or --new-key-command <command>');
  }
  if (opts.newKeyFile !== undefined && opts.newKeyCommand !== undefined) {
    throw new CliError('give the new key once: --new-key-file or --new-key-command, not both');
  }
  const src = keySourceOf({ dataDir, env: {}, keyFile: opts.newKeyFile, keyCommand: opts.newKeyCommand });
  return { key: readKey(src), origin: src.origin.replace(/^--key-/, '--new-key-') };
}

/** A file-held key's new key: the unfinished rotation's, or a fresh one written durably before any row changes. */
function fileNewKey(source: KeySource & { kind: 'file' }): { key: Buffer; origin: string } {
  const origin = `${source.path}${NEXT_KEY_SUFFIX}`;
  const unfinished = readNextKey(source);
  if (unfinished) return { key: unfinished, origin };
  if (!writeKeyFile(origin, randomBytes(32))) throw new CliError(`${origin} appeared meanwhile: is another rotation running?`);
  return { key: readNextKey(source)!, origin };
}

function refuseBesideServer(dataDir: string): void {
  const pid = liveServerPid(dataDir);
  if (pid !== null && pid !== process.pid) {
    throw new CliError(`a Riposte server (pid ${pid}) is running on ${dataDir}: stop it first ` +
      '(it keeps the master key in memory); start it again once the rotation is done');
  }
}

function requireDb(dataDir: string): string {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) throw new CliError(`no Riposte data in ${dataDir}: start the server first with \`riposte serve\``);
  return path;
}

async function rotateKey(opts: NewKeyOpts, cmd: Command): Promise<void> {
  const dataDir = dataDirOf(cmd);
  const dbPath = requireDb(dataDir);
  refuseBesideServer(dataDir);
  const source = keySourceOf({ dataDir, env: process.env, ...keyFlagsOf(cmd) });
  const current = readKey(source);
  const given = givenNewKey(source, opts, dataDir);
  // Opening checks the loaded key against the database before anything is written: a wrong or
  // retired key is refused here, and no new key file appears beside it.
  const store = new SqliteStore({ path: dbPath, secretKey: current, nextKey: given?.key ?? readNextKey(source) });
  let next: { key: Buffer; origin: string };
  let result;
  try {
    await store.migrate();
    next = given ?? fileNewKey(source as KeySource & { kind: 'file' });
    if (store.keyStatus().currentKeyId === keyIdOf(next.key)) {
      result = null; // the database finished; only the key file was not replaced yet
    } else {
      const killAfter = Number(process.env[KILL_AFTER_ROWS_ENV] ?? '0');
      const sealer = new Sealer([next.key, current]);
      result = store.rotateMasterKey(next.key, cliActor(), {
        reseal: (a) => resealApproval(sealer, a),
        afterRow: (done) => { if (killAfter > 0 && done >= killAfter) process.kill(process.pid, 'SIGKILL'); },
      });
    }
  } finally {
    await store.close();
  }
  if (source.kind === 'file') promoteNextKeyFile(source.path);
  const toKeyId = keyIdOf(next.key);
  const lines = [`master key rotated: ${keyIdOf(current)} → ${toKeyId}${result?.resumed ? ' (resumed)' : ''}`];
  if (result) lines.push(`re-encrypted: ${Object.entries(result.reencrypted).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(source.kind === 'file'
    ? `${source.path} now holds the new key; the old key is retired and refused`
    : `now switch ${source.origin} to the new key (id ${toKeyId}, from ${next.origin}): the old key is retired and refused`);
  write(`${lines.join('\n')}\n`);
}

export function registerSecrets(program: Command): void {
  const secrets = program.command('secrets').description('the master key that encrypts asset secrets: status and rotation (local)');
  secrets.command('status')
    .description('key ids (never keys): the current one, a rotation under way, retired ones, secrets per key')
    .action(async (_opts: unknown, cmd: Command) => {
      const dataDir = dataDirOf(cmd);
      requireDb(dataDir);
      const source = keySourceOf({ dataDir, env: process.env, ...keyFlagsOf(cmd) });
      const store = new SqliteStore({ path: join(dataDir, DB_FILE), secretKey: readKey(source), nextKey: readNextKey(source) });
      try {
        await store.migrate();
        printJson({ keySource: source.origin, ...store.keyStatus() });
      } finally {
        await store.close();
      }
    });
  secrets.command('rotate-key')
    .description('generate a new master key, re-encrypt every secret under it and retire the old one; ' +
      'rerun to finish an interrupted rotation (stop the server first)')
    .option('--new-key-file <path>', 'the new key, when the current one comes from the environment or a command')
    .option('--new-key-command <command>', 'command printing the new key (run without a shell)')
    .action(rotateKey);
}
