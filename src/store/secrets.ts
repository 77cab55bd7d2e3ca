/**
 * Encryption of asset secrets at rest (AES-256-GCM) and loading of the 32-byte secret key.
 * The key itself is never logged and never part of an error message.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_KEY_ENV = 'RIPOSTE_SECRET_KEY';
export const SECRET_KEY_FILE = 'secret.key';
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

export class SecretDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptError';
  }
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== 32) {
    throw new SecretKeyError(`secret key must be 32 bytes (got ${Buffer.isBuffer(key) ? key.length : typeof key})`);
  }
}

/**
 * Encrypts one value as `v1:<iv b64>:<tag b64>:<ciphertext b64>`, with a fresh random IV.
 * `aad` (e.g. the asset name) is authenticated but not stored: a blob copied to another asset fails.
 */
export function encryptSecret(plaintext: string, key: Buffer, aad?: string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64'), tag.toString('base64'), ct.toString('base64')].join(':');
}

export function decryptSecret(blob: string, key: Buffer, aad?: string): string {
  checkKey(key);
  const parts = typeof blob === 'string' ? blob.split(':') : [];
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new SecretDecryptError(`unsupported encrypted secret format (expected ${VERSION}:<iv>:<tag>:<ciphertext>)`);
  }
  const iv = Buffer.from(parts[1]!, 'base64');
  const tag = Buffer.from(parts[2]!, 'base64');
  const ct = Buffer.from(parts[3]!, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new SecretDecryptError('malformed encrypted secret (bad IV or auth tag length)');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptError(
      'cannot decrypt secret: the secret key is not the one it was encrypted with, or the stored data was tampered with',
    );
  }
}

/** Parses a key given as 64 hex characters or as base64 of 32 bytes. `origin` names where it came from. */
export function parseSecretKey(text: string, origin: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  // Strict base64 / base64url check first: Buffer.from(…, 'base64') silently skips junk.
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const buf = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (buf.length === 32) return buf;
    throw new SecretKeyError(`${origin}: key decodes to ${buf.length} bytes; it must be 32 bytes (64 hex characters or base64 of 32 bytes)`);
  }
  throw new SecretKeyError(`${origin}: key must be 64 hex characters or base64 of 32 bytes (got ${t.length} characters)`);
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

function readKeyFile(path: string): Buffer {
  checkFileMode(path, statSync(path).mode);
  return parseSecretKey(readFileSync(path, 'utf8'), `secret key file ${path}`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // Best effort: some platforms cannot fsync a directory.
  }
}

/** Creates the key file atomically: written in full to a temp file, then hard-linked into place. */
function createKeyFile(dataDir: string, path: string): Buffer | null {
  const key = randomBytes(32);
  const tmp = join(dataDir, `.${SECRET_KEY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
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
    fsyncDir(dataDir);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * The secret key: from RIPOSTE_SECRET_KEY when set, else `<dataDir>/secret.key`, created (0600,
 * random 32 bytes) on first start. Refuses a key file readable by group or other.
 */
export function loadSecretKey(opts: { dataDir: string; env?: Record<string, string | undefined> }): Buffer {
  const env = opts.env ?? process.env;
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseSecretKey(fromEnv, SECRET_KEY_ENV);
  const path = join(opts.dataDir, SECRET_KEY_FILE);
  try {
    return readKeyFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  return createKeyFile(opts.dataDir, path) ?? readKeyFile(path);
}
