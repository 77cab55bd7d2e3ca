/**
 * Slack incoming-webhook app (implements `notify`). The webhook URL is the only credential (stored as a secret, never
 * shown in errors or logs). Posting has no idempotency key and no way to ask Slack afterwards
 * whether a message arrived, so `postMessage` is not idempotent and has no reconcile: a lost
 * reply parks the run instead of posting twice.
 */
import { z } from 'zod';
import { defineApp, type ActionContext } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { isAcceptableWebhookUrl, postWebhook } from '../webhook-post.js';
import type { VendorErrorInfo } from '../http.js';

export const VENDOR = 'Slack';
const HOOK_PATH = /^\/services\/(T[A-Z0-9]+)\/(B[A-Z0-9]+)\/[A-Za-z0-9]+$/;

/** True for `https://<host>/services/T…/B…/<secret>` (http only on loopback, for the lab). */
export function isSlackWebhookUrl(url: string): boolean {
  if (!isAcceptableWebhookUrl(url)) return false;
  const u = new URL(url);
  return HOOK_PATH.test(u.pathname) && u.search === '';
}

const config = z.object({
  webhookUrl: z.string().refine(isSlackWebhookUrl, 'webhookUrl must look like https://hooks.slack.com/services/T…/B…/…'),
});
type SlackConfig = z.output<typeof config>;

/** Slack answers webhook errors with a bare text/plain code such as `channel_is_archived`. */
export function describeSlackError(status: number, body: string): VendorErrorInfo {
  const code = body.trim();
  if (/^[a-z_]{2,64}$/.test(code)) return { message: code, code };
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

type NotifyMessage = z.output<typeof capabilities.notify.sendMessage.input>;

const block = z.looseObject({ type: z.string().min(1) });

/** Posts one payload to the webhook (both actions). Slack answers a plain `ok`. */
async function post(payload: Record<string, unknown>, ctx: ActionContext<SlackConfig>): Promise<void> {
  const res = await postWebhook({
    vendor: VENDOR, url: ctx.config.webhookUrl, body: JSON.stringify(payload), signal: ctx.signal,
    describeError: describeSlackError,
  });
  const body = (await res.text().catch(() => '')).trim();
  if (body !== 'ok') {
    ctx.log('Slack accepted the message with an unexpected body', { status: res.status, body: body.slice(0, 100) });
  }
}

/**
 * Slack reads `&`, `<` and `>` in text as markup (`<!channel>` notifies a whole channel,
 * `<url|label>` is a link): text that comes from an alert is escaped as Slack documents.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The notify capability's message as Slack text: the title in bold, the severity, the text, the link. */
export function notifyText(m: NotifyMessage): string {
  const lines: string[] = [];
  const head = [
    m.title === undefined ? '' : `*${slackEscape(m.title)}*`, m.severity === undefined ? '' : `[${m.severity}]`,
  ].filter(Boolean);
  if (head.length > 0) lines.push(head.join(' '));
  lines.push(slackEscape(m.text));
  // A URL never holds `<` or `>` (they are percent-encoded); `|` would end Slack's link target.
  if (m.link !== undefined) lines.push(`<${new URL(m.link).href.replace(/\|/g, '%7C')}|Details>`);
  return lines.join('\n');
}

export const slackApp = defineApp({
  id: 'slack-webhook',
  name: 'Slack incoming webhook',
  vendor: 'Slack',
  product: 'Slack incoming webhooks',
  version: '1.0.0',
  description: 'Posts messages (text and Block Kit blocks) to the Slack channel an incoming webhook is bound to.',
  config,
  secrets: ['webhookUrl'],
  implements: ['notify'],

  actions: (action) => ({
    postMessage: action({
      description: 'Post a message to the webhook\'s channel. `text` is the notification/fallback text when blocks are given.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // No idempotency key: a repeat posts a second message.
      idempotent: false,
      input: z.object({
        text: z.string().min(1).max(40_000),
        blocks: z.array(block).max(50).optional(),
      }),
      output: z.object({ ok: z.literal(true) }),
      async handler(input, ctx) {
        const payload: Record<string, unknown> = { text: input.text };
        if (input.blocks !== undefined && input.blocks.length > 0) payload.blocks = input.blocks;
        await post(payload, ctx);
        return { ok: true as const };
      },
    }),
    sendMessage: action({
      description: 'The notify capability: post the text (escaped), with the title, severity and link, to the '
        + 'webhook\'s channel. An incoming webhook returns no message id.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // As postMessage: a repeat posts a second message.
      idempotent: false,
      input: capabilities.notify.sendMessage.input,
      output: capabilities.notify.sendMessage.output,
      async handler(input, ctx) {
        await post({ text: notifyText(input) }, ctx);
        return { delivered: true };
      },
    }),
  }),

  /**
   * Checks the URL's shape only: the one way to exercise an incoming webhook is to post into the
   * channel, which a connectivity test must not do.
   */
  async testConnectivity(ctx: ActionContext<SlackConfig>) {
    if (!isSlackWebhookUrl(ctx.config.webhookUrl)) throw new TerminalError('Slack: webhookUrl does not have the incoming-webhook shape https://hooks.slack.com/services/T…/B…/…');
    const team = HOOK_PATH.exec(new URL(ctx.config.webhookUrl).pathname)?.[1];
    return {
      ok: true as const,
      detail: `webhook URL has the incoming-webhook shape (workspace ${team}); not called, because testing a webhook means posting to its channel`,
    };
  },
});
