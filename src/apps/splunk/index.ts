/**
 * Splunk Enterprise (and Enterprise Security) app: run a search through the streaming export
 * endpoint, update notable events, and send events to the HTTP Event Collector. Implements the
 * `siem` capability (updateAlert: one notable, through the same notable_update call).
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { ActionError, TerminalError } from '../../sdk/errors.js';
import { readExportStream, SplunkClient, splunkConfig, VENDOR } from './client.js';

/** Default review statuses of Enterprise Security (`GET /services/alerts/reviewstatuses`). */
const STATUS_IDS: Record<string, number> = { new: 1, 'in progress': 2, pending: 3, resolved: 4, closed: 5 };
const URGENCY = z.enum(['informational', 'low', 'medium', 'high', 'critical']);

/** How far back reconcile looks for an event sent by the attempt in doubt (clock skew included). */
const RECONCILE_LOOKBACK_S = 300;

/** Review status as ES expects it: an integer id (names of the default statuses accepted). */
export function statusId(status: number | string): number {
  if (typeof status === 'number') return status;
  const s = status.trim().toLowerCase().replace(/[_-]+/g, ' ');
  if (/^\d+$/.test(s)) return Number(s);
  const id = STATUS_IDS[s];
  if (id === undefined) throw new TerminalError(`${VENDOR}: status "${status}" is not a review status id or one of ${Object.keys(STATUS_IDS).join(', ')}`, { applied: 'no' });
  return id;
}

/** SPL string literal. */
function splString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const notableInput = z.object({
  eventIds: z.array(z.string().min(1)).default([]),
  searchId: z.string().min(1).optional(),
  status: z.union([z.number().int().min(0), z.string().min(1)]).optional().describe('Review status id, or new / in progress / pending / resolved / closed'),
  urgency: URGENCY.optional(),
  comment: z.string().min(1).optional(),
  newOwner: z.string().min(1).optional(),
  disposition: z.union([z.number().int().min(0), z.string().min(1)]).optional().describe('Disposition id (n or "disposition:n")'),
});
const notableOutput = z.object({ success: z.boolean(), successCount: z.number().int(), failureCount: z.number().int(), message: z.string() });

const fieldValue = z.union([z.string(), z.number(), z.array(z.string())]);

export const splunkApp = defineApp({
  id: 'splunk',
  name: 'Splunk Enterprise',
  vendor: 'Splunk',
  product: 'Splunk Enterprise / Enterprise Security',
  version: '1.0.0',
  description: 'Runs searches (streaming export), updates ES notable events and sends events to the HTTP Event Collector.',
  config: splunkConfig,
  secrets: ['authToken', 'password', 'hecToken'],
  implements: ['siem'],

  actions: (action) => ({
    runSearch: action({
      description: 'Run a search and return up to maxRows result rows (values as strings, multivalue fields joined by newlines) and the search messages.',
      kind: 'investigate',
      egress: true,
      readOnly: true,
      idempotent: true,
      timeoutMs: 120_000,
      input: z.object({
        query: z.string().min(1).describe('SPL; "search " is prepended unless it starts with "search" or "|"'),
        earliestTime: z.string().min(1).optional().describe('e.g. -24h, 2024-05-01T00:00:00Z, or epoch seconds'),
        latestTime: z.string().min(1).optional(),
        maxRows: z.number().int().min(1).max(50_000).default(1000),
      }),
      output: z.object({
        rows: z.array(z.record(z.string(), z.string())),
        messages: z.array(z.object({ type: z.string(), text: z.string() })),
        truncated: z.boolean(),
      }),
      async handler(input, ctx) {
        const c = new SplunkClient(ctx.config, ctx.signal);
        const q = input.query.trim();
        const search = /^(search\b|\|)/i.test(q) ? q : `search ${q}`;
        const form = new URLSearchParams({ search, output_mode: 'json' });
        if (input.earliestTime !== undefined) form.set('earliest_time', input.earliestTime);
        if (input.latestTime !== undefined) form.set('latest_time', input.latestTime);
        const res = await c.call('POST', '/services/search/v2/jobs/export', form, true);
        const out = await readExportStream(res.body, input.maxRows);
        // A FATAL message inside a 200 stream means the search failed: an empty result would lie.
        const fatal = out.messages.filter((m) => m.type === 'FATAL');
        if (fatal.length > 0) throw new TerminalError(`${VENDOR}: search failed: ${fatal.map((m) => m.text).join('; ')}`, { applied: 'no', vendorCode: 'FATAL' });
        return out;
      },
    }),

    updateNotable: action({
      description: 'Set status, urgency, owner or disposition of ES notable events (by event id or search id), optionally with a comment.',
      kind: 'correct',
      readOnly: false,
      // Setting the same values again changes nothing, except that the comment is added again.
      idempotent: true,
      input: notableInput,
      output: notableOutput,
      handler: (input, ctx) => notableUpdate(input, ctx),
    }),

    updateAlert: action({
      description: 'The siem capability: update one notable event (alertId = its event_id) through notable_update: '
        + 'status, urgency (from severity), owner, comment.',
      kind: 'correct',
      readOnly: false,
      // As updateNotable: setting the same values again changes nothing, but adds the comment again.
      idempotent: true,
      input: capabilities.siem.updateAlert.input,
      output: capabilities.siem.updateAlert.output,
      async handler(input, ctx) {
        if ([input.status, input.severity, input.owner, input.comment].every((v) => v === undefined)) {
          const why = `${VENDOR}: updateAlert needs at least one of status, severity, owner, comment`;
          throw new TerminalError(why, { applied: 'no' });
        }
        const out = await notableUpdate({
          eventIds: [input.alertId],
          ...(input.status !== undefined ? { status: input.status } : {}),
          ...(input.severity !== undefined ? { urgency: input.severity } : {}),
          ...(input.owner !== undefined ? { newOwner: input.owner } : {}),
          ...(input.comment !== undefined ? { comment: input.comment } : {}),
        }, ctx);
        return { updated: out.success, alertId: input.alertId, ...(out.message !== '' ? { detail: out.message } : {}) };
      },
    }),

    sendEvent: action({
      description: 'Send one event to the HTTP Event Collector; fields.riposte_id carries the idempotency key so consumers can drop duplicates.',
      kind: 'generic',
      egress: true,
      readOnly: false,
      // HEC delivers at least once and has no idempotency key.
      idempotent: false,
      input: z.object({
        event: z.union([z.record(z.string(), z.unknown()), z.string().min(1)]),
        sourcetype: z.string().min(1).optional(),
        source: z.string().min(1).optional(),
        index: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        time: z.number().positive().optional().describe('Epoch seconds'),
        fields: z.record(z.string(), fieldValue).default({}),
      }),
      output: z.object({ ok: z.literal(true), ackId: z.number().int().optional() }),
      async handler(input, ctx) {
        const envelope: Record<string, unknown> = { event: input.event, fields: { ...input.fields, riposte_id: ctx.idempotencyKey } };
        for (const k of ['time', 'host', 'source', 'sourcetype', 'index'] as const) if (input[k] !== undefined) envelope[k] = input[k];
        const r = await c(ctx).hec(JSON.stringify(envelope));
        return r.ackId === undefined ? { ok: true as const } : { ok: true as const, ackId: r.ackId };
      },
      /**
       * Searches for the event by its indexed riposte_id. Not found means "send it": if the first
       * attempt is merely not searchable yet, the copy carries the same riposte_id.
       */
      async reconcile(input, ctx) {
        try {
          const index = input.index === undefined ? '*' : input.index;
          const form = new URLSearchParams({
            search: `search index=${splString(index)} riposte_id::${splString(ctx.idempotencyKey)} | head 1`,
            output_mode: 'json',
            earliest_time: String(Math.floor(ctx.intentAt.getTime() / 1000) - RECONCILE_LOOKBACK_S),
          });
          const res = await c(ctx).call('POST', '/services/search/v2/jobs/export', form, true);
          const out = await readExportStream(res.body, 1);
          return out.rows.length > 0 ? { applied: true, output: { ok: true as const } } : { applied: false };
        } catch (err) {
          return { applied: 'unknown', reason: err instanceof ActionError ? err.message : String(err) };
        }
      },
    }),
  }),

  async testConnectivity(ctx) {
    const info = await c(ctx).json<{ entry?: Array<{ content?: { version?: string; serverName?: string } }> }>('GET', '/services/server/info?output_mode=json');
    const content = info?.entry?.[0]?.content;
    return { ok: true, detail: `Splunk ${content?.version ?? '?'} on ${content?.serverName ?? '?'}` };
  },
});

