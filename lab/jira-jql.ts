/**
 * The small JQL subset the Jira lab simulator understands: clauses joined by AND, each
 * `field = value`, `field != value`, `field in (a, b)` or `summary ~ text`, over project, key,
 * labels, status, issuetype and summary, plus an optional `ORDER BY created|key|updated [ASC|DESC]`.
 * Values are bare words or single/double-quoted strings (backslash escapes).
 */

export interface JqlIssueView {
  key: string;
  projectKey: string;
  labels: string[];
  status: string;
  issueType: string;
  summary: string;
  created: number;
  updated: number;
}

export interface JqlQuery {
  matches(issue: JqlIssueView): boolean;
  compare(a: JqlIssueView, b: JqlIssueView): number;
  /** Project keys the query names (the simulator checks they exist). */
  projects: string[];
}

export class JqlError extends Error {}

type Tok = { t: 'word' | 'str' | 'op' | 'punct'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"' || ch === "'") {
      let v = '';
      i++;
      while (i < src.length && src[i] !== ch) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        v += src[i++];
      }
      if (i >= src.length) throw new JqlError('Error in the JQL Query: unterminated string.');
      i++;
      out.push({ t: 'str', v });
    } else if (src.startsWith('!=', i)) {
      out.push({ t: 'op', v: '!=' });
      i += 2;
    } else if (ch === '=' || ch === '~') {
      out.push({ t: 'op', v: ch });
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      out.push({ t: 'punct', v: ch });
      i++;
    } else {
      const m = /^[\w.\-@]+/.exec(src.slice(i));
      if (!m) throw new JqlError(`Error in the JQL Query: The character '${ch}' is a reserved JQL character.`);
      out.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

const FIELDS = ['project', 'key', 'labels', 'status', 'issuetype', 'summary'] as const;
type Field = (typeof FIELDS)[number];

function fieldValues(issue: JqlIssueView, f: Field): string[] {
  switch (f) {
    case 'project': return [issue.projectKey];
    case 'key': return [issue.key];
    case 'labels': return issue.labels;
    case 'status': return [issue.status];
    case 'issuetype': return [issue.issueType];
    case 'summary': return [issue.summary];
  }
}

export function parseJql(src: string): JqlQuery {
  const toks = tokenize(src);
  let i = 0;
  const peekWord = (w: string): boolean => toks[i]?.t === 'word' && toks[i]!.v.toLowerCase() === w;
  const value = (): string => {
    const t = toks[i++];
    if (t === undefined || (t.t !== 'word' && t.t !== 'str')) throw new JqlError('Error in the JQL Query: Expecting a value.');
    return t.v;
  };
  const clauses: Array<(x: JqlIssueView) => boolean> = [];
  const projects: string[] = [];
  const num = (x: JqlIssueView): number => Number(x.key.split('-')[1]);
  let compare = (a: JqlIssueView, b: JqlIssueView): number => a.created - b.created || num(a) - num(b);

  while (i < toks.length && !peekWord('order')) {
    if (clauses.length > 0) {
      if (peekWord('or')) throw new JqlError('Error in the JQL Query: OR is not supported by the lab simulator.');
      if (!peekWord('and')) throw new JqlError(`Error in the JQL Query: Expecting AND but got '${toks[i]?.v ?? ''}'.`);
      i++;
    }
    const ft = toks[i++];
    const field = ft?.v.toLowerCase() as Field | undefined;
    if (ft?.t !== 'word' || field === undefined || !FIELDS.includes(field)) {
      throw new JqlError(`Error in the JQL Query: Field '${ft?.v ?? ''}' does not exist or is not supported by the lab.`);
    }
    let values: string[];
    let op: string;
    if (peekWord('in')) {
      i++;
      op = 'in';
      if (toks[i++]?.v !== '(') throw new JqlError("Error in the JQL Query: Expecting '('.");
      values = [value()];
      while (toks[i]?.v === ',') {
        i++;
        values.push(value());
      }
      if (toks[i++]?.v !== ')') throw new JqlError("Error in the JQL Query: Expecting ')'.");
    } else {
      const o = toks[i++];
      if (o?.t !== 'op') throw new JqlError(`Error in the JQL Query: Expecting operator after '${field}'.`);
      op = o.v;
      values = [value()];
    }
    if (op === '~' && field !== 'summary') throw new JqlError(`Error in the JQL Query: The operator '~' is not supported by the '${field}' field.`);
    if (field === 'project') projects.push(...values);
    // Keys, projects, statuses and issue types compare case-insensitively; labels exactly.
    const norm = (s: string): string => (field === 'labels' ? s : s.toLowerCase());
    const want = values.map(norm);
    clauses.push((x) => {
      const have = fieldValues(x, field).map(norm);
      if (op === '~') return have.some((h) => h.includes(want[0]!.toLowerCase()));
      const hit = have.some((h) => want.includes(h));
      return op === '!=' ? !hit : hit;
    });
  }
  if (peekWord('order')) {
    i++;
    if (!peekWord('by')) throw new JqlError("Error in the JQL Query: Expecting 'BY'.");
    i++;
    const f = toks[i++]?.v.toLowerCase();
    const desc = peekWord('desc');
    if (peekWord('asc') || peekWord('desc')) i++;
    const key = (x: JqlIssueView): number => (f === 'updated' ? x.updated : f === 'created' ? x.created : num(x));
    if (f !== 'created' && f !== 'updated' && f !== 'key') throw new JqlError(`Error in the JQL Query: cannot order by '${f ?? ''}' in the lab.`);
    compare = (a, b) => (desc ? -1 : 1) * (key(a) - key(b) || num(a) - num(b));
  }
  if (i < toks.length) throw new JqlError(`Error in the JQL Query: unexpected '${toks[i]!.v}'.`);
  return { matches: (x) => clauses.every((c) => c(x)), compare, projects };
}
