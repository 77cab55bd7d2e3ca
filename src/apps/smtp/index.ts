/**
 * SMTP e-mail app (nodemailer): sends a notification through the organisation's mail relay.
 * Implements the `notify` capability: `sendMessage` mails the asset's `notifyTo` recipients.
 *
 * SMTP cannot be asked afterwards whether a message was taken, so `sendEmail` has no reconcile:
 * when the connection is lost after the server answered DATA with 354 the outcome is unknown and
 * the engine parks the run for a human instead of sending a second copy. Every message carries a
 * Message-ID derived from the idempotency key (`<riposte.<sha256 prefix>@<from domain>>`), so a
 * copy re-sent by an operator is recognisable downstream (mail clients and archives dedupe on it).
 */
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { z } from 'zod';
import { defineApp, type ActionContext } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { SmtpProgress, smtpError } from './errors.js';
import { currentEgressPolicy, guardedConnect } from '../../common/egress-guard.js';

/** `addr@domain` or `Display Name <addr@domain>`. */
export function parseMailbox(s: string): { name?: string; address: string } | undefined {
  const m = /^\s*(?:"?([^"<>]*?)"?\s*<([^<>\s]+)>|([^<>\s"]+))\s*$/.exec(s);
  if (!m) return undefined;
  const address = (m[2] ?? m[3])!;
  if (!z.email().safeParse(address).success) return undefined;
  const name = m[1]?.trim();
  return name ? { name, address } : { address };
}

const noNewline = (what: string) => z.string().refine((s) => !/[\r\n]/.test(s), `${what} must not contain line breaks`);

const config = z.object({
  host: z.string().min(1).describe('Relay host name or address'),
  port: z.number().int().min(1).max(65535).default(587),
  secure: z.boolean().default(false).describe('Implicit TLS from the first byte (port 465). When false, STARTTLS is used if the server offers it'),
  requireTLS: z.boolean().default(false).describe('Refuse to send unless the plain connection is upgraded with STARTTLS'),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  from: z.string().refine((s) => parseMailbox(s) !== undefined, 'from must be an address or "Name <address>"'),
  tlsRejectUnauthorized: z.boolean().default(true).describe('Verify the server certificate (turn off only for a lab relay)'),
  timeoutMs: z.number().int().min(100).max(120_000).default(20_000).describe('Connect, greeting and per-reply socket timeout'),
  notifyTo: z.array(z.email()).min(1).max(100).optional()
    .describe('Recipients of the notify capability (sendMessage): the asset decides where they go, as a webhook does'),
});
// username/password pairing is checked at use (checkedConfig), not with an object-level refine:
// zod 4 forbids .partial()/.pick() on refined objects, which asset tooling may need.

export type SmtpConfig = z.output<typeof config>;

function checkedConfig(cfg: SmtpConfig): SmtpConfig {
  if ((cfg.username === undefined) !== (cfg.password === undefined)) {
    throw new TerminalError('SMTP config: username and password go together (set both or neither)', { applied: 'no' });
  }
  return cfg;
}

/** Headers the app sets itself; an input header must not override them. */
const RESERVED_HEADERS = new Set(['from', 'sender', 'to', 'cc', 'bcc', 'subject', 'message-id', 'date', 'mime-version',
  'content-type', 'content-transfer-encoding', 'content-disposition']);

const sendInput = z.object({
  to: z.array(z.email()).min(1).max(100),
  cc: z.array(z.email()).max(100).optional(),
  subject: noNewline('subject').pipe(z.string().min(1).max(900)),
  text: z.string().max(1_000_000),
  html: z.string().max(2_000_000).optional(),
  headers: z.record(
    z.string().regex(/^[!-9;-~]+$/, 'header names are printable ASCII without ":"').refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), 'this header is set by the app'),
    noNewline('header values').pipe(z.string().max(900)),
  ).optional(),
});

const sendOutput = z.object({
  messageId: z.string(),
  accepted: z.array(z.string()),
  rejected: z.array(z.string()),
});

/** `<riposte.<32 hex of sha256(key)>@<domain of from>>`: the same for every retry of a step. */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const domain = parseMailbox(from)?.address.split('@')[1] ?? 'riposte.invalid';
  return `<riposte.${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`;
}

function where(cfg: SmtpConfig): string {
  return `SMTP ${cfg.host}:${cfg.port}`;
}

/**
 * The relay connection, opened through the egress guard (nodemailer's `getSocket` hook, meant for
 * proxies): an IP literal is checked at once, a name on the address it resolves to; nodemailer
 * then speaks SMTP (and TLS, implicit or STARTTLS) over that socket.
 */
function guardedSocket(cfg: SmtpConfig): SMTPTransport.Options['getSocket'] {
  const policy = currentEgressPolicy();
  return (_opts, callback) => {
    const s = guardedConnect(policy, cfg.port, cfg.host);
    const onError = (err: Error) => callback(err, undefined);
    const timedOut = () => Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' });
    s.setTimeout(cfg.timeoutMs, () => s.destroy(timedOut()));
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      s.setTimeout(0);
      callback(null, { connection: s });
    });
  };
}

