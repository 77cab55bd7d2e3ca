/**
 * Maps nodemailer failures onto the SDK's error family. SMTP has no request id and no way to ask
 * a server afterwards whether it took a message, so the one fact that matters for a retry is how
 * far the transaction got:
 *
 * | what happened                                      | error          | applied   |
 * |----------------------------------------------------|----------------|-----------|
 * | connection refused / DNS / timeout before DATA 354 | RetryableError | 'no'      |
 * | 4xx reply (421, 450, 451, 452, …) at any step      | RetryableError | 'no'      |
 * | 5xx reply (550, 554, …) at any step                | TerminalError  | 'no'      |
 * | authentication refused (535, …)                    | TerminalError  | 'no'      |
 * | connection lost / timeout after the server said 354| RetryableError | 'unknown' |
 *
 * An explicit reply to the final "." is a decision, so even after DATA a 4xx/5xx means "not
 * taken". Only silence after the message started leaves the outcome unknown.
 */
import { ActionError, RetryableError, TerminalError, type AppliedState } from '../../sdk/errors.js';
import { egressRefusal } from '../../common/egress-guard.js';

/**
 * Watches nodemailer's transaction log (client commands and server replies; AUTH arguments are
 * masked by nodemailer, message content is not logged without `debug`) to learn whether the
 * server answered DATA with 3xx, i.e. whether the message itself went out.
 */
export class SmtpProgress {
  private dataCommandSent = false;
  /** The server accepted DATA (354): from here on a lost connection leaves delivery unknown. */
  messageStarted = false;

  readonly logger = {
    trace: (entry: unknown, message?: unknown) => this.observe(entry, message),
    debug: (entry: unknown, message?: unknown) => this.observe(entry, message),
    info: (entry: unknown, message?: unknown) => this.observe(entry, message),
    warn: () => undefined,
    error: () => undefined,
    fatal: () => undefined,
  };

  private observe(entry: unknown, message: unknown): void {
    if (typeof message !== 'string' || entry === null || typeof entry !== 'object') return;
    const tnx = (entry as { tnx?: unknown }).tnx;
    if (tnx === 'client' && message.trim().toUpperCase() === 'DATA') this.dataCommandSent = true;
    else if (tnx === 'server' && this.dataCommandSent && /^3\d\d/.test(message)) this.messageStarted = true;
  }
}

/** The shape of a nodemailer error (code, SMTP reply and the command it answered). */
interface MailerError {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  message?: unknown;
}

/** Config/usage problems that retrying cannot fix. */
const TERMINAL_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'ECONFIG', 'EREQUIRETLS', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS', 'ENOAUTH', 'EOTP']);
/** TLS failures that are about configuration (certificate, wrong port for implicit TLS). */
const TLS_CONFIG = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ERR_SSL_|ERR_TLS_|HOSTNAME/;

function oneLine(s: string, secrets: readonly string[]): string {
  let out = s.replace(/\s+/g, ' ').trim().slice(0, 300);
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.split(secret).join('[redacted]');
    const b64 = Buffer.from(secret).toString('base64').replace(/=+$/, '');
    if (b64.length >= 4) out = out.split(b64).join('[redacted]');
  }
  return out;
}

/**
 * @param where   "SMTP host:port", the prefix of every message
 * @param secrets values that must never appear in a message (the password)
 */
export function smtpError(err: unknown, progress: SmtpProgress, where: string, secrets: readonly string[]): ActionError {
  if (err instanceof ActionError) return err;
  const refusal = egressRefusal(err);
  if (refusal !== undefined) {
    return new TerminalError(`${where}: ${refusal.message}; nothing was sent`, { applied: 'no' });
  }
  const e = (err ?? {}) as MailerError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const original = typeof e.originalCode === 'string' ? e.originalCode : undefined;
  const replyCode = typeof e.responseCode === 'number' && e.responseCode >= 200 ? e.responseCode : undefined;
  const reply = typeof e.response === 'string' ? oneLine(e.response, secrets) : undefined;
  const command = typeof e.command === 'string' && e.command !== 'CONN' && e.command !== 'API' ? e.command : undefined;
  const after = command === undefined ? '' : ` (after ${command === 'DATA' ? 'the message' : command})`;
  const afterData: AppliedState = progress.messageStarted ? 'unknown' : 'no';

  if (code === 'EAUTH' || code === 'ENOAUTH') {
    // Built from the server's reply only: nodemailer's own text can name the auth method, never
    // the password, but the reply is all an operator needs.
    const msg = `${where}: authentication failed${reply === undefined ? '' : `: ${reply}`}`;
    const opts = replyCode === undefined ? { applied: 'no' as const } : { applied: 'no' as const, vendorCode: String(replyCode) };
    if (replyCode !== undefined && replyCode >= 400 && replyCode < 500) return new RetryableError(msg, opts);
    return new TerminalError(msg, opts);
  }
  if (replyCode !== undefined && replyCode >= 400) {
    const opts = { applied: 'no' as const, vendorCode: String(replyCode) };
    if (replyCode < 500) return new RetryableError(`${where}: temporarily refused${after}: ${reply ?? replyCode}`, opts);
    return new TerminalError(`${where}: refused${after}: ${reply ?? replyCode}`, opts);
  }
  if (code === 'EABORT' || code === 'ETIMEDOUT') {
    const msg = progress.messageStarted
      ? `${where}: timed out after the message was sent; the server may have accepted it`
      : `${where}: timed out before the message was sent`;
    return new RetryableError(msg, { applied: afterData });
  }
  if (!progress.messageStarted && (code === 'ETLS' || (original !== undefined && TLS_CONFIG.test(original)))) {
    return new TerminalError(`${where}: TLS failed (${original ?? code}); check host, port, secure and the server certificate`, { applied: 'no' });
  }
  if (code !== undefined && TERMINAL_CODES.has(code)) {
    const msg = typeof e.message === 'string' ? oneLine(e.message, secrets) : code;
    return new TerminalError(`${where}: ${msg}`, { applied: 'no', vendorCode: code });
  }
  const cause = original ?? code ?? 'connection error';
  const msg = progress.messageStarted
    ? `${where}: connection lost (${cause}) after the message was sent; the server may have accepted it`
    : `${where}: connection failed (${cause}) before the message was sent`;
  return new RetryableError(msg, { applied: afterData });
}
