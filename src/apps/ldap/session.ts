/**
 * One bound LDAP connection per action (ldapts `Client`), with the mapping of LDAP result codes
 * and socket failures onto the SDK's error family. Every operation runs in a phase:
 * - `connect`: TCP/TLS connect and the service account's bind. Nothing was done yet → applied 'no'.
 * - `read`: searches. A read has no effect → applied 'no'.
 * - `write`: modify / extended operations. A timeout or a dropped connection after the request was
 *   written may hide a change the server made → applied 'unknown'.
 * Secrets (the bind password, a new user password) are scrubbed from every message, defensively:
 * servers do not normally echo them.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { z } from 'zod';
import { ActionError, RetryableError, TerminalError, type AppliedState } from '../../sdk/errors.js';
import { DEFAULT_USER_FILTER } from './filter.js';
import { currentEgressPolicy, egressRefusal, guardedConnect } from '../../common/egress-guard.js';

export const ldapConfig = z.object({
  url: z.string().regex(/^ldaps?:\/\/[^/\s?#]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]')
    .describe('ldaps://dc1.corp.example:636 (Active Directory needs ldaps:// for password resets)'),
  bindDN: z.string().min(1).describe('Service account DN (AD also accepts user@domain)'),
  bindPassword: z.string().min(1),
  baseDN: z.string().min(1).describe('Subtree searched for users and groups'),
  userFilter: z.string().refine((s) => s.includes('{user}'), 'must contain {user}').default(DEFAULT_USER_FILTER)
    .describe('Filter locating a user; {user} is replaced by the RFC 4515-escaped input'),
  flavor: z.enum(['active-directory', 'openldap']).default('openldap'),
  tlsRejectUnauthorized: z.boolean().default(true),
  caCert: z.string().optional().describe('PEM CA certificate(s) for ldaps:// (replaces the system trust store)'),
  timeoutMs: z.number().int().positive().max(300_000).default(10_000).describe('Connect and per-operation timeout'),
});
export type LdapConfig = z.output<typeof ldapConfig>;

export type Phase = 'connect' | 'read' | 'write';

/** Socket-level error codes that mean "could not talk to the server right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE']);
const NETWORK_MESSAGES = /Connection timeout|Operation timed out|Connection closed before|Socket error|Socket connection not established/;
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ERR_TLS|ERR_SSL|EPROTO/;

class Aborted extends Error {}

export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

/** Maps an ldapts / socket error to TerminalError or RetryableError. `dn` names the entry operated on. */
export function mapLdapError(err: unknown, phase: Phase, cfg: Pick<LdapConfig, 'url' | 'bindDN'>, dn?: string): ActionError | unknown {
  if (err instanceof ActionError) return err;
  const afterSend: AppliedState = phase === 'write' ? 'unknown' : 'no';
  const on = dn ? ` on ${dn}` : '';
  if (err instanceof Aborted) {
    return new RetryableError(`LDAP ${phase === 'connect' ? 'bind' : 'operation'}${on} aborted (action timeout)`, { applied: afterSend, cause: err });
  }
  if (err instanceof ResultCodeError) {
    const code = err.code;
    const opts = { vendorCode: String(code), applied: 'no' as const };
    const text = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    const server = text === '' ? err.name : text;
    switch (code) {
      case 49: {
        // AD appends a sub-code: 52e bad password, 525 no such user, 532/773 expired/must change, 533 disabled, 775 locked.
        const ad = /\bdata ([0-9a-f]{3,4})\b/i.exec(server);
        return phase === 'connect'
          ? new TerminalError(`bind failed: invalid credentials for ${cfg.bindDN}${ad ? ` (AD data ${ad[1]})` : ''}`, opts)
          : new TerminalError(`invalid credentials${on}`, opts);
      }
      case 32:
        return new TerminalError(`no such object${on || ` (${server})`}`, opts);
      case 50:
        return new TerminalError(`insufficient access rights${on || ''} for ${cfg.bindDN}: ${server}`, opts);
      case 51:
      case 52:
        return new RetryableError(`LDAP server ${code === 51 ? 'busy' : 'unavailable'}${on}: ${server}`, opts);
      case 3:
        return new RetryableError(`LDAP time limit exceeded${on}`, opts);
      case 8:
      case 13:
        return new TerminalError(`LDAP server requires a stronger/encrypted connection${on}: ${server} (use ldaps://)`, opts);
      default:
        return new TerminalError(`LDAP error ${code} (${err.name})${on}: ${server}`, opts);
    }
  }
  const refusal = egressRefusal(err);
  if (refusal !== undefined) {
    return new TerminalError(`LDAP server ${cfg.url}: ${refusal.message}; nothing was sent`, { applied: 'no' });
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (TLS_CODES.test(code)) {
      return new TerminalError(`TLS handshake with ${cfg.url} failed (${code}): ${err.message}; trust the server's CA with caCert`, { applied: 'no', vendorCode: code });
    }
    if (NETWORK_CODES.has(code) || NETWORK_MESSAGES.test(err.message)) {
      const notSent = phase !== 'write' || /Socket connection not established/.test(err.message);
      const what = phase === 'connect' ? `LDAP server ${cfg.url} unreachable` : `LDAP connection to ${cfg.url} failed${on}`;
      return new RetryableError(`${what}: ${code || err.message.split('\n')[0]}`, { applied: notSent ? 'no' : 'unknown', cause: err, ...(code ? { vendorCode: code } : {}) });
    }
  }
  return err;
}