/** `POST /services/notable_update` (form-encoded, ES): updateNotable and the siem capability's updateAlert. */
async function notableUpdate(
  input: z.input<typeof notableInput>,
  ctx: { config: z.output<typeof splunkConfig>; signal: AbortSignal },
): Promise<z.output<typeof notableOutput>> {
  const eventIds = input.eventIds ?? [];
  if (eventIds.length === 0 && input.searchId === undefined) {
    throw new TerminalError(`${VENDOR}: updateNotable needs eventIds or searchId`, { applied: 'no' });
  }
  const form = new URLSearchParams();
  for (const id of eventIds) form.append('ruleUIDs', id);
  if (eventIds.length === 0 && input.searchId !== undefined) form.set('searchID', input.searchId);
  if (input.status !== undefined) form.set('status', String(statusId(input.status)));
  if (input.urgency !== undefined) form.set('urgency', input.urgency);
  if (input.newOwner !== undefined) form.set('newOwner', input.newOwner);
  if (input.disposition !== undefined) {
    const d = String(input.disposition).trim();
    if (!/^(disposition:)?\d+$/.test(d)) throw new TerminalError(`${VENDOR}: disposition "${d}" is not a number or disposition:<n>`, { applied: 'no' });
    form.set('disposition', d.startsWith('disposition:') ? d : `disposition:${d}`);
  }
  if (input.comment !== undefined) form.set('comment', input.comment);
  if ([...form.keys()].every((k) => k === 'ruleUIDs' || k === 'searchID')) {
    throw new TerminalError(`${VENDOR}: updateNotable needs at least one of status, urgency, newOwner, disposition, comment`, { applied: 'no' });
  }
  const r = await c(ctx).json<{ success?: boolean; message?: string; success_count?: number; failure_count?: number }>('POST', '/services/notable_update', form);
  const out = { success: r?.success === true, successCount: Number(r?.success_count ?? 0), failureCount: Number(r?.failure_count ?? 0), message: r?.message ?? '' };
  if (!out.success) throw new TerminalError(`${VENDOR}: notable update failed: ${out.message || 'no message'}`, { status: 200, applied: 'no' });
  return out;
}

function c(ctx: { config: z.output<typeof splunkConfig>; signal: AbortSignal }): SplunkClient {
  return new SplunkClient(ctx.config, ctx.signal);
}
