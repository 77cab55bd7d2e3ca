/**
 * TheHive 5 app. createTicket opens an alert whose `sourceRef` is the dedupe key: TheHive refuses
 * a second alert with the same type+source+sourceRef in an organisation (CreateError "already
 * exist"), so a repeat — even from another process — finds the first one with the query API.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { ActionError, TerminalError } from '../../sdk/errors.js';
import { entityRef, eq, isCreateError, theHiveConfig, TheHiveClient, VENDOR, type QueryOp } from './client.js';

interface Alert {
  _id: string;
  _createdAt?: number;
  type?: string;
  source?: string;
  sourceRef?: string;
  title?: string;
  description?: string;
  severity?: number;
  status?: string;
  stage?: string;
  tags?: string[];
  caseId?: string;
  observableCount?: number;
}
interface Case { _id: string; number?: number; title?: string }
interface Observable { _id: string; dataType?: string; data?: string }

const SEVERITY = { low: 1, medium: 2, high: 3, critical: 4 } as const;
const priority = z.enum(['low', 'medium', 'high', 'critical']);

const ObservableInput = z.object({
  dataType: z.string().min(1).describe('ip, domain, fqdn, url, mail, hash, filename, hostname, other, …'),
  data: z.string().min(1),
  ioc: z.boolean().default(false),
  tags: z.array(z.string().min(1)).default([]),
  message: z.string().optional(),
});

const AlertView = z.object({
  id: z.string(), url: z.string(), type: z.string(), source: z.string(), sourceRef: z.string(), title: z.string(), description: z.string(),
  severity: z.number().int(), status: z.string(), stage: z.string(), tags: z.array(z.string()), caseId: z.string().optional(),
  observableCount: z.number().int(), createdAt: z.string(),
});

function alertView(c: TheHiveClient, a: Alert): z.input<typeof AlertView> {
  const v: z.input<typeof AlertView> = {
    id: a._id, url: c.alertUrl(a._id), type: a.type ?? '', source: a.source ?? '', sourceRef: a.sourceRef ?? '', title: a.title ?? '',
    description: a.description ?? '', severity: a.severity ?? 0, status: a.status ?? '', stage: a.stage ?? '', tags: a.tags ?? [],
    observableCount: a.observableCount ?? 0, createdAt: new Date(a._createdAt ?? 0).toISOString(),
  };
  if (a.caseId !== undefined) v.caseId = a.caseId;
  return v;
}

function observableBody(o: z.output<typeof ObservableInput>): Record<string, unknown> {
  const b: Record<string, unknown> = { dataType: o.dataType, data: o.data, ioc: o.ioc, tags: o.tags };
  if (o.message !== undefined) b.message = o.message;
  return b;
}

function caseMarker(idempotencyKey: string): string {
  return `riposte:${idempotencyKey}`;
}

const isNotFound = (err: unknown) => err instanceof TerminalError && err.status === 404;
const reason = (err: unknown) => (err instanceof ActionError ? err.message : String(err));

/** Observables of an alert or case with this dataType and data. */
function findObservables(c: TheHiveClient, target: 'alert' | 'case', id: string, dataType: string, data: string): Promise<Observable[]> {
  return c.query<Observable[]>(`${target}-observables`, [
    { _name: target === 'alert' ? 'getAlert' : 'getCase', idOrName: id },
    { _name: 'observables' },
    { _name: 'filter', _and: [eq('dataType', dataType), eq('data', data)] },
    { _name: 'page', from: 0, to: 10 },
  ]);
}

async function getCaseNumber(c: TheHiveClient, id: string): Promise<number> {
  return (await c.request<Case>('GET', `/case/${encodeURIComponent(id)}`)).number ?? 0;
}