/** A bound connection. Use through `withSession`, which always unbinds. */
export class LdapSession {
  readonly client: Client;
  private readonly secrets: string[];

  private constructor(readonly cfg: LdapConfig, private readonly signal: AbortSignal) {
    const options: import('ldapts').ClientOptions = { url: cfg.url, timeout: cfg.timeoutMs, connectTimeout: cfg.timeoutMs, strictDN: false };
    // ldapts switches to TLS whenever tlsOptions are present, so only pass them for ldaps://.
    if (/^ldaps:/i.test(cfg.url)) {
      options.tlsOptions = { rejectUnauthorized: cfg.tlsRejectUnauthorized };
      if (cfg.caCert) options.tlsOptions.ca = cfg.caCert;
    }
    // Through the egress guard: IP literals checked at once, names on the address they resolve to.
    // A STARTTLS upgrade (one options argument) wraps a socket that already passed it.
    const policy = currentEgressPolicy();
    options.createConnection = ((port: number, host: string) =>
      guardedConnect(policy, port, host)) as typeof net.connect;
    options.createSecureConnection = ((a: number | tls.ConnectionOptions, host?: string, o?: tls.ConnectionOptions) =>
      typeof a === 'object' ? tls.connect(a) : guardedConnect(policy, a, host!, o ?? {})) as typeof tls.connect;
    this.client = new Client(options);
    this.secrets = [cfg.bindPassword];
  }

  static async open(cfg: LdapConfig, signal: AbortSignal): Promise<LdapSession> {
    const s = new LdapSession(cfg, signal);
    try {
      await s.run('connect', (c) => c.bind(cfg.bindDN, cfg.bindPassword));
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  /** Registers a value that must never appear in an error message. */
  addSecret(value: string): void {
    this.secrets.push(value);
  }

  read<T>(fn: (c: Client) => Promise<T>, dn?: string): Promise<T> {
    return this.run('read', fn, dn);
  }

  write<T>(fn: (c: Client) => Promise<T>, dn?: string): Promise<T> {
    return this.run('write', fn, dn);
  }

  private async run<T>(phase: Phase, fn: (c: Client) => Promise<T>, dn?: string): Promise<T> {
    let onAbort: (() => void) | undefined;
    try {
      if (this.signal.aborted) throw Object.assign(new Aborted('aborted'), { beforeSend: true });
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          reject(new Aborted('aborted'));
          void this.close();
        };
        this.signal.addEventListener('abort', onAbort, { once: true });
      });
      const op = fn(this.client);
      op.catch(() => undefined); // it may reject after an abort won the race
      return await Promise.race([op, aborted]);
    } catch (err) {
      const beforeSend = err instanceof Aborted && (err as Aborted & { beforeSend?: boolean }).beforeSend === true;
      const mapped = mapLdapError(err, beforeSend ? 'read' : phase, this.cfg, dn);
      if (mapped instanceof Error) mapped.message = redact(mapped.message, this.secrets);
      throw mapped;
    } finally {
      if (onAbort) this.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Unbinds, but never waits more than a second for a server that stopped answering. */
  async close(): Promise<void> {
    await Promise.race([this.client.unbind().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

export async function withSession<T>(cfg: LdapConfig, signal: AbortSignal, fn: (s: LdapSession) => Promise<T>): Promise<T> {
  const s = await LdapSession.open(cfg, signal);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
