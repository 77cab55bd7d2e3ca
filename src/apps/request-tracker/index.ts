/**
 * Best Practical Request Tracker 5 app (REST 2.0). createTicket finds a ticket tagged with the
 * dedupe key before creating one (see dedupe.ts); comments carry a `[riposte:<idempotencyKey>]`
 * marker so reconcile can find them in the ticket history. Creates are serialized per key within
 * this process; two processes creating for the same key at the same instant can still both create.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { ActionError, TerminalError } from '../../sdk/errors.js';
import { RtClient, ticketRef, VENDOR, type RtConfig, type RtRef } from './client.js';
import { dedupeTag, findTagged, marker, serialized, SUBJECT_TAG, ticketSubject } from './dedupe.js';
import { findMarker, transactionText, type TxItem } from './history.js';

const config = z.object({
  url: z.url().describe('RT base URL (what precedes /REST/2.0), e.g. https://rt.example.com or https://example.com/rt'),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  token: z.string().regex(/^\d+-\d+-[0-9a-fA-F]{32}$/, 'an RT auth token looks like 1-14-<32 hex digits>').optional()
    .describe('RT::Authen::Token auth string; used instead of username/password when set'),
  queue: z.string().min(1).default('General'),
  dedupeField: z.string().min(1).regex(/^[^{}]+$/, 'custom field names cannot contain braces').default(SUBJECT_TAG)
    .describe(`"${SUBJECT_TAG}" (tag in the Subject) or the name of a ticket custom field applied to the queue`),
});

const PRIORITY = { low: 10, medium: 50, high: 80, critical: 100 } as const;
/** How far RT's clock may lag ours when reconcile looks for a transaction after the intent. */
const CLOCK_SKEW_MS = 10 * 60_000;

interface TicketView {
  id: number | string;
  Subject?: string;
  Status?: string;
  Priority?: string | number;
  Created?: string;
  Queue?: RtRef;
  Owner?: RtRef;
  Requestor?: RtRef[];
  CustomFields?: Array<{ name?: string; values?: unknown[] }>;
}

const ticketInput = z.object({ ticket: z.string().min(1).describe('Ticket number: 42, #42 or RT#42') });
const ticketRecord = z.object({
  id: z.string(), key: z.string(), url: z.string(), subject: z.string(), status: z.string(), queue: z.string(),
  priority: z.number().optional(), owner: z.string().optional(), requestors: z.array(z.string()),
  created: z.string().optional(), customFields: z.record(z.string(), z.array(z.string())), description: z.string(),
});

function commentMarker(idempotencyKey: string): string {
  return marker(idempotencyKey);
}

async function isNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof TerminalError && err.status === 404) return undefined;
    throw err;
  }
}

async function queueName(c: RtClient, ref: RtRef | undefined): Promise<string> {
  if (ref === undefined) return '';
  const q = await c.request<{ Name?: string }>('GET', `/queue/${encodeURIComponent(String(ref.id))}`);
  return q.Name ?? String(ref.id);
}