export const theHiveApp = defineApp({
  id: 'thehive',
  name: 'TheHive',
  vendor: 'StrangeBee',
  product: 'TheHive 5',
  version: '1.0.0',
  description: 'Alerts (deduplicated by sourceRef), cases and observables in TheHive 5.',
  config: theHiveConfig,
  secrets: ['apiKey'],
  implements: ['ticketing'],

  actions: (action) => ({
    createTicket: action({
      description: 'Create an alert with sourceRef = dedupe key, or return the existing one (TheHive enforces type+source+sourceRef uniqueness).',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      input: capabilities.ticketing.createTicket.input.extend({ observables: z.array(ObservableInput).default([]) }),
      output: capabilities.ticketing.createTicket.output,
      async handler(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        const { alertType: type, alertSource: source } = ctx.config;
        const body = {
          type, source, sourceRef: input.dedupeKey,
          title: input.summary.replace(/\s*[\r\n]+\s*/g, ' ').trim(),
          // TheHive requires a non-empty description.
          description: input.description.trim() === '' ? input.summary : input.description,
          severity: SEVERITY[input.priority],
          tags: [...new Set(['riposte', ...input.labels])],
          observables: input.observables.map(observableBody),
        };
        try {
          const a = await c.request<Alert>('POST', '/alert', body);
          ctx.log('created alert', { id: a._id });
          return { id: a._id, key: a._id, url: c.alertUrl(a._id), created: true };
        } catch (err) {
          if (!isCreateError(err, /already exist/i)) throw err;
        }
        const [existing] = await c.query<Alert[]>('alerts', [
          { _name: 'listAlert' },
          { _name: 'filter', _and: [eq('type', type), eq('source', source), eq('sourceRef', input.dedupeKey)] },
          { _name: 'page', from: 0, to: 1 },
        ]);
        if (existing === undefined) {
          throw new TerminalError(`${VENDOR}: an alert ${type}:${source}:${input.dedupeKey} exists but this API key cannot find it (another organisation?)`, { applied: 'no' });
        }
        ctx.log('found existing alert for dedupe key', { id: existing._id });
        return { id: existing._id, key: existing._id, url: c.alertUrl(existing._id), created: false };
      },
    }),

    createCase: action({
      description: 'Create a case. It is tagged riposte:<idempotencyKey> so reconcile can find it.',
      kind: 'generic',
      readOnly: false,
      // Cases have no natural unique key.
      idempotent: false,
      input: z.object({
        title: z.string().min(1), description: z.string().min(1), severity: priority.default('medium'),
        tags: z.array(z.string().min(1)).default([]), tlp: z.number().int().min(0).max(4).optional(), pap: z.number().int().min(0).max(3).optional(),
      }),
      output: z.object({ id: z.string(), number: z.number().int(), url: z.string() }),
      async handler(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        const body: Record<string, unknown> = {
          title: input.title, description: input.description, severity: SEVERITY[input.severity],
          tags: [...new Set(['riposte', ...input.tags, caseMarker(ctx.idempotencyKey)])],
        };
        if (input.tlp !== undefined) body.tlp = input.tlp;
        if (input.pap !== undefined) body.pap = input.pap;
        const k = await c.request<Case>('POST', '/case', body);
        return { id: k._id, number: k.number ?? 0, url: c.caseUrl(k._id) };
      },
      async reconcile(_input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        try {
          const [k] = await c.query<Case[]>('cases', [
            { _name: 'listCase' }, { _name: 'filter', ...eq('tags', caseMarker(ctx.idempotencyKey)) }, { _name: 'page', from: 0, to: 1 },
          ]);
          return k === undefined ? { applied: false } : { applied: true, output: { id: k._id, number: k.number ?? 0, url: c.caseUrl(k._id) } };
        } catch (err) {
          return { applied: 'unknown', reason: reason(err) };
        }
      },
    }),

    addObservable: action({
      description: 'Add an observable to an alert or a case; when TheHive says it already exists, return the existing one.',
      kind: 'generic',
      readOnly: false,
      // TheHive 4 refuses duplicates per parent, but that is not documented for TheHive 5.
      idempotent: false,
      input: ObservableInput.extend({
        target: z.enum(['alert', 'case']),
        id: z.string().min(1).describe('Alert or case id'),
      }),
      output: z.object({ ids: z.array(z.string()), created: z.boolean() }),
      async handler(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        const id = entityRef(input.id, input.target);
        try {
          const created = await c.request<Observable[]>('POST', `/${input.target}/${encodeURIComponent(id)}/observable`, observableBody(input));
          return { ids: created.map((o) => o._id), created: true };
        } catch (err) {
          if (!isCreateError(err, /already exist/i)) throw err;
        }
        const existing = await findObservables(c, input.target, id, input.dataType, input.data);
        return { ids: existing.map((o) => o._id), created: false };
      },
      async reconcile(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        try {
          const existing = await findObservables(c, input.target, entityRef(input.id, input.target), input.dataType, input.data);
          return existing.length === 0 ? { applied: false } : { applied: true, output: { ids: existing.map((o) => o._id), created: true } };
        } catch (err) {
          if (isNotFound(err)) return { applied: false };
          return { applied: 'unknown', reason: reason(err) };
        }
      },
    }),

    promoteAlert: action({
      description: 'Turn an alert into a case (its observables are copied); returns the existing case when the alert was already imported.',
      kind: 'generic',
      readOnly: false,
      // Checked before acting, and TheHive refuses to import an alert twice.
      idempotent: true,
      input: z.object({ alertId: z.string().min(1), caseTemplate: z.string().min(1).optional() }),
      output: z.object({ caseId: z.string(), caseNumber: z.number().int(), url: z.string(), created: z.boolean() }),
      async handler(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        const path = `/alert/${encodeURIComponent(entityRef(input.alertId, 'alert'))}`;
        const existing = async (caseId: string) => ({ caseId, caseNumber: await getCaseNumber(c, caseId), url: c.caseUrl(caseId), created: false });
        const before = await c.request<Alert>('GET', path);
        if (before.caseId !== undefined) return existing(before.caseId);
        try {
          const k = await c.request<Case>('POST', `${path}/case`, input.caseTemplate === undefined ? {} : { caseTemplate: input.caseTemplate });
          return { caseId: k._id, caseNumber: k.number ?? 0, url: c.caseUrl(k._id), created: true };
        } catch (err) {
          // Lost a race with another promotion: report the case it created.
          if (!(err instanceof TerminalError && err.status === 400)) throw err;
          const after = await c.request<Alert>('GET', path);
          if (after.caseId === undefined) throw err;
          return existing(after.caseId);
        }
      },
    }),

    getAlert: action({
      description: 'Read an alert by id.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({ alertId: z.string().min(1) }),
      output: z.object({ found: z.boolean(), alert: AlertView.optional() }),
      async handler(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        try {
          return { found: true, alert: alertView(c, await c.request<Alert>('GET', `/alert/${encodeURIComponent(entityRef(input.alertId, 'alert'))}`)) };
        } catch (err) {
          if (isNotFound(err)) return { found: false };
          throw err;
        }
      },
    }),

    findAlerts: action({
      description: 'List alerts (oldest first) filtered by sourceRef, status or tag, paging through the query API.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({
        sourceRef: z.string().min(1).optional(), status: z.string().min(1).optional(), tag: z.string().min(1).optional(),
        maxResults: z.number().int().min(1).max(10_000).default(100), pageSize: z.number().int().min(1).max(1000).default(100),
      }),
      output: z.object({ alerts: z.array(AlertView), total: z.number().int(), truncated: z.boolean() }),
      async handler(input, ctx) {
        const c = new TheHiveClient(ctx.config, ctx.signal);
        const conds = [
          ...(input.sourceRef === undefined ? [] : [eq('sourceRef', input.sourceRef)]),
          ...(input.status === undefined ? [] : [eq('status', input.status)]),
          ...(input.tag === undefined ? [] : [eq('tags', input.tag)]),
        ];
        const ops: QueryOp[] = [{ _name: 'listAlert' }];
        if (conds.length > 0) ops.push({ _name: 'filter', _and: conds });
        ops.push({ _name: 'sort', _fields: [{ _createdAt: 'asc' }, { _id: 'asc' }] });
        const { items, total, truncated } = await c.queryAll<Alert>('alerts', ops, input.maxResults, input.pageSize);
        return { alerts: items.map((a) => alertView(c, a)), total, truncated };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const c = new TheHiveClient(ctx.config, ctx.signal);
    const me = await c.request<{ login?: string; organisation?: string }>('GET', '/user/current');
    return { ok: true, detail: `authenticated as ${me.login ?? 'unknown user'} in organisation ${me.organisation ?? '?'}` };
  },
});
