/**
 * Microsoft Teams webhook app: posts a notification card to a channel through a Workflows
 * (Power Automate) webhook — the replacement Microsoft recommends — or a legacy Office 365
 * connector. The URL is the credential (secret; redacted from every error).
 *
 * Not idempotent and no reconcile: neither endpoint takes a key or can be asked what it posted,
 * so a lost reply parks the run. Teams refuses cards over 28 KB; a Workflows webhook would still
 * answer 202 and fail later in the flow run, so the size is checked before sending. A legacy
 * connector reports Teams' own failures as HTTP 200 with "Webhook message delivery failed …
 * returned HTTP error NNN" in the body (by design, MicrosoftDocs/msteams-docs#400/#1810): that
 * body is mapped like the embedded status.
 */
import { z } from 'zod';
import { defineApp, type ActionContext } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../sdk/errors.js';
import type { VendorErrorInfo } from '../http.js';
import { isAcceptableWebhookUrl, postWebhook, REDACTED_URL, redactIn } from '../webhook-post.js';
import { adaptiveCardMessage, messageCard, type TeamsNotification } from './cards.js';

export const VENDOR = 'Microsoft Teams';
export const MAX_MESSAGE_BYTES = 28 * 1024;

const WORKFLOW_PATH = /\/workflows\/[^/]+\/triggers\/[^/]+\/paths\/invoke$/;
const CONNECTOR_PATH = /^\/(webhookb2|webhook)\/[^?]+$/;

export function webhookKind(url: string): 'workflow' | 'connector' | undefined {
  if (!isAcceptableWebhookUrl(url)) return undefined;
  const u = new URL(url);
  if (WORKFLOW_PATH.test(u.pathname) && u.searchParams.has('sig')) return 'workflow';
  if (CONNECTOR_PATH.test(u.pathname)) return 'connector';
  return undefined;
}

const config = z.object({
  webhookUrl: z.string().refine((u) => webhookKind(u) !== undefined,
    'webhookUrl must be a Workflows trigger URL (…/workflows/<id>/triggers/manual/paths/invoke?…&sig=…) or a connector URL (…/webhookb2/…)'),
  format: z.enum(['workflows-adaptive-card', 'messagecard']).default('workflows-adaptive-card'),
});
type TeamsConfig = z.output<typeof config>;

/** Logic Apps errors are `{"error":{"code","message"}}`; the connector answers plain text. */
export function describeTeamsError(status: number, body: string): VendorErrorInfo {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && typeof e.message === 'string') {
      return typeof e.code === 'string' ? { message: `${e.code}: ${e.message}`, code: e.code } : { message: e.message };
    }
  } catch {
    // plain text
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

const DELIVERY_FAILED = /delivery failed/i;

/** Throws for a 200 whose body says Teams refused the message (legacy connectors only). */
function checkEmbeddedFailure(body: string, url: string): void {
  if (!DELIVERY_FAILED.test(body)) return;
  const embedded = /returned HTTP error (\d{3})/.exec(body);
  const status = embedded ? Number(embedded[1]) : undefined;
  const msg = `${VENDOR} POST ${REDACTED_URL}: HTTP 200 but ${redactIn(body.replace(/\s+/g, ' ').trim().slice(0, 240), url)}`;
  const opts = { vendorCode: status === undefined ? 'DeliveryFailed' : `DeliveryFailed${status}` };
  if (status === 429) throw new RetryableError(msg, { ...opts, applied: 'no' });
  if (status !== undefined && status < 500) throw new TerminalError(msg, { ...opts, applied: 'no' });
  // A backend 5xx or "error contacting Teams": it may or may not have been posted.
  throw new RetryableError(msg, { ...opts, applied: 'unknown' });
}

/** Posts one card (both actions): checks Teams' size limit first, then the legacy connector's 200-with-failure. */
async function postCard(n: TeamsNotification, ctx: ActionContext<TeamsConfig>): Promise<void> {
  const cfg = ctx.config;
  const payload = cfg.format === 'messagecard' ? messageCard(n) : adaptiveCardMessage(n);
  const body = JSON.stringify(payload);
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new TerminalError(`${VENDOR}: the card is ${bytes} bytes; Teams accepts at most 28 KB (${MAX_MESSAGE_BYTES} bytes). Shorten text or facts`, { applied: 'no' });
  }
  const res = await postWebhook({
    vendor: VENDOR, url: cfg.webhookUrl, body, signal: ctx.signal, describeError: describeTeamsError,
  });
  const text = await res.text().catch(() => '');
  checkEmbeddedFailure(text, cfg.webhookUrl);
  if (res.status === 200 && text.trim() !== '1' && text.trim() !== '') {
    const shown = redactIn(text.slice(0, 100), cfg.webhookUrl);
    ctx.log('Teams accepted the card with an unexpected body', { status: res.status, body: shown });
  }
}

