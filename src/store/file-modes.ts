/**
 * Riposte's data files (the database and its -wal/-shm, exports) hold incidents, hashed tokens,
 * encrypted secrets and the audit log: only the owner may read them. Modes are set with chmod after
 * creation, so the process umask cannot loosen them; a file found with a looser mode is tightened
 * and reported, never left as it was. Failure semantics: a chmod that fails (a file owned by
 * someone else) throws, and nothing is opened.
 */
import { closeSync, existsSync, fchmodSync, openSync, statSync, chmodSync, writeFileSync } from 'node:fs';

export const PRIVATE_FILE_MODE = 0o600;

const posix = process.platform !== 'win32';

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/** Tightens an existing file to 0600 when group or others have any access; says so through `warn`. */
export function tightenFile(path: string, warn: (message: string) => void): void {
  if (!posix || !existsSync(path)) return;
  const mode = statSync(path).mode;
  if ((mode & 0o077) === 0) return;
  chmodSync(path, PRIVATE_FILE_MODE);
  warn(`${path} was readable by group or others (mode ${octal(mode)}); its mode is now 0600`);
}

/**
 * Prepares an SQLite database path: creates the file empty with mode 0600 when it does not exist
 * (SQLite treats an empty file as a new database and creates -wal/-shm with the database's mode),
 * and tightens the database, -wal and -shm when they exist with a looser mode.
 */
export function preparePrivateDatabase(path: string, warn: (message: string) => void): void {
  if (!posix) return;
  if (!existsSync(path)) {
    const fd = openSync(path, 'a', PRIVATE_FILE_MODE);
    try {
      fchmodSync(fd, PRIVATE_FILE_MODE);
    } finally {
      closeSync(fd);
    }
  }
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) tightenFile(p, warn);
}

/** Writes a new file (refusing to overwrite one) readable by its owner only, whatever the umask. */
export function writePrivateFileExclusive(path: string, text: string): void {
  writeFileSync(path, text, { flag: 'wx', mode: PRIVATE_FILE_MODE });
  if (posix) chmodSync(path, PRIVATE_FILE_MODE);
}

/** The default warning sink: Node's process warnings (stderr, once per message). */
export function defaultWarn(message: string): void {
  process.emitWarning(message, 'RiposteWarning');
}
