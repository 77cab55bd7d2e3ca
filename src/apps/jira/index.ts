/**
 * Atlassian Jira Cloud app (REST v3). Jira has no idempotency keys, so createTicket tags each
 * issue with a label derived from the dedupe key and searches for it before creating. JQL search
 * is eventually consistent: creates are serialized per label within this process, and issues this
 * process created are passed as `reconcileIssues` so the search sees them at once. Two processes
 * creating for the same key within the index lag can still both create.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { ActionError, TerminalError } from '../../sdk/errors.js';
import { adfToText, textToAdf } from './adf.js';
import { JiraClient, jqlString, ticketRef, type JiraConfig } from './client.js';
import { keyedSerializer } from '../keyed-serializer.js';

const config = z.object({
  url: z.url().describe('Site URL, e.g. https://acme.atlassian.net'),
  email: z.string().min(1),
  apiToken: z.string().min(1),
  projectKey: z.string().regex(/^[A-Z][A-Z0-9_]+$/),
  issueType: z.string().min(1).default('Task'),
});

interface SearchResult {
  issues: Array<{ id: string; key?: string; fields?: Record<string, unknown> }>;
  nextPageToken?: string | null;
}
interface IssueView {
  id: string;
  key: string;
  fields: { summary?: string; status?: { name?: string }; labels?: string[]; description?: unknown };
}
interface CommentPage {
  startAt: number;
  total: number;
  comments: Array<{ id: string; body?: unknown }>;
}

/** Labels cannot contain spaces and hold at most 255 characters. */
function sanitizeLabel(s: string): string {
  return s.trim().replace(/\s+/g, '-').slice(0, 255);
}

