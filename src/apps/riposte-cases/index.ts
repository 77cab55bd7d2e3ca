/**
 * Riposte Cases: the `ticketing` capability served by Riposte's own case API (`/api/v1/cases`),
 * for teams without a ticketing system. It is an HTTP client like any vendor app, so a playbook
 * treats it exactly like Jira, and the cases may live on another Riposte server.
 *
 * Every write is idempotent on the server: cases are found-or-created on the dedupe key, comments
 * carry the step's idempotency key as their marker, and a status change to the current status is
 * a no-op. A step whose outcome is unknown can therefore simply be sent again.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { baseUrl, readJson, vendorFetch, type VendorErrorInfo } from '../http.js';

const VENDOR = 'Riposte cases';

const config = z.object({
  url: z.url().default('http://127.0.0.1:8080').describe('Base URL of the Riposte server that keeps the cases'),
  apiToken: z.string().min(1).describe('API token with role admin or analyst'),
});
type Config = z.output<typeof config>;

interface CaseJson {
  id: number; key: string; incidentId: number | null; title: string; description: string; priority: string; status: string;
  labels: string[]; createdAt: string; updatedAt: string; resolvedAt: string | null;
}
interface CommentJson { id: number; author: string; text: string; marker: string | null; createdAt: string }

/** The API's error body `{"error":{"code","message","details"?}}`. */
export function describeRiposteError(status: number, body: string): VendorErrorInfo {
  try {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof j.error?.message === 'string') {
      return typeof j.error.code === 'string' ? { message: j.error.message, code: j.error.code } : { message: j.error.message };
    }
  } catch {
    // A proxy in front of Riposte may answer with HTML or plain text.
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return { message: text || `HTTP ${status}` };
}

class CasesClient {
  readonly base: string;

  constructor(private readonly cfg: Config, private readonly signal: AbortSignal) {
    this.base = baseUrl(cfg.url);
  }

  caseUrl(key: string): string {
    return `${this.base}/api/v1/cases/${key}`;
  }

  async request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) headers['authorization'] = `Bearer ${this.cfg.apiToken}`;
    const req: { method: string; headers: Record<string, string>; signal: AbortSignal; body?: string } = { method, headers, signal: this.signal };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      req.body = JSON.stringify(body);
    }
    const res = await vendorFetch(`${this.base}/api/v1${path}`, req, { vendor: VENDOR, describeError: describeRiposteError });
    return readJson<T>(res, VENDOR);
  }
}

/** Validates a case reference (CASE-12 or 12) before it goes into a URL path. */
function caseRef(ticket: string): string {
  const t = ticket.trim().toUpperCase();
  if (!/^(CASE-)?[1-9][0-9]{0,15}$/.test(t)) throw new TerminalError(`${VENDOR}: "${ticket}" is not a case key (like CASE-12) or id`, { applied: 'no' });
  return t.startsWith('CASE-') ? t : `CASE-${t}`;
}

const ticketInput = z.object({ ticket: z.string().min(1).describe('Case key (CASE-12) or id') });
const statusOutput = z.object({ ticket: z.string(), status: z.string(), changed: z.boolean() });
const CaseView = z.object({
  id: z.string(), key: z.string(), url: z.string(), title: z.string(), description: z.string(), priority: z.string(), status: z.string(),
  labels: z.array(z.string()), incidentId: z.number().nullable(), createdAt: z.string(), updatedAt: z.string(), resolvedAt: z.string().nullable(),
  comments: z.array(z.object({ id: z.string(), author: z.string(), text: z.string(), createdAt: z.string() })),
});

async function setStatus(cfg: Config, signal: AbortSignal, ticket: string, status: 'resolved' | 'open'): Promise<z.input<typeof statusOutput>> {
  const key = caseRef(ticket);
  const c = new CasesClient(cfg, signal);
  const res = await c.request<{ case: CaseJson; changed: boolean }>('PATCH', `/cases/${key}`, { status });
  return { ticket: res.case.key, status: res.case.status, changed: res.changed };
}

