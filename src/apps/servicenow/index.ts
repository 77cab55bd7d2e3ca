/**
 * ServiceNow incidents through the Table API. ServiceNow has no idempotency keys and does not
 * enforce unique `correlation_id`s, so createTicket stores `riposte-<dedupeKey>` there and queries
 * it before inserting; creates are serialized per key within this process (two processes racing
 * on the same key can still both insert).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { ActionError, TerminalError } from '../../sdk/errors.js';
import { serviceNowConfig, ServiceNowClient, ticketRef, VENDOR } from './client.js';
import { keyedSerializer } from '../keyed-serializer.js';

const INCIDENT = '/api/now/table/incident';
const JOURNAL = '/api/now/table/sys_journal_field';

/** A resolved or closed incident (state 6 Resolved, 7 Closed). */
const DONE_STATES = new Set(['6', '7']);

interface IncidentRow {
  sys_id: string;
  number: string;
  short_description?: string;
  description?: string;
  state?: string;
  priority?: string;
  urgency?: string;
  impact?: string;
  correlation_id?: string;
  close_code?: string;
  close_notes?: string;
  sys_created_on?: string;
}

/**
 * `riposte-<dedupeKey>` when the key is short and plain; otherwise a readable prefix plus a hash
 * of the whole key (correlation_id holds 100 characters, and `^` would split the encoded query).
 */
export function correlationId(dedupeKey: string): string {
  const plain = `riposte-${dedupeKey}`;
  if (plain.length <= 100 && /^[A-Za-z0-9_.:@/ -]+$/.test(dedupeKey)) return plain;
  const hash = createHash('sha256').update(dedupeKey).digest('hex').slice(0, 24);
  return `riposte-${dedupeKey.replace(/[^A-Za-z0-9_.:@/-]/g, '-').slice(0, 60)}-${hash}`;
}

/** Riposte priority → urgency and impact (ServiceNow derives priority from both). */
const SEVERITY: Record<'low' | 'medium' | 'high' | 'critical', { urgency: string; impact: string }> = {
  critical: { urgency: '1', impact: '1' }, // priority 1 - Critical
  high: { urgency: '1', impact: '2' }, // priority 2 - High (impact 1 as well would page as P1)
  medium: { urgency: '2', impact: '2' }, // priority 3 - Moderate
  low: { urgency: '3', impact: '3' }, // priority 5 - Planning
};


const serialized = keyedSerializer();

function noteMarker(idempotencyKey: string): string {
  return `[riposte:${idempotencyKey}]`;
}

function isNotFound(err: unknown): boolean {
  return err instanceof TerminalError && err.status === 404;
}