/** `riposte-<dedupeKey>`, lowercased, anything outside [a-z0-9_-] replaced by '-'. */
export function dedupeLabel(dedupeKey: string): string {
  const label = `riposte-${dedupeKey.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
  if (label.length <= 255) return label;
  return `${label.slice(0, 238)}-${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 16)}`;
}

/** Issues this process created per lock key, passed as reconcileIssues (bounded). */
const createdHere = new Map<string, string[]>();
const CREATED_HERE_MAX = 1000;

const serialized = keyedSerializer();

function rememberCreated(key: string, id: string): void {
  const ids = createdHere.get(key) ?? [];
  createdHere.delete(key);
  createdHere.set(key, [...ids, id].slice(-10));
  if (createdHere.size > CREATED_HERE_MAX) createdHere.delete(createdHere.keys().next().value!);
}

function commentMarker(idempotencyKey: string): string {
  return `[riposte:${idempotencyKey}]`;
}

const ticketInput = z.object({ ticket: z.string().min(1).describe('Issue key (SEC-12) or id') });

export const jiraApp = defineApp({
  id: 'atlassian-jira',
  name: 'Atlassian Jira Cloud',
  vendor: 'Atlassian',
  product: 'Jira Cloud',
  version: '1.0.0',
  description: 'Opens, comments on and transitions Jira Cloud issues (REST v3), with find-before-create deduplication.',
  config,
  secrets: ['apiToken'],
  implements: ['ticketing'],

  actions: (action) => ({
    createTicket: action({
      description: 'Find the issue labelled with the dedupe key, or create it (ADF description, priority as a label).',
      kind: 'generic',
      readOnly: false,
      // Find-before-create on the dedupe label makes a repeat return the same issue.
      idempotent: true,
      input: capabilities.ticketing.createTicket.input,
      output: capabilities.ticketing.createTicket.output,
      async handler(input, ctx) {
        const cfg: JiraConfig = ctx.config;
        const c = new JiraClient(cfg, ctx.signal);
        const label = dedupeLabel(input.dedupeKey);
        const lockKey = `${c.base}|${cfg.projectKey}|${label}`;
        return serialized(lockKey, async () => {
          const search: Record<string, unknown> = {
            jql: `project = ${jqlString(cfg.projectKey)} AND labels = ${jqlString(label)} ORDER BY created ASC`,
            fields: ['summary', 'labels', 'status'],
            maxResults: 10,
          };
          const mine = createdHere.get(lockKey);
          if (mine !== undefined) search.reconcileIssues = mine.map(Number);
          const found = await c.request<SearchResult>('POST', '/search/jql', search);
          const existing = [...(found?.issues ?? [])].sort((a, b) => Number(a.id) - Number(b.id))[0];
          if (existing !== undefined) {
            const key = existing.key ?? (await c.request<IssueView>('GET', `/issue/${encodeURIComponent(existing.id)}?fields=summary`)).key;
            ctx.log('found existing issue for dedupe key', { key, label });
            return { id: existing.id, key, url: c.browseUrl(key), created: false };
          }
          const labels = [...new Set(['riposte', label, `priority-${input.priority}`, ...input.labels.map(sanitizeLabel)])].filter((l) => l !== '');
          const fields: Record<string, unknown> = {
            project: { key: cfg.projectKey },
            issuetype: { name: cfg.issueType },
            summary: input.summary.replace(/\s*[\r\n]+\s*/g, ' ').trim().slice(0, 255),
            labels,
          };
          const description = textToAdf(input.description);
          if (description.content.length > 0) fields.description = description;
          const created = await c.request<{ id: string; key: string }>('POST', '/issue', { fields });
          rememberCreated(lockKey, created.id);
          ctx.log('created issue', { key: created.key, label });
          return { id: created.id, key: created.key, url: c.browseUrl(created.key), created: true };
        });
      },
    }),

    addComment: action({
      description: 'Add a comment to an issue. The text carries a [riposte:<idempotencyKey>] marker so reconcile can find it.',
      kind: 'generic',
      readOnly: false,
      // Jira accepts the same comment twice; there is no key to deduplicate on the server.
      idempotent: false,
      input: ticketInput.extend({ body: z.string().min(1) }),
      output: z.object({ id: z.string(), ticket: z.string() }),
      async handler(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new JiraClient(ctx.config, ctx.signal);
        const body = textToAdf(input.body, [commentMarker(ctx.idempotencyKey)]);
        const res = await c.request<{ id: string }>('POST', `/issue/${encodeURIComponent(ticket)}/comment`, { body });
        return { id: res.id, ticket };
      },
      async reconcile(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new JiraClient(ctx.config, ctx.signal);
        const marker = commentMarker(ctx.idempotencyKey);
        try {
          for (let startAt = 0; ; ) {
            const page = await c.request<CommentPage>('GET', `/issue/${encodeURIComponent(ticket)}/comment?orderBy=-created&maxResults=100&startAt=${startAt}`);
            const hit = page.comments.find((cm) => adfToText(cm.body).includes(marker));
            if (hit !== undefined) return { applied: true, output: { id: hit.id, ticket } };
            startAt += page.comments.length;
            if (page.comments.length === 0 || startAt >= page.total) return { applied: false };
          }
        } catch (err) {
          // A missing issue cannot have received the comment.
          if (err instanceof TerminalError && err.status === 404) return { applied: false };
          return { applied: 'unknown', reason: err instanceof ActionError ? err.message : String(err) };
        }
      },
    }),

    getTicket: action({
      description: 'Read an issue: summary, status, labels and description as text.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: ticketInput,
      output: z.object({
        found: z.boolean(),
        ticket: z.object({
          id: z.string(), key: z.string(), url: z.string(), summary: z.string(), status: z.string(),
          labels: z.array(z.string()), description: z.string(),
        }).optional(),
      }),
      async handler(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new JiraClient(ctx.config, ctx.signal);
        let issue: IssueView;
        try {
          issue = await c.request<IssueView>('GET', `/issue/${encodeURIComponent(ticket)}?fields=summary,status,labels,description`);
        } catch (err) {
          if (err instanceof TerminalError && err.status === 404) return { found: false };
          throw err;
        }
        const f = issue.fields;
        return {
          found: true,
          ticket: {
            id: issue.id, key: issue.key, url: c.browseUrl(issue.key), summary: f.summary ?? '', status: f.status?.name ?? '',
            labels: f.labels ?? [], description: adfToText(f.description).trim(),
          },
        };
      },
    }),

    transitionTicket: action({
      description: 'Move an issue to a status (by target status or transition name); no-op when already there.',
      kind: 'generic',
      readOnly: false,
      idempotent: true,
      input: ticketInput.extend({ status: z.string().min(1) }),
      output: z.object({ ticket: z.string(), status: z.string(), transitioned: z.boolean() }),
      async handler(input, ctx) {
        const ticket = ticketRef(input.ticket);
        const c = new JiraClient(ctx.config, ctx.signal);
        const path = `/issue/${encodeURIComponent(ticket)}`;
        const want = input.status.trim().toLowerCase();
        const issue = await c.request<IssueView>('GET', `${path}?fields=status`);
        const current = issue.fields.status?.name ?? '';
        if (current.toLowerCase() === want) return { ticket, status: current, transitioned: false };
        const { transitions } = await c.request<{ transitions: Array<{ id: string; name: string; to?: { name?: string } }> }>('GET', `${path}/transitions`);
        const t = transitions.find((x) => x.to?.name?.toLowerCase() === want) ?? transitions.find((x) => x.name.toLowerCase() === want);
        if (t === undefined) {
          const names = transitions.map((x) => `${x.name} → ${x.to?.name ?? '?'}`).join(', ') || 'none';
          throw new TerminalError(`Jira: issue ${ticket} (status ${current}) has no transition to "${input.status}"; available: ${names}`, { applied: 'no' });
        }
        await c.request<undefined>('POST', `${path}/transitions`, { transition: { id: t.id } });
        return { ticket, status: t.to?.name ?? t.name, transitioned: true };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const c = new JiraClient(ctx.config, ctx.signal);
    const me = await c.request<{ displayName?: string; emailAddress?: string }>('GET', '/myself');
    return { ok: true, detail: `authenticated as ${me.displayName ?? me.emailAddress ?? 'unknown user'}` };
  },
});
