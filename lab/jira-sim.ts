/**
 * Lab simulator of Jira Cloud REST v3 (`/rest/api/3/`): Basic auth, issue create with v3
 * validation (ADF description, labels without spaces, only screen fields), get, comments,
 * transitions, `search/jql` with token pagination, and an optional search-index lag so
 * find-before-create can be tested against eventual consistency (`reconcileIssues` bypasses it).
 * Rate limiting is modelled with the base class' fault injection (429 + Retry-After).
 */
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';
import { JqlError, parseJql, type JqlIssueView } from './jira-jql.js';

export interface JiraSimOptions {
  email?: string;
  apiToken?: string;
  /** Project key → issue type names (default SEC: Task, Bug, Incident). */
  projects?: Record<string, string[]>;
  /** Newly created issues stay invisible to search for this long (default 0). */
  searchLagMs?: number;
}

interface SimComment {
  id: string;
  body: unknown;
  created: number;
}

export interface SimIssue extends JqlIssueView {
  id: string;
  description: unknown;
  comments: SimComment[];
}

const STATUSES: Record<string, { id: string; category: string }> = {
  'To Do': { id: '10000', category: 'new' },
  'In Progress': { id: '3', category: 'indeterminate' },
  Done: { id: '10001', category: 'done' },
};
const TRANSITIONS = [{ id: '11', to: 'To Do' }, { id: '21', to: 'In Progress' }, { id: '31', to: 'Done' }];
const SETTABLE = new Set(['project', 'issuetype', 'summary', 'description', 'labels']);
const NOT_ADF = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';

type Json = Record<string, unknown>;

function fail(status: number, errorMessages: string[], errors: Record<string, string> = {}): LabResponse {
  return { status, body: { errorMessages, errors } };
}

/** Why a value is not an acceptable ADF document, or undefined when it is. */
export function adfProblem(doc: unknown): string | undefined {
  const d = doc as Json | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d) || d.type !== 'doc' || d.version !== 1 || !Array.isArray(d.content)) return NOT_ADF;
  const walk = (n: unknown): string | undefined => {
    const node = n as Json | null;
    if (typeof node !== 'object' || node === null || typeof node.type !== 'string') return NOT_ADF;
    if (node.type === 'text' && (typeof node.text !== 'string' || node.text === '')) return 'ADF text nodes must have non-empty text';
    if (node.content === undefined) return undefined;
    if (!Array.isArray(node.content)) return NOT_ADF;
    for (const c of node.content) {
      const p = walk(c);
      if (p !== undefined) return p;
    }
    return undefined;
  };
  for (const c of d.content as unknown[]) {
    const p = walk(c);
    if (p !== undefined) return p;
  }
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function intParam(v: unknown, dflt: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : dflt;
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : dflt;
}

export class JiraSimulator extends LabServer {
  readonly name = 'Jira Cloud';
  readonly email: string;
  readonly apiToken: string;
  readonly projects: Record<string, string[]>;
  searchLagMs: number;
  private readonly all: SimIssue[] = [];
  private issueSeq = 0;
  private commentSeq = 10000;

  constructor(opts: JiraSimOptions = {}) {
    super();
    this.email = opts.email ?? 'soc@example.com';
    this.apiToken = opts.apiToken ?? 'jira-api-token';
    this.projects = opts.projects ?? { SEC: ['Task', 'Bug', 'Incident'] };
    this.searchLagMs = opts.searchLagMs ?? 0;
  }

  // ---- test helpers ----

  issues(): SimIssue[] {
    return this.all.map((i) => structuredClone(i));
  }
  issuesWithLabel(label: string): SimIssue[] {
    return this.issues().filter((i) => i.labels.includes(label));
  }

  // ---- request handling ----

