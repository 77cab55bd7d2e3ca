/**
 * The audit keyring: the HMAC keys of the audit chain, kept outside the database so that someone
 * who can only write the database file cannot re-hash a rewritten chain.
 *
 * Sources, first match wins: RIPOSTE_AUDIT_KEY (one key; no rotation), else the keyring file
 * RIPOSTE_AUDIT_KEYRING, else `<dataDir>/audit.keyring`, created (0600, one random key) on first
 * start. Every key keeps its id for ever: each audit entry records the id it was chained with, so
 * rotation adds a key and never removes one.
 *
 * Failure semantics: the file is replaced atomically (temp file written and fsynced, then renamed),
 * so a crash during creation or rotation leaves the old keyring or the new one, never half of one.
 * A keyring readable by group or other is refused. Keys never appear in errors or logs.
 */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const AUDIT_KEY_ENV = 'RIPOSTE_AUDIT_KEY';
export const AUDIT_KEYRING_ENV = 'RIPOSTE_AUDIT_KEYRING';
export const AUDIT_KEYRING_FILE = 'audit.keyring';

export interface AuditKey {
  readonly id: string;
  /** A KeyObject, reused for every link: creating one per HMAC would cost more than the HMAC. */
  readonly key: KeyObject;
}

export interface AuditKeyring {
  /** The key new entries are chained with. */
  current(): AuditKey;
  get(id: string): AuditKey | undefined;
  ids(): string[];
  /** Where the keys came from (a path or the variable's name), for messages. */
  readonly source: string;
}

export class AuditKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditKeyError';
  }
}

interface KeyringFile {
  version: 1;
  current: string;
  keys: { id: string; key: string; createdAt: string }[];
}

function ring(keys: AuditKey[], currentId: string, source: string): AuditKeyring {
  const byId = new Map(keys.map((k) => [k.id, k]));
  const current = byId.get(currentId);
  if (!current) throw new AuditKeyError(`${source}: the current key "${currentId}" is not among its keys`);
  return { current: () => current, get: (id) => byId.get(id), ids: () => [...byId.keys()], source };
}

function parseKey(text: string, origin: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  throw new AuditKeyError(`${origin}: an audit key must be 64 hex characters (32 bytes)`);
}

/** A keyring in memory (tests, tools): `keys` maps id → 32-byte key; the last one is current. */
export function memoryKeyring(keys: Record<string, Buffer> = { k1: randomBytes(32) }): AuditKeyring {
  const list = Object.entries(keys).map(([id, key]) => ({ id, key: createSecretKey(key) }));
  return ring(list, list[list.length - 1]!.id, 'memory');
}

function parseKeyringFile(text: string, path: string): KeyringFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AuditKeyError(`audit keyring ${path} is not valid JSON`);
  }
  const f = raw as Partial<KeyringFile>;
  if (f?.version !== 1 || typeof f.current !== 'string' || !Array.isArray(f.keys) || f.keys.length === 0) {
    throw new AuditKeyError(`audit keyring ${path}: expected {"version":1,"current":<id>,"keys":[…]}`);
  }
  for (const k of f.keys) {
    if (typeof k?.id !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(k.id)) throw new AuditKeyError(`audit keyring ${path}: a key has no valid id`);
    parseKey(String(k.key), `audit keyring ${path}, key ${k.id}`);
  }
  return f as KeyringFile;
}

function readKeyringFile(path: string): KeyringFile {
  const mode = statSync(path).mode;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new AuditKeyError(`audit keyring ${path} is accessible by group/other (mode ${(mode & 0o777).toString(8)}); ` +
      `restrict it with: chmod 600 ${path}`);
  }
  return parseKeyringFile(readFileSync(path, 'utf8'), path);
}

function toRing(f: KeyringFile, path: string): AuditKeyring {
  return ring(f.keys.map((k) => ({ id: k.id, key: createSecretKey(parseKey(k.key, path)) })), f.current, path);
}

/** Writes the whole keyring to a temp file (0600, fsynced) and renames it into place. */
function writeKeyringFile(path: string, f: KeyringFile, exclusive: boolean): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(f, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (exclusive) {
      // First start: never replace a keyring another process created meanwhile.
      try {
        statSync(path);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    renameSync(tmp, path);
  } finally {
    try { unlinkSync(tmp); } catch { /* renamed */ }
  }
}

const newKeyId = (): string => `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;

/** The keyring file's path for this data directory and environment. */
export function auditKeyringPath(dataDir: string, env: Record<string, string | undefined> = process.env): string {
  const p = env[AUDIT_KEYRING_ENV];
  return p !== undefined && p.trim() !== '' ? p : join(dataDir, AUDIT_KEYRING_FILE);
}

/**
 * Loads the keyring (see the top of this file). `create: false` (the CLI) refuses a missing file
 * instead of starting a new keyring, which could not verify the entries chained so far.
 */
export function loadAuditKeyring(opts: { dataDir: string; env?: Record<string, string | undefined>; create?: boolean }): AuditKeyring {
  const env = opts.env ?? process.env;
  const fromEnv = env[AUDIT_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const key = parseKey(fromEnv, AUDIT_KEY_ENV);
    // The id is a fingerprint, so the same key always has the same id (and never collides with a file's).
    const id = `env-${createHash('sha256').update('riposte-audit-key-id\n').update(key).digest('hex').slice(0, 12)}`;
    return ring([{ id, key: createSecretKey(key) }], id, AUDIT_KEY_ENV);
  }
  const path = auditKeyringPath(opts.dataDir, env);
  try {
    return toRing(readKeyringFile(path), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (opts.create === false) {
      throw new AuditKeyError(`the audit keyring ${path} is missing: restore it, or set ${AUDIT_KEYRING_ENV} to where it is`);
    }
  }
  const id = newKeyId();
  writeKeyringFile(path, { version: 1, current: id, keys: [{ id, key: randomBytes(32).toString('hex'), createdAt: new Date().toISOString() }] }, true);
  return toRing(readKeyringFile(path), path);
}

/**
 * Adds a new current key to the keyring file; the old ones stay so old entries still verify.
 * Refused with RIPOSTE_AUDIT_KEY (one key from the environment: rotate it there by keeping the file).
 */
export function rotateAuditKeyring(opts: { dataDir: string; env?: Record<string, string | undefined> }): { from: string; to: string; path: string } {
  const env = opts.env ?? process.env;
  if ((env[AUDIT_KEY_ENV] ?? '').trim() !== '') {
    throw new AuditKeyError(`${AUDIT_KEY_ENV} holds a single key, which cannot be rotated: unset it and use a keyring file (${AUDIT_KEYRING_ENV})`);
  }
  const path = auditKeyringPath(opts.dataDir, env);
  let f: KeyringFile;
  try {
    f = readKeyringFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AuditKeyError(`no audit keyring at ${path}: start the server once first`);
    throw err;
  }
  const to = newKeyId();
  writeKeyringFile(path, {
    version: 1, current: to, keys: [...f.keys, { id: to, key: randomBytes(32).toString('hex'), createdAt: new Date().toISOString() }],
  }, false);
  return { from: f.current, to, path };
}
