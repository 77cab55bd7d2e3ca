/**
 * `riposte tokens …`: API tokens issued to users, administered locally on the data directory (like
 * `riposte users`): whoever may open the database may issue and revoke. Tokens are shown once at
 * creation and stored only as a hash. A revocation takes effect at once, also in a running server.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { ApiTokenRecord } from '../../store/records.js';
import { CliError, cliActor, printJson, withStore } from '../open-store.js';
import { formatTime, table } from '../format.js';
import { terminalSafe } from '../terminal-text.js';
import { print } from '../output.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * `--expires`: a duration from now (`90m`, `12h`, `30d`, `4w`) or an instant (`2026-12-31`,
 * `2026-12-31T18:00:00Z`; a date alone means midnight UTC). Refused when not in the future.
 */
export function parseExpiry(raw: string, now = Date.now()): string {
  const m = /^(\d{1,6})([mhdw])$/.exec(raw.trim());
  const at = m ? now + Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
    : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(raw.trim()) ? Date.parse(raw.trim()) : NaN;
  if (Number.isNaN(at)) {
    throw new CliError(`--expires takes a duration (90m, 12h, 30d, 4w) or a date (2026-12-31, 2026-12-31T18:00:00Z), got "${terminalSafe(raw)}"`);
  }
  if (at <= now) throw new CliError(`--expires ${terminalSafe(raw)} is not in the future`);
  return new Date(at).toISOString();
}

/** What a token's state is now: active, expired or revoked. */
export function tokenState(t: ApiTokenRecord, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('API tokens: issue, list, revoke (local administration)');
  tokens.command('create <name>').description('issue an API token to the user <name> (shown once)')
    .option('--role <role>', 'API role: admin | analyst | viewer | ingest', 'analyst')
    .option('--expires <when>', 'refused after this: a duration (90m, 12h, 30d, 4w) or a date (2026-12-31)')
    .action(async (name: string, o: { role: string; expires?: string }, cmd: Command) => {
      const expiresAt = o.expires === undefined ? null : parseExpiry(o.expires);
      await withStore(cmd, async (store) => {
        const token = `rpa_${randomBytes(24).toString('base64url')}`;
        const rec = await store.createApiToken({ name, role: o.role as ApiTokenRecord['role'], token, expiresAt }, cliActor());
        const until = rec.expiresAt ? `, expires ${formatTime(rec.expiresAt)}` : '';
        print(`token ${rec.id} issued to ${rec.name} (role ${rec.role}${until}). API token (shown once): ${token}`);
      });
    });
  tokens.command('list').description('every token: who, role, created, expires, revoked, last used (never the token)')
    .option('--json')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const list = await store.listApiTokens();
        if (o.json) return printJson(list.map((t) => ({ ...t, state: tokenState(t) })));
        print(table(['ID', 'NAME', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'REVOKED', 'LAST USED'], list.map((t) => [
          String(t.id), terminalSafe(t.name), t.role, tokenState(t), formatTime(t.createdAt),
          t.expiresAt ? formatTime(t.expiresAt) : 'never', formatTime(t.revokedAt), formatTime(t.lastUsedAt),
        ])));
      });
    });
  tokens.command('revoke <nameOrId>')
    .description('revoke token <id> (a number), or every token of the user <name>; refused at once, also by a running server')
    .option('--reason <text>', 'why (goes into the audit log)')
    .action(async (ref: string, o: { reason?: string }, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const revoked = await store.revokeApiTokens(ref, cliActor(), o.reason ?? null);
        if (revoked.length === 0) {
          print(`${terminalSafe(ref)}: already revoked, nothing to do`);
          return;
        }
        for (const t of revoked) print(`token ${t.id} of ${terminalSafe(t.name)} (role ${t.role}) revoked`);
      });
    });
}
