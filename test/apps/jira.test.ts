import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jiraApp } from '../../src/apps/jira/index.js';
import { JiraSimulator } from '../../lab/jira-sim.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext as ctx, reconcileContext } from '../support/action-context.js';

const { createTicket, addComment, getTicket, transitionTicket } = jiraApp.actions;
type Cfg = Parameters<typeof createTicket.handler>[1]['config'];

function cfgFor(sim: JiraSimulator, over: Partial<Cfg> = {}): Cfg {
  return { url: `${sim.url}/`, email: sim.email, apiToken: sim.apiToken, projectKey: 'SEC', issueType: 'Task', ...over };
}

const ticket = (over: Record<string, unknown> = {}) => capabilities.ticketing.createTicket.input.parse({
  summary: 'Phishing reported by alice', description: 'First paragraph.\nSecond line.\n\nSecond paragraph.', dedupeKey: 'Splunk:SID 42', ...over,
});

async function raw(sim: JiraSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const init: RequestInit = {
    method, headers: { authorization: `Basic ${Buffer.from(`${sim.email}:${sim.apiToken}`).toString('base64')}`, 'content-type': 'application/json' },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${sim.url}/rest/api/3${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('Jira app against the lab simulator', () => {
  let sim: JiraSimulator;
  before(async () => {
    sim = new JiraSimulator();
    await sim.start(0);
  });
  after(() => sim.stop());

  it('creates an issue with an ADF description and dedupe labels', async () => {
    const out = await createTicket.handler(ticket({ priority: 'high', labels: ['phishing', 'needs review'] }), ctx(cfgFor(sim)));
    const parsed = capabilities.ticketing.createTicket.output.parse(out);
    assert.deepEqual(parsed, { id: out.id, key: 'SEC-1', url: `${sim.url}/browse/SEC-1`, created: true });
    const [issue] = sim.issues();
    assert.ok(issue);
    assert.deepEqual(issue.labels, ['riposte', 'riposte-splunk-sid-42', 'priority-high', 'phishing', 'needs-review']);
    assert.deepEqual(issue.description, {
      type: 'doc', version: 1, content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'First paragraph.' }, { type: 'hardBreak' }, { type: 'text', text: 'Second line.' }] },
        { type: 'paragraph', content: [{ type: 'text', text: 'Second paragraph.' }] },
      ],
    });
    const got = await getTicket.handler({ ticket: 'sec-1' }, ctx(cfgFor(sim)));
    assert.equal(got.found, true);
    assert.equal(got.ticket?.status, 'To Do');
    assert.equal(got.ticket?.description, 'First paragraph.\nSecond line.\nSecond paragraph.');
    assert.deepEqual(await getTicket.handler({ ticket: 'SEC-999' }, ctx(cfgFor(sim))), { found: false });
  });

  it('returns the existing issue for the same dedupe key instead of creating another', async () => {
    const out = await createTicket.handler(ticket({ summary: 'different summary' }), ctx(cfgFor(sim)));
    assert.deepEqual(capabilities.ticketing.createTicket.output.parse(out), { id: out.id, key: 'SEC-1', url: `${sim.url}/browse/SEC-1`, created: false });
    assert.equal(sim.issuesWithLabel('riposte-splunk-sid-42').length, 1);
    assert.equal(sim.callsTo('POST', '/rest/api/3/issue').filter((c) => c.path === '/rest/api/3/issue').length, 1);
  });

  it('creates one issue for concurrent calls with the same key, despite search-index lag', async () => {
    const lagged = new JiraSimulator({ searchLagMs: 10_000 });
    await lagged.start(0);
    try {
      const cfg = cfgFor(lagged);
      // The lag is real: a plain search right after a create does not see the issue.
      const first = await raw(lagged, 'POST', '/issue', { fields: { project: { key: 'SEC' }, issuetype: { name: 'Task' }, summary: 'x', labels: ['probe'] } });
      assert.equal(first.status, 201);
      assert.equal((await raw(lagged, 'POST', '/search/jql', { jql: 'labels = probe' })).json.issues.length, 0);
      assert.equal((await raw(lagged, 'POST', '/search/jql', { jql: 'labels = probe', reconcileIssues: [Number(first.json.id)] })).json.issues.length, 1);

      const outs = await Promise.all([1, 2, 3].map(() => createTicket.handler(ticket({ dedupeKey: 'alert-77' }), ctx(cfg))));
      assert.equal(lagged.issuesWithLabel('riposte-alert-77').length, 1);
      assert.deepEqual(outs.map((o) => o.created), [true, false, false]);
      assert.equal(new Set(outs.map((o) => o.key)).size, 1);
      const later = await createTicket.handler(ticket({ dedupeKey: 'alert-77' }), ctx(cfg));
      assert.equal(later.created, false);
      assert.equal(lagged.issuesWithLabel('riposte-alert-77').length, 1);
    } finally {
      await lagged.stop();
    }
  });

  it('paginates search/jql with nextPageToken (POST and GET)', async () => {
    for (let i = 0; i < 7; i++) {
      await createTicket.handler(ticket({ dedupeKey: `bulk-${i}`, labels: ['bulk'] }), ctx(cfgFor(sim)));
    }
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const body: Record<string, unknown> = { jql: 'project = SEC AND labels = "bulk" ORDER BY created ASC', fields: ['summary', 'labels'], maxResults: 3 };
      if (token !== undefined) body.nextPageToken = token;
      const r = await raw(sim, 'POST', '/search/jql', body);
      assert.equal(r.status, 200);
      keys.push(...r.json.issues.map((i: { key: string }) => i.key));
      token = r.json.nextPageToken;
      pages++;
    } while (token !== undefined);
    assert.equal(pages, 3);
    assert.equal(new Set(keys).size, 7);
    const q = new URLSearchParams({ jql: 'labels = bulk', maxResults: '5' });
    const g1 = await raw(sim, 'GET', `/search/jql?${q}`);
    assert.deepEqual(Object.keys(g1.json.issues[0]), ['id'], 'without fields only ids come back');
    const g2 = await raw(sim, 'GET', `/search/jql?${q}&nextPageToken=${g1.json.nextPageToken}`);
    assert.equal(g1.json.issues.length + g2.json.issues.length, 7);
    assert.equal(g2.json.nextPageToken, undefined);
  });

  it('maps 401 to a TerminalError that does not reveal the token', async () => {
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-401' }), ctx(cfgFor(sim, { apiToken: 'wrong-token-123' }))), TerminalError);
    assert.equal(err.status, 401);
    assert.match(err.message, /Client must be authenticated/);
    assert.ok(!err.message.includes('wrong-token-123'));
    assert.ok(!err.message.includes(Buffer.from(`${sim.email}:wrong-token-123`).toString('base64')));
  });

  it('maps 429 + Retry-After to a RetryableError that was not applied', async () => {
    sim.injectFault({ pathPrefix: '/rest/api/3/search/jql', status: 429, headers: { 'retry-after': '7' }, body: '{"errorMessages":["Rate limit exceeded."],"errors":{}}' });
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-429' }), ctx(cfgFor(sim))), RetryableError);
    assert.equal(err.retryAfterMs, 7000);
    assert.equal(err.applied, 'no');
    assert.match(err.message, /Rate limit exceeded/);
  });

  it('maps 400 validation errors to a TerminalError naming the field', async () => {
    const badType = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-400' }), ctx(cfgFor(sim, { issueType: 'Epic' }))), TerminalError);
    assert.equal(badType.status, 400);
    assert.match(badType.message, /issuetype: The issue type selected is invalid/);
    const badProject = await rejects(createTicket.handler(ticket({ dedupeKey: 'x-400' }), ctx(cfgFor(sim, { projectKey: 'NOPE' }))), TerminalError);
    assert.match(badProject.message, /does not exist for the field 'project'/);
    // v3 refuses plain-string rich text and labels with spaces.
    const plain = await raw(sim, 'POST', '/issue', { fields: { project: { key: 'SEC' }, issuetype: { name: 'Task' }, summary: 's', description: 'plain', labels: ['a b'], priority: { name: 'High' } } });
    assert.equal(plain.status, 400);
    assert.match(plain.json.errors.description, /Atlassian Document/);
    assert.match(plain.json.errors.labels, /contains spaces/);
    assert.match(plain.json.errors.priority, /cannot be set/);
  });

  it('adds a comment whose marker lets reconcile find it, even past the first page', async () => {
    const cfg = cfgFor(sim);
    const rctx = (key: string) => reconcileContext(cfg, key);
    assert.deepEqual(await addComment.reconcile!({ ticket: 'SEC-1', body: 'hello' }, rctx('run-1:3')), { applied: false });
    // The reply is lost: the outcome is unknown to the caller, but the comment exists.
    sim.injectFault({ method: 'POST', pathPrefix: '/rest/api/3/issue/SEC-1/comment', dropReply: true });
    const lost = await rejects(addComment.handler({ ticket: 'SEC-1', body: 'Blocked 203.0.113.7.' }, ctx(cfg)), RetryableError);
    assert.equal(lost.applied, 'unknown');
    for (let i = 0; i < 120; i++) await raw(sim, 'POST', '/issue/SEC-1/comment', { body: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: `noise ${i}` }] }] } });
    const found = await addComment.reconcile!({ ticket: 'SEC-1', body: 'Blocked 203.0.113.7.' }, rctx('run-1:3'));
    assert.equal(found.applied, true);
    const comments = sim.issues().find((i) => i.key === 'SEC-1')!.comments;
    assert.equal(found.applied === true && found.output.id, comments[0]!.id);
    assert.deepEqual(await addComment.reconcile!({ ticket: 'SEC-1', body: 'x' }, rctx('run-2:3')), { applied: false });
    assert.deepEqual(await addComment.reconcile!({ ticket: 'SEC-404', body: 'x' }, rctx('run-1:3')), { applied: false });

    const ok = await addComment.handler({ ticket: 'SEC-2', body: 'Contained.' }, ctx(cfg, 'run-9:1'));
    assert.equal(ok.ticket, 'SEC-2');
    const r = await addComment.reconcile!({ ticket: 'SEC-2', body: 'Contained.' }, rctx('run-9:1'));
    assert.deepEqual(r, { applied: true, output: { id: ok.id, ticket: 'SEC-2' } });
  });

  it('transitions by status name and is a no-op when already there', async () => {
    const cfg = cfgFor(sim);
    assert.deepEqual(await transitionTicket.handler({ ticket: 'SEC-1', status: 'done' }, ctx(cfg)), { ticket: 'SEC-1', status: 'Done', transitioned: true });
    assert.deepEqual(await transitionTicket.handler({ ticket: 'SEC-1', status: 'Done' }, ctx(cfg)), { ticket: 'SEC-1', status: 'Done', transitioned: false });
    const err = await rejects(transitionTicket.handler({ ticket: 'SEC-1', status: 'Won\'t fix' }, ctx(cfg)), TerminalError);
    assert.match(err.message, /available: To Do → To Do, In Progress → In Progress/);
    await rejects(transitionTicket.handler({ ticket: '../../myself', status: 'Done' }, ctx(cfg)), TerminalError);
    const conn = await jiraApp.testConnectivity!(ctx(cfg));
    assert.equal(conn.detail, 'authenticated as SOC Automation');
  });
});
