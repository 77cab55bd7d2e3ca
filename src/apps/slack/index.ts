/**
 * Slack incoming-webhook app. The webhook URL is the only credential (stored as a secret, never
 * shown in errors or logs). Posting has no idempotency key and no way to ask Slack afterwards
 * whether a message arrived, so `postMessage` is not idempotent and has no reconcile: a lost
 * reply parks the run instead of posting twice.
 */
import { z } from 'zod';
import { defineApp, type ActionContext } from '../../sdk/app.js';
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

const block = z.looseObject({ type: z.string().min(1) });

export const slackApp = defineApp({
  id: 'slack-webhook',
  name: 'Slack incoming webhook',
  vendor: 'Slack',
  product: 'Slack incoming webhooks',
  version: '1.0.0',
  description: 'Posts messages (text and Block Kit blocks) to the Slack channel an incoming webhook is bound to.',
  config,
  secrets: ['webhookUrl'],

  actions: (action) => ({
    postMessage: action({
      description: 'Post a message to the webhook\'s channel. `text` is the notification/fallback text when blocks are given.',
      kind: 'generic',
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
        const res = await postWebhook({ vendor: VENDOR, url: ctx.config.webhookUrl, body: JSON.stringify(payload), signal: ctx.signal, describeError: describeSlackError });
        const body = (await res.text().catch(() => '')).trim();
        if (body !== 'ok') ctx.log('Slack accepted the message with an unexpected body', { status: res.status, body: body.slice(0, 100) });
        return { ok: true as const };
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