export const requestTrackerApp = defineApp({
  id: 'request-tracker',
  name: 'Request Tracker',
  vendor: 'Best Practical',
  product: 'Request Tracker 5',
  version: '1.0.0',
  description: 'Opens, comments on, resolves and reads RT 5 tickets (REST 2.0), with find-before-create deduplication.',
  config,
  secrets: ['password', 'token'],
  implements: ['ticketing'],

  actions: (action) => ({
    createTicket: action({
      description: 'Find the ticket tagged with the dedupe key (Subject tag or custom field), or create it in the configured queue.',
      kind: 'generic',
      readOnly: false,
      // Find-before-create on the dedupe tag makes a repeat return the same ticket.
      idempotent: true,
      input: capabilities.ticketing.createTicket.input,
      output: capabilities.ticketing.createTicket.output,
      async handler(input, ctx) {
        const cfg: RtConfig = ctx.config;
        const c = new RtClient(cfg, ctx.signal);
        const tag = dedupeTag(input.dedupeKey);
        const subjectMode = cfg.dedupeField === SUBJECT_TAG;
        return serialized(`${c.base}|${cfg.dedupeField}|${tag}`, async () => {
          const [existing] = await findTagged(c, cfg.dedupeField, tag);
          if (existing !== undefined) {
            ctx.log('found existing ticket for dedupe key', { id: existing });
            return { id: existing, key: existing, url: c.ticketUrl(existing), created: false };
          }
          if (!subjectMode) {
            // RT silently drops values for custom fields not applied to the queue: the ticket
            // would be created but never found again, so refuse before creating.
            const q = await c.request<{ TicketCustomFields?: Array<{ name?: string }> }>('GET', `/queue/${encodeURIComponent(cfg.queue)}`);
            if (!(q.TicketCustomFields ?? []).some((cf) => cf.name === cfg.dedupeField)) {
              throw new TerminalError(`${VENDOR}: custom field "${cfg.dedupeField}" is not applied to queue "${cfg.queue}"`, { applied: 'no' });
            }
          }
          const labels = input.labels.filter((l) => l.trim() !== '');
          const content = labels.length > 0 ? `${input.description}\n\nLabels: ${labels.join(', ')}` : input.description;
          const body: Record<string, unknown> = {
            Queue: cfg.queue,
            Subject: ticketSubject(input.summary, subjectMode ? tag : undefined),
            Priority: PRIORITY[input.priority],
            Content: content,
            ContentType: 'text/plain',
          };
          if (!subjectMode) body.CustomFields = { [cfg.dedupeField]: tag };
          const created = await c.request<RtRef>('POST', '/ticket', body);
          const id = String(created.id);
          ctx.log('created ticket', { id, queue: cfg.queue });
          return { id, key: id, url: c.ticketUrl(id), created: true };
        });
      },
    }),

    addComment: action({
      description: 'Add a private comment (or, with public: true, a reply to the requestors). It carries a [riposte:<idempotencyKey>] marker so reconcile can find it.',
      kind: 'generic',
      readOnly: false,
      // RT records the same comment twice; there is no key to deduplicate on the server.
      idempotent: false,
      input: ticketInput.extend({
        body: z.string().min(1),
        public: z.boolean().default(false).describe('Correspond (mailed to requestors) instead of a private comment'),
      }),
      output: z.object({ ticket: z.string(), transactionId: z.string().optional() }),
      async handler(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new RtClient(ctx.config, ctx.signal);
        const m = commentMarker(ctx.idempotencyKey);
        await c.request<string[]>('POST', `/ticket/${ticket}/${input.public ? 'correspond' : 'comment'}`, {
          Subject: `Riposte ${m}`, Content: `${input.body}\n\n${m}`, ContentType: 'text/plain',
        });
        // RT replies with messages only; the new transaction is the newest one carrying the marker.
        const found = await findMarker(c, ticket, m, { maxTransactions: 20 });
        return found.found ? { ticket, transactionId: found.transactionId } : { ticket };
      },
      async reconcile(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new RtClient(ctx.config, ctx.signal);
        try {
          const found = await findMarker(c, ticket, commentMarker(ctx.idempotencyKey), {
            notBefore: new Date(ctx.intentAt.getTime() - CLOCK_SKEW_MS), maxTransactions: 500,
          });
          if (found.found) return { applied: true, output: { ticket, transactionId: found.transactionId } };
          if (found.exhausted) return { applied: 'unknown', reason: `${VENDOR}: more than 500 transactions on ticket ${ticket} since the intent; marker not found in them` };
          return { applied: false };
        } catch (err) {
          // A missing ticket cannot have received the comment.
          if (err instanceof TerminalError && err.status === 404) return { applied: false };
          return { applied: 'unknown', reason: err instanceof ActionError ? err.message : String(err) };
        }
      },
    }),

    resolveTicket: action({
      description: 'Set the ticket status to resolved; no-op when it already is.',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      undo: 'reopenTicket',
      input: ticketInput,
      output: z.object({ ticket: z.string(), status: z.string(), changed: z.boolean() }),
      handler: (input, ctx) => setStatus(input.ticket, 'resolved', ctx.config, ctx.signal),
    }),

    reopenTicket: action({
      description: 'Set the ticket status back to open; no-op when it already is.',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      input: ticketInput,
      output: z.object({ ticket: z.string(), status: z.string(), changed: z.boolean() }),
      handler: (input, ctx) => setStatus(input.ticket, 'open', ctx.config, ctx.signal),
    }),

    getTicket: action({
      description: 'Read a ticket: subject, status, queue, priority, people, custom fields and the text it was opened with.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: ticketInput,
      output: z.object({ found: z.boolean(), ticket: ticketRecord.optional() }),
      async handler(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new RtClient(ctx.config, ctx.signal);
        const t = await isNotFound(c.request<TicketView>('GET', `/ticket/${ticket}`));
        if (t === undefined) return { found: false };
        const create = await c.collect<TxItem>(`/ticket/${ticket}/history`, {
          perPage: 10, limit: 10, params: { fields: 'Type', orderby: 'id', order: 'ASC' },
        });
        const createTx = create.items.find((tx) => tx.Type === 'Create');
        const customFields: Record<string, string[]> = {};
        for (const cf of t.CustomFields ?? []) if (cf.name !== undefined) customFields[cf.name] = (cf.values ?? []).map(String);
        const priority = Number(t.Priority);
        return {
          found: true,
          ticket: {
            id: String(t.id), key: String(t.id), url: c.ticketUrl(String(t.id)), subject: t.Subject ?? '', status: t.Status ?? '',
            queue: await queueName(c, t.Queue),
            ...(Number.isFinite(priority) ? { priority } : {}),
            ...(t.Owner !== undefined ? { owner: String(t.Owner.id) } : {}),
            requestors: (t.Requestor ?? []).map((r) => String(r.id)),
            ...(t.Created !== undefined ? { created: t.Created } : {}),
            customFields,
            description: createTx === undefined ? '' : (await transactionText(c, String(createTx.id))).trim(),
          },
        };
      },
    }),

    searchTickets: action({
      description: 'Run a TicketSQL query and page through the results.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({
        query: z.string().min(1).describe("TicketSQL, e.g. Queue = 'General' AND Status = 'open'"),
        limit: z.number().int().min(1).max(10_000).default(100),
        pageSize: z.number().int().min(1).max(100).default(100),
      }),
      output: z.object({
        total: z.number(),
        truncated: z.boolean(),
        tickets: z.array(z.object({ id: z.string(), subject: z.string(), status: z.string(), url: z.string() })),
      }),
      async handler(input, ctx) {
        const c = new RtClient(ctx.config, ctx.signal);
        const res = await c.collect<RtRef & { Subject?: string; Status?: string }>(`/tickets?query=${encodeURIComponent(input.query)}`, {
          perPage: input.pageSize, limit: input.limit, params: { fields: 'Subject,Status', orderby: 'id', order: 'ASC' },
        });
        return {
          total: res.total,
          truncated: res.truncated,
          tickets: res.items.map((t) => ({ id: String(t.id), subject: t.Subject ?? '', status: t.Status ?? '', url: c.ticketUrl(String(t.id)) })),
        };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const c = new RtClient(ctx.config, ctx.signal);
    const rt = await c.request<{ Version?: string }>('GET', '/rt');
    return { ok: true, detail: `Request Tracker ${rt.Version ?? '(unknown version)'}` };
  },
});

/**
 * Sets the status when it differs. RT answers an update with HTTP 200 and a list of messages
 * even when it refused a change (e.g. a status the lifecycle forbids), so the ticket is read back.
 */
async function setStatus(ref: string, status: string, cfg: RtConfig, signal: AbortSignal) {
  const ticket = ticketRef(ref);
  const c = new RtClient(cfg, signal);
  const before = await c.request<TicketView>('GET', `/ticket/${ticket}`);
  if (before.Status === status) return { ticket, status, changed: false };
  const messages = await c.request<unknown>('PUT', `/ticket/${ticket}`, { Status: status });
  const after = await c.request<TicketView>('GET', `/ticket/${ticket}`);
  if (after.Status !== status) {
    const said = Array.isArray(messages) ? messages.map(String).join('; ') : '';
    throw new TerminalError(`${VENDOR}: ticket ${ticket} is still ${after.Status ?? 'unknown'} after setting status ${status}${said ? `: ${said}` : ''}`, { applied: 'no' });
  }
  return { ticket, status, changed: true };
}
