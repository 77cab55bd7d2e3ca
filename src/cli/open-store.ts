/**
 * What every CLI command shares: the data directory, the store in it, the actor name written to
 * the audit log, and `CliError` — an error in what the user asked for, printed as one line.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DB_FILE, openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { keySourceOf } from '../store/master-key.js';

/** A user error: printed as `error: <message>` without a stack trace, exit code `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--data-dir`, else RIPOSTE_DATA_DIR, else ./data (as `serveConfig` resolves it). */
export function dataDirOf(cmd: Command, env: NodeJS.ProcessEnv = process.env): string {
  const flag = cmd.optsWithGlobals()['dataDir'] as string | undefined;
  return resolve(flag ?? env['RIPOSTE_DATA_DIR'] ?? 'data');
}

/** `--key-file` / `--key-command` (global options), when given. */
export function keyFlagsOf(cmd: Command): { keyFile?: string; keyCommand?: string } {
  const o = cmd.optsWithGlobals() as { keyFile?: string; keyCommand?: string };
  return { ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), ...(o.keyCommand !== undefined ? { keyCommand: o.keyCommand } : {}) };
}

/** The audit actor of a CLI change: `cli:<os user name>`. */
export function cliActor(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env['USER'] ?? process.env['USERNAME'] ?? 'unknown';
  }
  return `cli:${name || 'unknown'}`;
}

/**
 * Opens `<dataDir>/riposte.db`. Never creates anything: a missing database means the server never
 * ran there, and a missing key must not be replaced by a fresh one (the assets' secrets were
 * encrypted with the old key).
 */
export async function openStore(
  dataDir: string, env: NodeJS.ProcessEnv = process.env, flags: { keyFile?: string; keyCommand?: string } = {},
): Promise<SqliteStore> {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) {
    throw new CliError(`no Riposte data in ${dataDir}: start the server first with \`riposte serve\` (or npm start)`);
  }
  const source = keySourceOf({ dataDir, env, ...flags });
  if (source.kind === 'file' && source.isDefault && !existsSync(source.path)) {
    throw new CliError(
      `the secret key of ${path} is missing: set RIPOSTE_SECRET_KEY (or --key-file, --key-command) or restore ${source.path}`);
  }
  return openSqliteStore({ dataDir, env, ...flags, create: false });
}

/** Opens the store for the command, runs `fn`, and always closes it. */
export async function withStore<T>(cmd: Command, fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = await openStore(dataDirOf(cmd), process.env, keyFlagsOf(cmd));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export { printJson } from './output.js';

/** Parses a positive integer option/argument or fails with a message naming it. */
export function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) throw new CliError(`${name} must be a positive integer, got "${raw}"`);
  return n;
}
