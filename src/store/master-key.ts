/**
 * Where the master key comes from, and the files a key rotation writes. Sources, in precedence:
 *   1. a command (`--key-command` or RIPOSTE_SECRET_KEY_COMMAND): run without a shell, its stdout
 *      is the key (a KMS or vault client);
 *   2. a file (`--key-file` or RIPOSTE_SECRET_KEY_FILE), mode 0600;
 *   3. the value itself (RIPOSTE_SECRET_KEY);
 *   4. `<dataDir>/secret.key`, created (0600, 32 random bytes) on the server's first start.
 * A flag wins over its own environment variable; two different kinds set at once (a command and a
 * file, say) is refused as ambiguous rather than one silently shadowing the other.
 *
 * Failure semantics: loading writes nothing except the default key file on first start, created
 * atomically (temp file, fsync, hard link, fsync of the directory) so a crash leaves either no key
 * file or a whole one. A rotation's new key is written the same way to `<key file>.next` before any
 * row changes, and replaces the key file by an atomic rename only once every row is re-encrypted.
 * Key bytes never reach a message: errors name the source, never its contents or the command's stdout.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync,
  unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SecretKeyError, parseSecretKey } from './secrets.js';

export const SECRET_KEY_ENV = 'RIPOSTE_SECRET_KEY';
export const SECRET_KEY_FILE_ENV = 'RIPOSTE_SECRET_KEY_FILE';
export const SECRET_KEY_COMMAND_ENV = 'RIPOSTE_SECRET_KEY_COMMAND';
export const SECRET_KEY_FILE = 'secret.key';
/** Suffix of the file holding the new key while a rotation is under way. */
export const NEXT_KEY_SUFFIX = '.next';
const COMMAND_TIMEOUT_MS = 15_000;

export type KeySource =
  | { kind: 'command'; argv: string[]; origin: string }
  | { kind: 'file'; path: string; origin: string; isDefault: boolean }
  | { kind: 'env'; origin: string };

export interface KeySourceOptions {
  dataDir: string;
  env?: Record<string, string | undefined>;
  /** `--key-file`: overrides RIPOSTE_SECRET_KEY_FILE. */
  keyFile?: string | undefined;
  /** `--key-command`: overrides RIPOSTE_SECRET_KEY_COMMAND. */
  keyCommand?: string | undefined;
}

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/**
 * Splits a key command into argv without a shell: a JSON array of strings as is, or words
 * separated by spaces. Shell syntax (quotes, `$`, pipes, redirections…) is refused, not interpreted.
 */
export function parseKeyCommand(text: string, origin: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    let argv: unknown;
    try {
      argv = JSON.parse(t);
    } catch {
      throw new SecretKeyError(`${origin}: not a valid JSON array of strings`);
    }
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string' && a !== '')) {
      throw new SecretKeyError(`${origin}: a JSON key command must be a non-empty array of non-empty strings`);
    }
    return argv as string[];
  }
  if (/["'`$|&;<>()\\*?~{}\n\r]/.test(t)) {
    throw new SecretKeyError(
      `${origin}: it is run without a shell, so shell syntax (quotes, $, pipes, redirections, globs) is not allowed; ` +
        'write it as a JSON array of arguments, e.g. ["vault","kv","get","-field=key","secret/riposte"]');
  }
  return t.split(/\s+/);
}

/** The key source these options and environment select (see the precedence above). */
export function keySourceOf(opts: KeySourceOptions): KeySource {
  const env = opts.env ?? process.env;
  const command = set(opts.keyCommand)
    ? { text: opts.keyCommand, origin: '--key-command' }
    : set(env[SECRET_KEY_COMMAND_ENV]) ? { text: env[SECRET_KEY_COMMAND_ENV], origin: SECRET_KEY_COMMAND_ENV } : null;
  const file = set(opts.keyFile)
    ? { path: opts.keyFile, origin: '--key-file' }
    : set(env[SECRET_KEY_FILE_ENV]) ? { path: env[SECRET_KEY_FILE_ENV], origin: SECRET_KEY_FILE_ENV } : null;
  const value = set(env[SECRET_KEY_ENV]) ? SECRET_KEY_ENV : null;
  const chosen = [command?.origin, file?.origin, value].filter((o): o is string => o !== undefined && o !== null);
  if (chosen.length > 1) {
    throw new SecretKeyError(`the master key has more than one source (${chosen.join(', ')}): set only one`);
  }
  if (command) return { kind: 'command', argv: parseKeyCommand(command.text, command.origin), origin: command.origin };
  if (file) return { kind: 'file', path: file.path.trim(), origin: `${file.origin} ${file.path.trim()}`, isDefault: false };
  if (value) return { kind: 'env', origin: SECRET_KEY_ENV };
  const path = join(opts.dataDir, SECRET_KEY_FILE);
  return { kind: 'file', path, origin: `secret key file ${path}`, isDefault: true };
}

