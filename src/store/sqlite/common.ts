/** Small helpers shared by the SQLite repositories. */
import { createHash } from 'node:crypto';

export const nowIso = (): string => new Date().toISOString();

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** JSON for a nullable column: undefined and null both become SQL NULL. */
export function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value) ?? null;
}

export function fromJson<T = unknown>(text: string | null): T {
  return (text === null ? null : JSON.parse(text)) as T;
}

export function clampLimit(limit: number | undefined, dflt: number, max: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return dflt;
  return Math.max(1, Math.min(max, Math.floor(limit)));
}

/** Names of lists (and similar user-chosen identifiers). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** True for a better-sqlite3 constraint error of the given kind (e.g. 'PRIMARYKEY', 'UNIQUE'). */
export function isConstraint(err: unknown, kind?: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) return false;
  return kind === undefined || code === `SQLITE_CONSTRAINT_${kind}`;
}