function transportFor(cfg: SmtpConfig, progress: SmtpProgress) {
  return nodemailer.createTransport({
    getSocket: guardedSocket(cfg),
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    requireTLS: cfg.requireTLS,
    // With credentials configured, fail rather than silently send unauthenticated when the
    // server does not offer AUTH.
    ...(cfg.username !== undefined ? { auth: { user: cfg.username, pass: cfg.password ?? '' }, forceAuth: true } : {}),
    tls: { rejectUnauthorized: cfg.tlsRejectUnauthorized, minVersion: 'TLSv1.2' },
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: cfg.timeoutMs,
    dnsTimeout: cfg.timeoutMs,
    logger: progress.logger,
    transactionLog: true,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

type SendInput = z.output<typeof sendInput>;

/** Sends one message through the relay (both actions); the Message-ID derives from the idempotency key. */
async function send(input: SendInput, ctx: ActionContext<SmtpConfig>): Promise<z.output<typeof sendOutput>> {
  const cfg = checkedConfig(ctx.config);
  const progress = new SmtpProgress();
  const transport = transportFor(cfg, progress);
  const messageId = messageIdFor(ctx.idempotencyKey, cfg.from);
  try {
    const info = await transport.sendMail({
      from: cfg.from,
      to: input.to,
      ...(input.cc !== undefined && input.cc.length > 0 ? { cc: input.cc } : {}),
      subject: input.subject,
      text: input.text,
      ...(input.html !== undefined ? { html: input.html } : {}),
      ...(input.headers !== undefined ? { headers: input.headers } : {}),
      messageId,
      signal: ctx.signal,
    });
    const out = { messageId: info.messageId ?? messageId, accepted: (info.accepted ?? []).map(address), rejected: (info.rejected ?? []).map(address) };
    if (out.rejected.length > 0) ctx.log('relay refused some recipients', { rejected: out.rejected });
    ctx.log('message accepted by relay', { messageId: out.messageId, accepted: out.accepted.length });
    return out;
  } catch (err) {
    throw smtpError(err, progress, where(cfg), cfg.password === undefined ? [] : [cfg.password]);
  } finally {
    transport.close();
  }
}

/**
 * The notify capability's message as a plain-text e-mail: `[SEVERITY] title` as the subject (the
 * text's first line when there is no title; line breaks never reach a header), the text, then the link.
 */
export function notifyMail(m: z.output<typeof capabilities.notify.sendMessage.input>, to: string[]): SendInput {
  const first = (m.title ?? m.text).split(/\r?\n/).find((l) => l.trim() !== '') ?? 'Riposte notification';
  const tag = m.severity === undefined ? '' : `[${m.severity.toUpperCase()}] `;
  const subject = `${tag}${first.replace(/[\r\n]+/g, ' ').trim()}`.slice(0, 900);
  const text = m.link === undefined ? m.text : `${m.text}\n\n${m.link}\n`;
  return { to, subject, text };
}

function address(a: unknown): string {
  return typeof a === 'string' ? a : String((a as { address?: unknown }).address ?? '');
}

export const smtpApp = defineApp({
  id: 'smtp-email',
  name: 'SMTP e-mail',
  vendor: 'IETF',
  product: 'SMTP (RFC 5321) relay',
  version: '1.0.0',
  description: 'Sends notification e-mail through an SMTP relay (implicit TLS or STARTTLS, optional AUTH).',
  config,
  secrets: ['password'],
  implements: ['notify'],

  actions: (action) => ({
    sendEmail: action({
      description: 'Send a text (and optional HTML) e-mail. The Message-ID derives from the idempotency key. An unknown outcome (connection lost after the message was sent) parks the run: SMTP cannot be asked whether it arrived.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // Sending twice delivers two copies; the stable Message-ID only lets receivers spot them.
      idempotent: false,
      input: sendInput,
      output: sendOutput,
      timeoutMs: 60_000,
      async handler(input, ctx) {
        return send(input, ctx);
      },
    }),
    sendMessage: action({
      description: 'The notify capability: e-mail the text to the asset\'s notifyTo recipients; the subject is the '
        + 'title (or the text\'s first line) after the severity, the link ends the body. The output carries the '
        + 'Message-ID.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // As sendEmail: sending twice delivers two copies (with the same Message-ID).
      idempotent: false,
      input: capabilities.notify.sendMessage.input,
      output: capabilities.notify.sendMessage.output,
      timeoutMs: 60_000,
      async handler(input, ctx) {
        const to = ctx.config.notifyTo;
        if (to === undefined) {
          const why = 'SMTP config: notifyTo is not set, so the notify capability has no recipients '
            + '(set notifyTo on the asset)';
          throw new TerminalError(why, { applied: 'no' });
        }
        const out = await send(notifyMail(input, to), ctx);
        return { delivered: out.accepted.length > 0, messageId: out.messageId };
      },
    }),
  }),

  /** Connects, says EHLO, upgrades with STARTTLS when offered/required and logs in; sends nothing. */
  async testConnectivity(ctx: ActionContext<SmtpConfig>) {
    const cfg = checkedConfig(ctx.config);
    const progress = new SmtpProgress();
    const transport = transportFor(cfg, progress);
    try {
      await transport.verify();
    } catch (err) {
      throw smtpError(err, progress, where(cfg), cfg.password === undefined ? [] : [cfg.password]);
    } finally {
      transport.close();
    }
    return { ok: true as const, detail: `${where(cfg)} answered EHLO${cfg.username !== undefined ? ` and accepted the login of ${cfg.username}` : ''}` };
  },
});
