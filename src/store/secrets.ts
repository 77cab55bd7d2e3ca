/**
 * Encryption of secrets at rest (AES-256-GCM) under the 32-byte master key, and the key ring that
 * holds the current key and — while a rotation is under way — the key it replaces. Loading the
 * key from its source is in master-key.ts. A key is never logged and never part of an error
 * message; its id (a one-way HMAC fingerprint) may be.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const V1 = 'v1';
const VERSION = 'v2';
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

/** The id of a key: 16 hex characters of an HMAC under it. Names the key without revealing it. */
export function keyIdOf(key: Buffer): string {
  checkKey(key);
  return createHmac('sha256', key).update('riposte master key id v1').digest('hex').slice(0, 16);
}

/** The id of the key a blob was encrypted with (`v2`), or null for a `v1` blob (which names none). */
export function blobKeyId(blob: string): string | null {
  const parts = typeof blob === 'string' ? blob.split(':') : [];
  return parts.length === 5 && parts[0] === VERSION ? parts[1]! : null;
}

/**
 * Encrypts one value as `v2:<key id>:<iv b64>:<tag b64>:<ciphertext b64>`, with a fresh random IV.
 * `aad` (e.g. the asset name) is authenticated but not stored: a blob copied to another asset fails.
 * The key id lets a rotation tell which rows it has re-encrypted (see sqlite/key-rotation.ts).
 */
export function encryptSecret(plaintext: string, key: Buffer, aad?: string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, keyIdOf(key), iv.toString('base64'), tag.toString('base64'), ct.toString('base64')].join(':');
}

/** Decrypts a `v2` blob (which must name this key) or a `v1` blob (written before key ids). */
export function decryptSecret(blob: string, key: Buffer, aad?: string): string {
  checkKey(key);
  const parts = typeof blob === 'string' ? blob.split(':') : [];
  const v2 = parts.length === 5 && parts[0] === VERSION;
  if (!v2 && (parts.length !== 4 || parts[0] !== V1)) {
    throw new SecretDecryptError(
      `unsupported encrypted secret format (expected ${VERSION}:<key id>:<iv>:<tag>:<ciphertext>)`);
  }
  if (v2 && parts[1] !== keyIdOf(key)) {
    throw new SecretDecryptError(
      `cannot decrypt secret: it was encrypted with master key ${parts[1]}, not with the loaded key ${keyIdOf(key)}`);
  }
  const [ivB64, tagB64, ctB64] = v2 ? parts.slice(2) : parts.slice(1);
  const iv = Buffer.from(ivB64!, 'base64');
  const tag = Buffer.from(tagB64!, 'base64');
  const ct = Buffer.from(ctB64!, 'base64');
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

/**
 * The keys a store can decrypt with: `current` encrypts everything written; `others` (the key a
 * rotation under way replaces) only decrypt. A blob naming a key the ring lacks fails clearly.
 */
export class KeyRing {
  readonly current: Buffer;
  readonly currentId: string;
  private readonly byId = new Map<string, Buffer>();

  constructor(current: Buffer, others: readonly Buffer[] = []) {
    this.current = Buffer.from(current);
    this.currentId = keyIdOf(current);
    for (const k of [current, ...others]) this.byId.set(keyIdOf(k), Buffer.from(k));
  }

  /** Every key, the current one first (the order the approval sealer tries them in). */
  keys(): Buffer[] {
    return [...this.byId.values()];
  }

  has(keyId: string): boolean {
    return this.byId.has(keyId);
  }

  encrypt(plaintext: string, aad?: string): string {
    return encryptSecret(plaintext, this.current, aad);
  }

  decrypt(blob: string, aad?: string): string {
    const id = blobKeyId(blob);
    if (id !== null) {
      const key = this.byId.get(id);
      if (!key) {
        throw new SecretDecryptError(
          `cannot decrypt secret: it was encrypted with master key ${id}, which is not loaded ` +
            `(loaded: ${[...this.byId.keys()].join(', ')}); it may be a retired key or the wrong key source`);
      }
      return decryptSecret(blob, key, aad);
    }
    // v1 (no key id): the current key, else an older one.
    let last: unknown;
    for (const key of this.byId.values()) {
      try {
        return decryptSecret(blob, key, aad);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }
}