export const riposteCasesApp = defineApp({
  id: 'riposte-cases',
  name: 'Riposte Cases',
  vendor: 'Riposte',
  product: 'Riposte built-in cases',
  version: '1.0.0',
  description: "Opens, comments on and resolves cases in Riposte's own case list (for teams without a ticketing system).",
  config,
  secrets: ['apiToken'],
  implements: ['ticketing'],

  actions: (action) => ({
    createTicket: action({
      description: 'Find the case with the dedupe key or open it (the server deduplicates atomically).',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      input: capabilities.ticketing.createTicket.input.extend({
        incidentId: z.number().int().positive().optional().describe('Incident the case is about (on the same Riposte server)'),
      }),
      output: capabilities.ticketing.createTicket.output,
      async handler(input, ctx) {
        const c = new CasesClient(ctx.config, ctx.signal);
        const body: Record<string, unknown> = {
          dedupeKey: input.dedupeKey, title: input.summary, description: input.description, priority: input.priority, labels: input.labels,
        };
        if (input.incidentId !== undefined) body['incidentId'] = input.incidentId;
        const res = await c.request<{ case: CaseJson; created: boolean }>('POST', '/cases', body);
        ctx.log(res.created ? 'opened case' : 'found existing case for dedupe key', { key: res.case.key });
        return { id: String(res.case.id), key: res.case.key, url: c.caseUrl(res.case.key), created: res.created };
      },
    }),

    addComment: action({
      description: 'Add a comment to a case; the idempotency key is its marker, so a repeat returns the first comment.',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      input: ticketInput.extend({ body: z.string().min(1).describe('Comment text') }),
      output: z.object({ id: z.string(), ticket: z.string(), created: z.boolean() }),
      async handler(input, ctx) {
        const key = caseRef(input.ticket);
        const c = new CasesClient(ctx.config, ctx.signal);
        const res = await c.request<{ comment: CommentJson; created: boolean }>('POST', `/cases/${key}/comments`, { text: input.body, marker: ctx.idempotencyKey });
        return { id: String(res.comment.id), ticket: key, created: res.created };
      },
    }),

    resolveCase: action({
      description: 'Set a case to resolved (no-op when it already is).',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      undo: 'reopenCase',
      input: ticketInput,
      output: statusOutput,
      handler: (input, ctx) => setStatus(ctx.config, ctx.signal, input.ticket, 'resolved'),
    }),

    reopenCase: action({
      description: 'Set a case back to open (no-op when it already is).',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      input: ticketInput,
      output: statusOutput,
      handler: (input, ctx) => setStatus(ctx.config, ctx.signal, input.ticket, 'open'),
    }),

    getCase: action({
      description: 'Read a case with its comments.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: ticketInput,
      output: z.object({ found: z.boolean(), case: CaseView.optional() }),
      async handler(input, ctx) {
        const key = caseRef(input.ticket);
        const c = new CasesClient(ctx.config, ctx.signal);
        let res: { case: CaseJson & { comments: CommentJson[] } };
        try {
          res = await c.request('GET', `/cases/${key}`);
        } catch (err) {
          if (err instanceof TerminalError && err.status === 404) return { found: false };
          throw err;
        }
        const k = res.case;
        return {
          found: true,
          case: {
            id: String(k.id), key: k.key, url: c.caseUrl(k.key), title: k.title, description: k.description, priority: k.priority, status: k.status,
            labels: k.labels, incidentId: k.incidentId, createdAt: k.createdAt, updatedAt: k.updatedAt, resolvedAt: k.resolvedAt,
            comments: k.comments.map((m) => ({ id: String(m.id), author: m.author, text: m.text, createdAt: m.createdAt })),
          },
        };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const c = new CasesClient(ctx.config, ctx.signal);
    const health = await c.request<{ status?: string }>('GET', '/health', undefined, false);
    if (health?.status !== 'ok') throw new TerminalError(`${VENDOR}: ${c.base}/api/v1/health did not answer {"status":"ok"}: is this a Riposte server?`);
    await c.request<{ cases: unknown[] }>('GET', '/cases?limit=1');
    return { ok: true, detail: `Riposte at ${c.base} is up and the API token may read cases` };
  },
});