  protected handle(req: LabRequest): LabResponse {
    const auth = req.headers.authorization;
    const expected = `Basic ${Buffer.from(`${this.email}:${this.apiToken}`).toString('base64')}`;
    if (auth !== expected) return fail(401, ['Client must be authenticated to access this resource.']);
    const m = /^\/rest\/api\/3(\/.*)$/.exec(req.path);
    if (!m) return fail(404, ['Not found']);
    const path = m[1]!;
    let body: Json = {};
    if (req.method === 'POST' || req.method === 'PUT') {
      try {
        body = req.body === '' ? {} : (JSON.parse(req.body) as Json);
      } catch {
        return fail(400, ['Unexpected character in the JSON request body.']);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(400, ['The request body must be a JSON object.']);
    }
    const issueRoute = /^\/issue\/([^/]+)(\/comment|\/transitions)?$/.exec(path);
    if (path === '/myself' && req.method === 'GET') {
      return { status: 200, body: { accountId: '5b10a2844c20165700ede21g', emailAddress: this.email, displayName: 'SOC Automation', active: true } };
    }
    if (path === '/issue' && req.method === 'POST') return this.create(body);
    if (path === '/search/jql' && (req.method === 'GET' || req.method === 'POST')) {
      return this.search(req.method === 'GET' ? Object.fromEntries(req.query) : body);
    }
    if (path === '/search') return fail(410, ['The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.']);
    if (issueRoute) {
      const issue = this.find(decodeURIComponent(issueRoute[1]!));
      if (issue === undefined) return fail(404, ['Issue does not exist or you do not have permission to see it.']);
      const sub = issueRoute[2];
      if (sub === undefined && req.method === 'GET') return { status: 200, body: this.view(issue, req.query.get('fields')) };
      if (sub === '/comment' && req.method === 'GET') return this.listComments(issue, req.query);
      if (sub === '/comment' && req.method === 'POST') return this.addComment(issue, body);
      if (sub === '/transitions' && req.method === 'GET') return { status: 200, body: { expand: 'transitions', transitions: this.transitionsFor(issue) } };
      if (sub === '/transitions' && req.method === 'POST') return this.transition(issue, body);
    }
    return fail(404, [`No route for ${req.method} /rest/api/3${path} in the lab simulator.`]);
  }

  private find(idOrKey: string): SimIssue | undefined {
    return this.all.find((i) => i.id === idOrKey || i.key === idOrKey.toUpperCase());
  }

  private create(body: Json): LabResponse {
    const fields = body.fields as Json | undefined;
    if (typeof fields !== 'object' || fields === null) return fail(400, ["Request body must contain 'fields'."]);
    const errors: Record<string, string> = {};
    for (const k of Object.keys(fields)) {
      if (!SETTABLE.has(k)) errors[k] = `Field '${k}' cannot be set. It is not on the appropriate screen, or unknown.`;
    }
    const project = fields.project as Json | undefined;
    // The lab identifies projects by key only (a real site also accepts the numeric id).
    const projectKey = Object.keys(this.projects).find((k) => k === project?.key);
    if (projectKey === undefined) errors.project = 'Specify a valid project ID or key';
    const typeName = (fields.issuetype as Json | undefined)?.name;
    const types = projectKey === undefined ? [] : this.projects[projectKey]!;
    const issueType = types.find((t) => t === typeName);
    if (projectKey !== undefined && issueType === undefined) errors.issuetype = 'The issue type selected is invalid.';
    const summary = fields.summary;
    if (typeof summary !== 'string' || summary.trim() === '') errors.summary = 'You must specify a summary of the issue.';
    else if (summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    else if (/[\r\n]/.test(summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    if (fields.description !== undefined && fields.description !== null) {
      const p = adfProblem(fields.description);
      if (p !== undefined) errors.description = p;
    }
    const labels = fields.labels ?? [];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l === '' || l.length > 255)) errors.labels = 'Labels must be a list of non-empty strings.';
    else {
      const spaced = labels.find((l: string) => /\s/.test(l));
      if (spaced !== undefined) errors.labels = `The label '${spaced}' contains spaces which is invalid.`;
    }
    if (Object.keys(errors).length > 0) return fail(400, [], errors);
    const n = this.all.filter((i) => i.projectKey === projectKey).length + 1;
    const now = Date.now();
    const issue: SimIssue = {
      id: String(10000 + ++this.issueSeq), key: `${projectKey}-${n}`, projectKey: projectKey!, issueType: issueType!, summary: summary as string,
      description: fields.description ?? null, labels: [...new Set(labels as string[])], status: 'To Do', created: now, updated: now, comments: [],
    };
    this.all.push(issue);
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${this.url}/rest/api/3/issue/${issue.id}` } };
  }

  private view(issue: SimIssue, fieldsParam: string | string[] | null | undefined): Json {
    const st = STATUSES[issue.status]!;
    const all: Json = {
      summary: issue.summary,
      description: issue.description,
      labels: issue.labels,
      status: { id: st.id, name: issue.status, statusCategory: { key: st.category } },
      issuetype: { name: issue.issueType },
      project: { key: issue.projectKey },
      created: iso(issue.created),
      updated: iso(issue.updated),
      comment: { comments: issue.comments.map((c) => this.commentView(issue, c)), total: issue.comments.length, startAt: 0, maxResults: issue.comments.length },
    };
    const wanted = Array.isArray(fieldsParam) ? fieldsParam : typeof fieldsParam === 'string' ? fieldsParam.split(',').map((s) => s.trim()).filter(Boolean) : ['*all'];
    const fields = wanted.includes('*all') || wanted.includes('*navigable') ? all
      : Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k)));
    return { id: issue.id, key: issue.key, self: `${this.url}/rest/api/3/issue/${issue.id}`, fields };
  }

  private commentView(issue: SimIssue, c: SimComment): Json {
    return {
      id: c.id, self: `${this.url}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
      author: { emailAddress: this.email, displayName: 'SOC Automation' }, body: c.body, created: iso(c.created), updated: iso(c.created),
    };
  }

  private listComments(issue: SimIssue, q: URLSearchParams): LabResponse {
    const startAt = intParam(q.get('startAt'), 0, Number.MAX_SAFE_INTEGER);
    const maxResults = intParam(q.get('maxResults'), 50, 100);
    const order = q.get('orderBy') ?? 'created';
    const sorted = [...issue.comments].sort((a, b) => (order.startsWith('-') ? -1 : 1) * (a.created - b.created || Number(a.id) - Number(b.id)));
    const page = sorted.slice(startAt, startAt + maxResults);
    return { status: 200, body: { startAt, maxResults, total: sorted.length, comments: page.map((c) => this.commentView(issue, c)) } };
  }

  private addComment(issue: SimIssue, body: Json): LabResponse {
    const p = adfProblem(body.body);
    if (p !== undefined) return fail(400, [], { comment: p });
    const c: SimComment = { id: String(++this.commentSeq), body: body.body, created: Date.now() };
    issue.comments.push(c);
    issue.updated = c.created;
    return { status: 201, body: this.commentView(issue, c) };
  }

  private transitionsFor(issue: SimIssue): Json[] {
    return TRANSITIONS.filter((t) => t.to !== issue.status).map((t) => ({
      id: t.id, name: t.to, hasScreen: false, isGlobal: true, isInitial: false, isAvailable: true, isConditional: false,
      to: { id: STATUSES[t.to]!.id, name: t.to, statusCategory: { key: STATUSES[t.to]!.category } },
    }));
  }

  private transition(issue: SimIssue, body: Json): LabResponse {
    const id = (body.transition as Json | undefined)?.id;
    if (id === undefined) return fail(400, ["Missing 'transition' identifier"]);
    const t = TRANSITIONS.find((x) => x.id === String(id) && x.to !== issue.status);
    if (t === undefined) return fail(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
    issue.status = t.to;
    issue.updated = Date.now();
    return { status: 204 };
  }

  private search(p: Json): LabResponse {
    const jql = typeof p.jql === 'string' ? p.jql : '';
    let q;
    try {
      q = parseJql(jql);
    } catch (err) {
      if (err instanceof JqlError) return fail(400, [err.message]);
      throw err;
    }
    const missing = q.projects.find((k) => !(k.toUpperCase() in this.projects));
    if (missing !== undefined) return fail(400, [`The value '${missing}' does not exist for the field 'project'.`]);
    const maxResults = intParam(p.maxResults, 50, 100);
    const split = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v !== '' ? v.split(',').map((s) => s.trim()) : []);
    const fields = split(p.fields);
    const reconcile = new Set(split(p.reconcileIssues));
    let offset = 0;
    if (typeof p.nextPageToken === 'string' && p.nextPageToken !== '') {
      try {
        const tok = JSON.parse(Buffer.from(p.nextPageToken, 'base64url').toString('utf8')) as { o: number; q: string };
        if (tok.q !== jql || !Number.isInteger(tok.o)) throw new Error('mismatch');
        offset = tok.o;
      } catch {
        return fail(400, ['The provided next page token is invalid or expired.']);
      }
    }
    // Eventual consistency: fresh issues are not indexed yet unless the caller names them.
    const indexedBefore = Date.now() - this.searchLagMs;
    const hits = this.all.filter((i) => (i.created <= indexedBefore || reconcile.has(i.id)) && q.matches(i)).sort(q.compare);
    const page = hits.slice(offset, offset + maxResults);
    const issues = page.map((i) => (fields.length === 0 ? { id: i.id } : this.view(i, fields)));
    const out: Json = { issues };
    if (offset + maxResults < hits.length) out.nextPageToken = Buffer.from(JSON.stringify({ o: offset + maxResults, q: jql })).toString('base64url');
    return { status: 200, body: out };
  }
}
