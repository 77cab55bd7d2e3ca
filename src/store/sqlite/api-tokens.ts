/**
 * API tokens: issued to a user by name, stored as the SHA-256 of the token (the token itself is
 * shown once and never stored), with an optional expiry, a revocation and a last-used time.
 *
 * Failure semantics: creating and revoking are one transaction each, with their audit entry; a
 * refused argument writes nothing. `touch` (last used) is a lazy write on the group commit: it may
 * be lost in a crash, which costs nothing but a slightly older "last used".
 */
import type Database from 'better-sqlite3';
import type { ApiTokenCredential, ApiTokenRecord } from '../records.js';
import type { AuditLog } from './audit.js';
import { ConflictError, NotFoundError, ValidationError, isConstraint, nowIso, sha256Hex } from './common.js';
import { validateUserName } from './policy.js';

interface TokenRow {
  id: number; name: string; role: string; token_hash: string; created_at: string;
  expires_at: string | null; revoked_at: string | null; last_used_at: string | null;
}

const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id, name: r.name, role: r.role as ApiTokenRecord['role'], createdAt: r.created_at,
  expiresAt: r.expires_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at,
});

const ROLES: ReadonlySet<string> = new Set<ApiTokenRecord['role']>(['admin', 'analyst', 'ingest', 'viewer']);

export interface NewApiToken { name: string; role: ApiTokenRecord['role']; token: string; expiresAt?: string | null }

/** Throws a ValidationError unless the token is a non-empty string, the role an API role and the expiry an instant. */
export function validateApiToken(t: { role: ApiTokenRecord['role']; token: string; expiresAt?: string | null }): void {
  if (typeof t.token !== 'string' || t.token.length === 0) throw new ValidationError('token must be a non-empty string');
  if (!ROLES.has(t.role)) {
    throw new ValidationError(`invalid API token role ${JSON.stringify(t.role)}: use ${[...ROLES].join(', ')}`);
  }
  const e = t.expiresAt;
  if (e !== undefined && e !== null && (typeof e !== 'string' || Number.isNaN(Date.parse(e)))) {
    throw new ValidationError(`expiry ${JSON.stringify(e)} of an API token is not an ISO-8601 instant`);
  }
}

export class ApiTokenRepo {
  private readonly s;
  private readonly createTx;
  private readonly revokeTx;

  constructor(db: Database.Database, private readonly audit: AuditLog) {
    this.s = {
      insert: db.prepare<[string, string, string, string, string | null]>(
        'INSERT INTO api_tokens (name, role, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
      byId: db.prepare<[number | bigint], TokenRow>('SELECT * FROM api_tokens WHERE id = ?'),
      byName: db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE name = ? ORDER BY id'),
      all: db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY id'),
      // A token acts as the user account of its name; no account means not disabled.
      credential: db.prepare<[string], TokenRow & { user_disabled: number }>(
        `SELECT t.*, COALESCE(u.disabled, 0) AS user_disabled FROM api_tokens t
         LEFT JOIN users u ON u.name = t.name WHERE t.token_hash = ?`),
      revoke: db.prepare<[string, number]>('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      touch: db.prepare<[string, number]>('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
      generation: db.prepare<[], number>('SELECT value FROM auth_generation WHERE id = 1').pluck(),
    };
    this.createTx = db.transaction((t: NewApiToken, actor: string) => {
      let id: number | bigint;
      try {
        id = this.s.insert.run(t.name, t.role, sha256Hex(t.token), nowIso(), t.expiresAt ?? null).lastInsertRowid;
      } catch (err) {
        if (isConstraint(err, 'UNIQUE')) throw new ConflictError('an API token with this value already exists');
        throw err;
      }
      const rec = toToken(this.s.byId.get(id)!);
      this.audit.appendInTx({
        actor, action: 'api_token.create', target: `api_token:${rec.id}`,
        detail: { name: t.name, role: t.role, ...(rec.expiresAt ? { expiresAt: rec.expiresAt } : {}) },
      });
      return rec;
    });
    this.revokeTx = db.transaction((ref: string, actor: string, reason: string | null) => {
      const rows = /^\d+$/.test(ref) ? [this.s.byId.get(Number(ref))].filter((r) => r !== undefined) : this.s.byName.all(ref);
      if (rows.length === 0) throw new NotFoundError(`no API token with id or name "${ref}"`);
      const at = nowIso();
      const revoked: ApiTokenRecord[] = [];
      for (const row of rows) {
        if (this.s.revoke.run(at, row.id).changes === 0) continue; // revoked before: nothing to do
        revoked.push(toToken(this.s.byId.get(row.id)!));
        this.audit.appendInTx({
          actor, action: 'api_token.revoke', target: `api_token:${row.id}`,
          detail: { name: row.name, role: row.role, ...(reason ? { reason } : {}) },
        });
      }
      return revoked;
    });
  }

  create(t: NewApiToken, actor: string): ApiTokenRecord {
    validateUserName(t.name);
    validateApiToken(t);
    // Normalised, so that the stored instants compare as strings and read the same everywhere.
    const expiresAt = t.expiresAt ? new Date(t.expiresAt).toISOString() : null;
    return this.createTx.immediate({ ...t, expiresAt }, actor);
  }

  /** The token of `token`'s hash, revoked and expired ones included (the caller refuses them), or null. */
  find(token: string): ApiTokenCredential | null {
    if (typeof token !== 'string' || token === '') return null;
    const row = this.s.credential.get(sha256Hex(token));
    return row ? { ...toToken(row), userDisabled: row.user_disabled === 1 } : null;
  }

  list(): ApiTokenRecord[] {
    return this.s.all.all().map(toToken);
  }

  /**
   * Revokes the token with id `ref` (all digits) or every token issued to the user named `ref`;
   * returns the tokens revoked now (empty when all were revoked already). NotFoundError: no such token.
   */
  revoke(ref: string, actor: string, reason: string | null = null): ApiTokenRecord[] {
    if (typeof ref !== 'string' || ref.trim() === '') throw new ValidationError('name which token to revoke: its id or its name');
    return this.revokeTx.immediate(ref, actor, reason);
  }

  /** Records a use of token `id` at `at`: a single statement, for the group commit. */
  touchOp(id: number, at: string): () => void {
    return () => { this.s.touch.run(at, id); };
  }

  /** Bumped (by triggers) on every change to a token, a user account or a source. */
  generation(): number {
    return this.s.generation.get() ?? 0;
  }
}
