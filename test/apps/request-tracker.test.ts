/**
 * Request Tracker app against a REAL RT 5 (Debian request-tracker5, SQLite, rt-server) on
 * 127.0.0.1:38902, started by scripts/services/rt.sh. The DB persists while RT runs, so every
 * dedupe key carries this run's random prefix.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { requestTrackerApp } from '../../src/apps/request-tracker/index.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext, reconcileContext } from '../support/action-context.js';

const { createTicket, addComment, getTicket, resolveTicket, reopenTicket, searchTickets } = requestTrackerApp.actions;
type Cfg = Parameters<typeof createTicket.handler>[1]['config'];

const RT_URL = 'http://127.0.0.1:38902';
const STATE = join(process.env.RIPOSTE_SERVICES_DIR ?? '/tmp/riposte-services', 'rt');
const START = 'bash scripts/services/rt.sh install && bash scripts/services/rt.sh start   (as root)';
const PASSWORD = 'password';
const run = randomUUID().slice(0, 8);
let token = '';

const ctx = (config: Cfg, key = `${run}:comment`) => actionContext(config, key);
const rctx = (config: Cfg, key: string, intentAt?: Date) => reconcileContext(config, key, { intentAt });

const tokenCfg = (over: Partial<Cfg> = {}): Cfg => ({ url: `${RT_URL}/`, token, queue: 'Incidents', dedupeField: 'subject-tag', ...over });
const basicCfg = (over: Partial<Cfg> = {}): Cfg => ({ url: RT_URL, username: 'root', password: PASSWORD, queue: 'Incidents', dedupeField: 'subject-tag', ...over });

const ticket = (over: Record<string, unknown> = {}) => capabilities.ticketing.createTicket.input.parse({
  summary: 'Phishing reported by alice', description: 'Splunk alert 42.\nDevice DEV-7 wiped.', dedupeKey: `${run}:splunk:42`, ...over,
});

async function rest(path: string): Promise<any> {
  const res = await fetch(`${RT_URL}/REST/2.0${path}`, { headers: { authorization: `token ${token}` } });
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

describe('Request Tracker app against a real RT 5 on 127.0.0.1:38902', () => {
  before(async () => {
    try {
      const res = await fetch(`${RT_URL}/REST/2.0/rt`, { headers: { authorization: `Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}` } });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      throw new Error(`Request Tracker is not answering on ${RT_URL} (${(err as Error).message}). Start it with: ${START}`);
    }
    try {
      token = readFileSync(join(STATE, 'token'), 'utf8').trim();
    } catch {
      throw new Error(`RT auth token file ${join(STATE, 'token')} is missing (written by scripts/services/rt.sh start). Run: ${START}`);
    }
  });

  it('testConnectivity reports the RT version, with a token or with Basic auth', async () => {
    for (const cfg of [tokenCfg(), basicCfg()]) {
      const r = await requestTrackerApp.testConnectivity!(ctx(cfg));
      assert.equal(r.ok, true);
      assert.match(r.detail ?? '', /^Request Tracker 5\.\d/);
    }
  });

  let firstId = '';
  it('creates a ticket in the configured queue with subject tag, content, labels and priority', async () => {
    const out = await createTicket.handler(ticket({ priority: 'high', labels: ['phishing'] }), ctx(tokenCfg()));
    const parsed = capabilities.ticketing.createTicket.output.parse(out);
    assert.match(parsed.id, /^\d+$/);
    assert.deepEqual(parsed, { id: out.id, key: out.id, url: `${RT_URL}/Ticket/Display.html?id=${out.id}`, created: true });
    firstId = out.id;
    const got = await getTicket.handler({ ticket: `RT#${out.id}` }, ctx(basicCfg()));
    assert.equal(got.found, true);
    const t = got.ticket!;
    assert.equal(t.queue, 'Incidents');
    assert.equal(t.subject, `Phishing reported by alice [riposte:${run}:splunk:42]`);
    assert.equal(t.status, 'new');
    assert.equal(t.priority, 80);
    assert.equal(t.owner, 'Nobody');
    assert.equal(t.description, 'Splunk alert 42.\nDevice DEV-7 wiped.\n\nLabels: phishing');
    // Cross-check with RT itself rather than only through the app.
    const raw = await rest(`/ticket/${out.id}`);
    assert.equal(raw.Subject, t.subject);
    assert.equal((await rest(`/queue/${raw.Queue.id}`)).Name, 'Incidents');
  });

  it('returns the existing ticket for the same dedupe key (any status) instead of creating another', async () => {
    const out = await createTicket.handler(ticket({ summary: 'a different summary' }), ctx(tokenCfg()));
    assert.deepEqual(capabilities.ticketing.createTicket.output.parse(out), { id: firstId, key: firstId, url: `${RT_URL}/Ticket/Display.html?id=${firstId}`, created: false });
    const found = await searchTickets.handler(searchTickets.input.parse({ query: `Subject LIKE '[riposte:${run}:splunk:42]'` }), ctx(tokenCfg()));
    assert.deepEqual(found.tickets.map((x) => x.id), [firstId]);
  });

  it('creates exactly one ticket for concurrent calls with the same key', async () => {
    const key = `${run}:concurrent`;
    const outs = await Promise.all(Array.from({ length: 6 }, () => createTicket.handler(ticket({ dedupeKey: key }), ctx(tokenCfg()))));
    assert.equal(new Set(outs.map((o) => o.id)).size, 1);
    assert.equal(outs.filter((o) => o.created).length, 1);
    const found = await searchTickets.handler(searchTickets.input.parse({ query: `Subject LIKE '[riposte:${key}]'` }), ctx(tokenCfg()));
    assert.equal(found.total, 1);
  });

  it('matches keys exactly although TicketSQL LIKE ignores case and treats _ as a wildcard', async () => {
    const a = await createTicket.handler(ticket({ dedupeKey: `${run}:a_c` }), ctx(tokenCfg()));
    const b = await createTicket.handler(ticket({ dedupeKey: `${run}:abc` }), ctx(tokenCfg()));
    const c = await createTicket.handler(ticket({ dedupeKey: `${run}:ABC` }), ctx(tokenCfg()));
    const q = await createTicket.handler(ticket({ dedupeKey: `${run}:it's "quoted"` }), ctx(tokenCfg()));
    assert.deepEqual([a.created, b.created, c.created, q.created], [true, true, true, true]);
    assert.equal(new Set([a.id, b.id, c.id, q.id]).size, 4);
    const again = await createTicket.handler(ticket({ dedupeKey: `${run}:it's "quoted"` }), ctx(tokenCfg()));
    assert.deepEqual([again.id, again.created], [q.id, false]);
  });

  it('hashes long keys and keeps the tag within RT’s 200-byte subject', async () => {
    const key = `${run}:${'x'.repeat(300)}`;
    // Multi-byte characters: RT cuts the Subject at 200 bytes, not characters.
    const out = await createTicket.handler(ticket({ dedupeKey: key, summary: 'é'.repeat(400) }), ctx(tokenCfg()));
    const subject = (await rest(`/ticket/${out.id}`)).Subject as string;
    assert.ok(Buffer.byteLength(subject) <= 200, `subject has ${Buffer.byteLength(subject)} bytes`);
    assert.match(subject, /^é+… \[riposte:sha256:[0-9a-f]{32}\]$/);
    const again = await createTicket.handler(ticket({ dedupeKey: key }), ctx(tokenCfg()));
    assert.deepEqual([again.id, again.created], [out.id, false]);
  });

  it('dedupes on a custom field when configured, and refuses a queue without that field', async () => {
    const cfg = tokenCfg({ dedupeField: 'Riposte Key' });
    const key = `${run}:cf`;
    const out = await createTicket.handler(ticket({ dedupeKey: key, summary: 'CF-deduped alert' }), ctx(cfg));
    assert.equal(out.created, true);
    const got = await getTicket.handler({ ticket: out.id }, ctx(cfg));
    assert.deepEqual(got.ticket?.customFields, { 'Riposte Key': [key] });
    assert.equal(got.ticket?.subject, 'CF-deduped alert');
    const again = await createTicket.handler(ticket({ dedupeKey: key, summary: 'CF-deduped alert' }), ctx(cfg));
    assert.deepEqual([again.id, again.created], [out.id, false]);

    const summary = `No CF on General ${run}`;
    const err = await rejects(createTicket.handler(ticket({ dedupeKey: `${run}:cf-general`, summary }), ctx(tokenCfg({ dedupeField: 'Riposte Key', queue: 'General' }))), TerminalError);
    assert.match(err.message, /custom field "Riposte Key" is not applied to queue "General"/);
    const none = await searchTickets.handler(searchTickets.input.parse({ query: `Subject = '${summary}'` }), ctx(tokenCfg()));
    assert.equal(none.total, 0);
  });

  it('adds a private comment and a public reply with markers that reconcile finds', async () => {
    const cfg = tokenCfg();
    const intentAt = new Date(Date.now() - 1000);
    const out = await addComment.handler(addComment.input.parse({ ticket: firstId, body: 'Device wiped by playbook.' }), ctx(cfg, `${run}:step-5`));
    assert.equal(out.ticket, firstId);
    assert.match(out.transactionId ?? '', /^\d+$/);
    const tx = await rest(`/transaction/${out.transactionId}`);
    assert.equal(tx.Type, 'Comment');
    const atts = await rest(`/transaction/${out.transactionId}/attachments`);
    const content = Buffer.from((await rest(`/attachment/${atts.items[0].id}`)).Content, 'base64').toString('utf8');
    assert.equal(content.trim(), `Device wiped by playbook.\n\n[riposte:${run}:step-5]`);

    const reply = await addComment.handler(addComment.input.parse({ ticket: firstId, body: 'We are on it.', public: true }), ctx(cfg, `${run}:step-6`));
    assert.equal((await rest(`/transaction/${reply.transactionId}`)).Type, 'Correspond');

    assert.deepEqual(await addComment.reconcile!(addComment.input.parse({ ticket: firstId, body: 'x' }), rctx(cfg, `${run}:step-5`, intentAt)),
      { applied: true, output: { ticket: firstId, transactionId: out.transactionId } });
    assert.deepEqual(await addComment.reconcile!(addComment.input.parse({ ticket: firstId, body: 'x' }), rctx(cfg, `${run}:step-7`, intentAt)), { applied: false });
    // A marker older than the intent window does not count (the history walk stops there).
    assert.deepEqual(await addComment.reconcile!(addComment.input.parse({ ticket: firstId, body: 'x' }), rctx(cfg, `${run}:step-5`, new Date(Date.now() + 3_600_000))), { applied: false });
    assert.deepEqual(await addComment.reconcile!(addComment.input.parse({ ticket: '99999999', body: 'x' }), rctx(cfg, `${run}:step-5`)), { applied: false });
  });

  it('resolves a ticket once (a repeat is a no-op) and reopens it', async () => {
    const cfg = basicCfg();
    assert.deepEqual(await resolveTicket.handler({ ticket: firstId }, ctx(cfg)), { ticket: firstId, status: 'resolved', changed: true });
    assert.equal((await rest(`/ticket/${firstId}`)).Status, 'resolved');
    assert.deepEqual(await resolveTicket.handler({ ticket: `#${firstId}` }, ctx(cfg)), { ticket: firstId, status: 'resolved', changed: false });
    const history = await rest(`/ticket/${firstId}/history?fields=Type,NewValue&per_page=100`);
    assert.equal(history.items.filter((t: any) => t.Type === 'Status' && t.NewValue === 'resolved').length, 1);
    // A resolved ticket still dedupes.
    assert.equal((await createTicket.handler(ticket(), ctx(cfg))).created, false);
    assert.deepEqual(await reopenTicket.handler({ ticket: firstId }, ctx(cfg)), { ticket: firstId, status: 'open', changed: true });
    assert.equal(resolveTicket.undo, 'reopenTicket');
  });

  it('reports unknown tickets: found false, or TerminalError 404', async () => {
    assert.deepEqual(await getTicket.handler({ ticket: '99999999' }, ctx(tokenCfg())), { found: false });
    const err = await rejects(resolveTicket.handler({ ticket: '99999999' }, ctx(tokenCfg())), TerminalError);
    assert.equal(err.status, 404);
    assert.match(err.message, /Not Found/);
    // RT answers a comment on a missing ticket with 400 "Message could not be recorded".
    const c = await rejects(addComment.handler(addComment.input.parse({ ticket: '99999999', body: 'x' }), ctx(tokenCfg())), TerminalError);
    assert.equal(c.status, 400);
    const bad = await rejects(getTicket.handler({ ticket: '12; DROP' }, ctx(tokenCfg())), TerminalError);
    assert.match(bad.message, /not a ticket number/);
  });

  it('fails terminally on bad credentials without echoing them', async () => {
    const wrongPw = 'hunter2-wrong-password';
    const e1 = await rejects(requestTrackerApp.testConnectivity!(ctx(basicCfg({ password: wrongPw }))), TerminalError);
    assert.equal(e1.status, 401);
    assert.equal(e1.applied, 'no');
    assert.match(e1.message, /Unauthorized/);
    assert.ok(!e1.message.includes(wrongPw) && !String(e1.stack).includes(wrongPw));
    const wrongToken = `1-14-${'0'.repeat(32)}`;
    const e2 = await rejects(createTicket.handler(ticket({ dedupeKey: `${run}:auth` }), ctx(tokenCfg({ token: wrongToken }))), TerminalError);
    assert.equal(e2.status, 401);
    assert.ok(!e2.message.includes(wrongToken));
    const e3 = await rejects(requestTrackerApp.testConnectivity!(ctx({ url: RT_URL, queue: 'General', dedupeField: 'subject-tag' })), TerminalError);
    assert.match(e3.message, /token or a username and password/);
  });

  it('pages through search results', async () => {
    const tag = `${run}:page`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createTicket.handler(ticket({ dedupeKey: `${tag}-${i}`, summary: `Paging ${i}` }), ctx(tokenCfg()))).id);
    const query = `Subject LIKE '[riposte:${tag}-'`;
    const all = await searchTickets.handler(searchTickets.input.parse({ query, pageSize: 1 }), ctx(tokenCfg()));
    assert.deepEqual({ total: all.total, truncated: all.truncated, ids: all.tickets.map((t) => t.id) }, { total: 3, truncated: false, ids });
    assert.deepEqual(all.tickets.map((t) => t.subject), [0, 1, 2].map((i) => `Paging ${i} [riposte:${tag}-${i}]`));
    const two = await searchTickets.handler(searchTickets.input.parse({ query, pageSize: 1, limit: 2 }), ctx(tokenCfg()));
    assert.deepEqual({ total: two.total, truncated: two.truncated, ids: two.tickets.map((t) => t.id) }, { total: 3, truncated: true, ids: ids.slice(0, 2) });
  });

  it('passes RT’s message through on an invalid TicketSQL query', async () => {
    const err = await rejects(searchTickets.handler(searchTickets.input.parse({ query: "Subject LIKE 'unbalanced" }), ctx(tokenCfg())), TerminalError);
    assert.equal(err.status, 400);
    assert.match(err.message, /Wrong query/);
  });

  it('maps a refused connection to RetryableError applied "no"', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const err = await rejects(requestTrackerApp.testConnectivity!(ctx(tokenCfg({ url: `http://127.0.0.1:${port}` }))), RetryableError);
    assert.equal(err.applied, 'no');
  });

});