/** MessageCard accent colours for the notify capability's severities. */
const SEVERITY_COLOURS: Record<string, string> = { low: '2E7D32', medium: 'F2C80F', high: 'E8590C', critical: 'D70000' };

/** The notify capability's message as a card: the title (or a generic one), the text, the severity as a
 * fact, the link as a button. */
export function notifyCard(m: z.output<typeof capabilities.notify.sendMessage.input>): TeamsNotification {
  const severity = m.severity === undefined
    ? {}
    : { facts: [{ name: 'Severity', value: m.severity }], themeColor: SEVERITY_COLOURS[m.severity] };
  return {
    title: m.title ?? 'Riposte notification',
    text: m.text,
    ...severity,
    ...(m.link !== undefined ? { link: { title: 'Details', url: m.link } } : {}),
  };
}

const fact = z.object({ name: z.string().min(1).max(200), value: z.string().max(2000) });

export const teamsApp = defineApp({
  id: 'microsoft-teams-webhook',
  name: 'Microsoft Teams webhook',
  vendor: 'Microsoft',
  product: 'Microsoft Teams (Workflows / Office 365 connector webhooks)',
  version: '1.0.0',
  description: 'Posts notification cards (title, text, facts) to a Teams channel through a Workflows or legacy connector webhook.',
  config,
  secrets: ['webhookUrl'],
  implements: ['notify'],

  actions: (action) => ({
    postMessage: action({
      description: 'Post a card with a title, text and optional facts. themeColor applies to MessageCards only.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // No idempotency key at either endpoint: a repeat posts a second card.
      idempotent: false,
      input: z.object({
        title: z.string().min(1).max(500),
        text: z.string().min(1).max(MAX_MESSAGE_BYTES),
        facts: z.array(fact).max(50).optional(),
        themeColor: z.string().regex(/^#?[0-9A-Fa-f]{6}$/, 'themeColor is a hex colour like D70000').optional(),
      }),
      output: z.object({ ok: z.literal(true) }),
      async handler(input, ctx) {
        await postCard(input, ctx);
        return { ok: true as const };
      },
    }),
    sendMessage: action({
      description: 'The notify capability: post a card with the title (default "Riposte notification"), the text, '
        + 'the severity as a fact and the link as a button. A webhook returns no message id.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // As postMessage: a repeat posts a second card.
      idempotent: false,
      input: capabilities.notify.sendMessage.input,
      output: capabilities.notify.sendMessage.output,
      async handler(input, ctx) {
        await postCard(notifyCard(input), ctx);
        return { delivered: true };
      },
    }),
  }),

  /** Checks the URL's shape only: the one way to exercise a webhook is to post into the channel. */
  async testConnectivity(ctx: ActionContext<TeamsConfig>) {
    const kind = webhookKind(ctx.config.webhookUrl);
    if (kind === undefined) throw new TerminalError(`${VENDOR}: webhookUrl is neither a Workflows trigger URL nor a connector URL`);
    const note = kind === 'connector'
      ? 'a legacy Office 365 connector URL (Microsoft is retiring these; move to a Workflows webhook)'
      : 'a Workflows trigger URL with a signature';
    return { ok: true as const, detail: `webhook URL is ${note}; not called, because testing a webhook means posting to its channel` };
  },
});