function checkFileMode(path: string, mode: number): void {
  if (process.platform === 'win32') return; // POSIX permission bits are not meaningful there.
  if ((mode & 0o077) !== 0) {
    throw new SecretKeyError(
      `secret key file ${path} is accessible by group/other (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); ` +
        `restrict it with: chmod 600 ${path}`,
    );
  }
}

function readKeyFile(path: string, origin: string): Buffer {
  checkFileMode(path, statSync(path).mode);
  return parseSecretKey(readFileSync(path, 'utf8'), origin);
}

/** Runs the key command (no shell, bounded time and output); its stdout is the key. */
export function runKeyCommand(argv: readonly string[], origin: string): Buffer {
  let out: Buffer;
  try {
    out = execFileSync(argv[0]!, argv.slice(1), {
      shell: false, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; signal?: string | null; stderr?: Buffer };
    // Only the command's name and stderr's first line: stdout may hold (part of) a key.
    const why = e.code === 'ENOENT' ? 'command not found'
      : e.code === 'ETIMEDOUT' || e.signal === 'SIGTERM' ? `no answer within ${COMMAND_TIMEOUT_MS / 1000} s`
        : e.status !== undefined && e.status !== null ? `exit code ${e.status}` : `failed (${e.code ?? e.signal ?? 'error'})`;
    const line = (e.stderr?.toString('utf8') ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
    // eslint-disable-next-line no-control-regex
    const stderr = line === '' ? '' : `: ${line.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 200)}`;
    throw new SecretKeyError(`${origin}: key command ${basename(argv[0]!)} ${why}${stderr}`);
  }
  return parseSecretKey(out.toString('utf8'), `${origin} (output of ${basename(argv[0]!)})`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // Best effort: some platforms cannot fsync a directory.
  }
}

/** Writes `key` to `path` atomically and durably; false when `path` already exists (left as it is). */
export function writeKeyFile(path: string, key: Buffer): boolean {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, key.toString('hex') + '\n');
    fsyncSync(fd);
    checkFileMode(tmp, fstatSync(fd).mode);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path); // fails with EEXIST when another process won the race
    fsyncDir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** Replaces the key file by the rotation's new key (atomic rename, then fsync of the directory). */
export function promoteNextKeyFile(path: string): void {
  renameSync(path + NEXT_KEY_SUFFIX, path);
  fsyncDir(dirname(path));
}

/** Reads the key from its source; `create` makes the default key file when it does not exist. */
export function readKey(source: KeySource, opts: { env?: Record<string, string | undefined>; create?: boolean } = {}): Buffer {
  switch (source.kind) {
    case 'command':
      return runKeyCommand(source.argv, source.origin);
    case 'env':
      return parseSecretKey((opts.env ?? process.env)[SECRET_KEY_ENV] ?? '', SECRET_KEY_ENV);
    case 'file':
      try {
        return readKeyFile(source.path, source.origin);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!source.isDefault) throw new SecretKeyError(`${source.origin}: no such file`);
        if (!opts.create) throw err;
      }
      mkdirSync(dirname(source.path), { recursive: true, mode: 0o700 });
      if (writeKeyFile(source.path, randomBytes(32))) return readKeyFile(source.path, source.origin);
      return readKeyFile(source.path, source.origin);
  }
}

/** The new key of an unfinished rotation of a file-held key (`<key file>.next`), if there is one. */
export function readNextKey(source: KeySource): Buffer | null {
  if (source.kind !== 'file') return null;
  const path = source.path + NEXT_KEY_SUFFIX;
  if (!existsSync(path)) return null;
  return readKeyFile(path, `new key file ${path} (of an unfinished rotation)`);
}

export interface LoadedKeys {
  source: KeySource;
  current: Buffer;
  /** The new key of an unfinished rotation (file sources only): the store decides whether it counts. */
  next: Buffer | null;
}

/** The master key (and an unfinished rotation's new key) from the selected source. */
export function loadMasterKeys(opts: KeySourceOptions & { create?: boolean }): LoadedKeys {
  const source = keySourceOf(opts);
  const current = readKey(source, { ...(opts.env ? { env: opts.env } : {}), ...(opts.create ? { create: true } : {}) });
  return { source, current, next: readNextKey(source) };
}

/**
 * The master key: from RIPOSTE_SECRET_KEY when set, else `<dataDir>/secret.key`, created (0600,
 * random 32 bytes) on first start. Refuses a key file readable by group or other.
 */
export function loadSecretKey(opts: KeySourceOptions): Buffer {
  return loadMasterKeys({ ...opts, create: true }).current;
}