/** The incident a ticket reference names, or undefined when there is none. */
async function findIncident(c: ServiceNowClient, ticket: string, fields: string): Promise<IncidentRow | undefined> {
  const ref = ticketRef(ticket);
  const params = new URLSearchParams({ sysparm_fields: fields, sysparm_exclude_reference_link: 'true' });
  if ('sysId' in ref) {
    try {
      return (await c.request<IncidentRow>('GET', `${INCIDENT}/${ref.sysId}?${params}`)).result;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  params.set('sysparm_query', `number=${ref.number}`);
  params.set('sysparm_limit', '1');
  const rows = (await c.request<IncidentRow[]>('GET', `${INCIDENT}?${params}`)).result ?? [];
  return rows.find((r) => r.number === ref.number);
}

async function mustFind(c: ServiceNowClient, ticket: string, fields: string): Promise<IncidentRow> {
  const row = await findIncident(c, ticket, fields);
  if (row === undefined) throw new TerminalError(`${VENDOR}: incident ${ticket} not found`, { status: 404, applied: 'no' });
  return row;
}

const ticketInput = z.object({ ticket: z.string().min(1).describe('Incident sys_id or number (INC0010001)') });
const IncidentView = z.object({
  id: z.string(), key: z.string(), url: z.string(), shortDescription: z.string(), description: z.string(), state: z.string(),
  priority: z.string(), urgency: z.string(), impact: z.string(), correlationId: z.string(), closeCode: z.string(), closeNotes: z.string(),
  createdAt: z.string(),
});
const VIEW_FIELDS = 'sys_id,number,short_description,description,state,priority,urgency,impact,correlation_id,close_code,close_notes,sys_created_on';

function view(c: ServiceNowClient, r: IncidentRow): z.input<typeof IncidentView> {
  return {
    id: r.sys_id, key: r.number, url: c.recordUrl(r.sys_id), shortDescription: r.short_description ?? '', description: r.description ?? '',
    state: r.state ?? '', priority: r.priority ?? '', urgency: r.urgency ?? '', impact: r.impact ?? '', correlationId: r.correlation_id ?? '',
    closeCode: r.close_code ?? '', closeNotes: r.close_notes ?? '', createdAt: r.sys_created_on ?? '',
  };
}

export const serviceNowApp = defineApp({
  id: 'servicenow',
  name: 'ServiceNow ITSM',
  vendor: 'ServiceNow',
  product: 'ITSM (Table API)',
  version: '1.0.0',
  description: 'Opens, annotates, resolves and searches ServiceNow incidents with correlation_id deduplication.',
  config: serviceNowConfig,
  secrets: ['password', 'clientSecret', 'accessToken'],
  implements: ['ticketing'],

  actions: (action) => ({
    createTicket: action({
      description: 'Find the incident whose correlation_id is riposte-<dedupeKey>, or create it (urgency/impact from priority).',
      kind: 'generic',
      readOnly: false,
      // Query-before-insert on correlation_id makes a repeat return the same incident.
      idempotent: true,
      input: capabilities.ticketing.createTicket.input,
      output: capabilities.ticketing.createTicket.output,
      async handler(input, ctx) {
        const c = new ServiceNowClient(ctx.config, ctx.signal);
        const corr = correlationId(input.dedupeKey);
        return serialized(`${c.base}|${corr}`, async () => {
          const q = new URLSearchParams({
            sysparm_query: `correlation_id=${corr}^ORDERBYsys_created_on`, sysparm_fields: 'sys_id,number,correlation_id',
            sysparm_limit: '10', sysparm_exclude_reference_link: 'true',
          });
          const found = (await c.request<IncidentRow[]>('GET', `${INCIDENT}?${q}`)).result ?? [];
          // Re-check the value: an instance that ignores an invalid condition returns every row.
          const existing = found.find((r) => r.correlation_id === corr);
          if (existing !== undefined) {
            ctx.log('found existing incident for dedupe key', { number: existing.number });
            return { id: existing.sys_id, key: existing.number, url: c.recordUrl(existing.sys_id), created: false };
          }
          const labels = input.labels.length > 0 ? `\n\nLabels: ${input.labels.join(', ')}` : '';
          const fields: Record<string, string> = {
            short_description: input.summary.replace(/\s*[\r\n]+\s*/g, ' ').trim().slice(0, 160),
            description: `${input.description}${labels}`,
            ...SEVERITY[input.priority],
            correlation_id: corr,
            correlation_display: 'Riposte',
          };
          if (ctx.config.assignmentGroup !== undefined) fields.assignment_group = ctx.config.assignmentGroup;
          if (ctx.config.callerId !== undefined) fields.caller_id = ctx.config.callerId;
          if (ctx.config.category !== undefined) fields.category = ctx.config.category;
          const res = await c.request<IncidentRow>('POST', `${INCIDENT}?sysparm_fields=sys_id,number&sysparm_exclude_reference_link=true`, fields);
          ctx.log('created incident', { number: res.result.number });
          return { id: res.result.sys_id, key: res.result.number, url: c.recordUrl(res.result.sys_id), created: true };
        });
      },
    }),

    addWorkNote: action({
      description: 'Add a work note to an incident. The note ends with a [riposte:<idempotencyKey>] marker so reconcile can find it.',
      kind: 'generic',
      readOnly: false,
      // Every PATCH of work_notes appends a journal entry.
      idempotent: false,
      input: ticketInput.extend({ note: z.string().min(1) }),
      output: z.object({ id: z.string(), key: z.string() }),
      async handler(input, ctx) {
        const c = new ServiceNowClient(ctx.config, ctx.signal);
        const row = await mustFind(c, input.ticket, 'sys_id,number');
        const res = await c.request<IncidentRow>('PATCH', `${INCIDENT}/${row.sys_id}?sysparm_fields=sys_id,number`, {
          work_notes: `${input.note}\n\n${noteMarker(ctx.idempotencyKey)}`,
        });
        return { id: res.result.sys_id, key: res.result.number };
      },
      async reconcile(input, ctx) {
        const c = new ServiceNowClient(ctx.config, ctx.signal);
        const marker = noteMarker(ctx.idempotencyKey);
        try {
          const row = await findIncident(c, input.ticket, 'sys_id,number');
          if (row === undefined) return { applied: false };
          const output = { id: row.sys_id, key: row.number };
          if (!marker.includes('^')) {
            try {
              const q = new URLSearchParams({
                sysparm_query: `element_id=${row.sys_id}^element=work_notes^valueLIKE${marker}`, sysparm_fields: 'sys_id,value', sysparm_limit: '5',
              });
              const hits = (await c.request<Array<{ value?: string }>>('GET', `${JOURNAL}?${q}`)).result ?? [];
              if (hits.some((h) => h.value?.includes(marker))) return { applied: true, output };
            } catch (err) {
              // sys_journal_field is often admin-only: fall back to the incident's journal display value.
              if (!(err instanceof TerminalError && err.status === 403)) throw err;
            }
          }
          // Read ACLs may also hide journal rows silently, so an empty answer is double-checked here.
          const notes = await c.request<{ work_notes?: string }>('GET', `${INCIDENT}/${row.sys_id}?sysparm_fields=work_notes&sysparm_display_value=true`);
          return notes.result?.work_notes?.includes(marker) ? { applied: true, output } : { applied: false };
        } catch (err) {
          return { applied: 'unknown', reason: err instanceof ActionError ? err.message : String(err) };
        }
      },
    }),

    resolveIncident: action({
      description: 'Set an incident to Resolved (state 6) with a resolution code and notes; no-op when already resolved or closed.',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      input: ticketInput.extend({
        closeCode: z.string().min(1).default('Solution provided').describe('Resolution code (a close_code choice of the instance)'),
        closeNotes: z.string().min(1),
      }),
      output: z.object({ id: z.string(), key: z.string(), state: z.string(), resolved: z.boolean() }),
      async handler(input, ctx) {
        const c = new ServiceNowClient(ctx.config, ctx.signal);
        const row = await mustFind(c, input.ticket, 'sys_id,number,state');
        if (DONE_STATES.has(row.state ?? '')) return { id: row.sys_id, key: row.number, state: row.state!, resolved: false };
        const res = await c.request<IncidentRow>('PATCH', `${INCIDENT}/${row.sys_id}?sysparm_fields=sys_id,number,state`, {
          state: '6', close_code: input.closeCode, close_notes: input.closeNotes,
        });
        return { id: res.result.sys_id, key: res.result.number, state: res.result.state ?? '6', resolved: true };
      },
    }),

    getIncident: action({
      description: 'Read an incident by sys_id or number.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: ticketInput,
      output: z.object({ found: z.boolean(), incident: IncidentView.optional() }),
      async handler(input, ctx) {
        const c = new ServiceNowClient(ctx.config, ctx.signal);
        const row = await findIncident(c, input.ticket, VIEW_FIELDS);
        return row === undefined ? { found: false } : { found: true, incident: view(c, row) };
      },
    }),

    searchIncidents: action({
      description: 'List incidents matching an encoded query (e.g. active=true^priority=1), oldest first, paging through results.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({
        query: z.string().default('').describe('ServiceNow encoded query'),
        maxResults: z.number().int().min(1).max(10_000).default(100),
        pageSize: z.number().int().min(1).max(1000).default(100),
      }),
      output: z.object({ incidents: z.array(IncidentView), total: z.number().int(), truncated: z.boolean() }),
      async handler(input, ctx) {
        const c = new ServiceNowClient(ctx.config, ctx.signal);
        // A stable order keeps offset paging from skipping or repeating rows.
        const query = /(^|\^)ORDERBY/.test(input.query) ? input.query : [input.query, 'ORDERBYsys_created_on', 'ORDERBYnumber'].filter(Boolean).join('^');
        const { records, total, truncated } = await c.list<IncidentRow>('incident', {
          sysparm_query: query, sysparm_fields: VIEW_FIELDS, sysparm_exclude_reference_link: 'true',
        }, input.maxResults, input.pageSize);
        return { incidents: records.map((r) => view(c, r)), total, truncated };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const c = new ServiceNowClient(ctx.config, ctx.signal);
    const res = await c.request<unknown[]>('GET', `${INCIDENT}?sysparm_limit=1&sysparm_fields=sys_id`);
    return { ok: true, detail: `incident table readable (${res.headers.get('x-total-count') ?? '?'} incidents)` };
  },
});
