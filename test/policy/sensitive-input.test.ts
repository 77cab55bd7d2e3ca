/**
 * A sensitive action input (a new password) reaches the action's handler and nothing else: not the
 * journal, the approval, the audit, the action results, the API's answers, the logs or the
 * database file — across an approval wait and an engine restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { defineApp, definePlaybook } from '../../src/sdk/index.js';
import { buildApiServer } from '../../src/api/server.js';
import { registerHitlRoutes } from '../../src/api/routes/hitl.js';
import { registerRunApprovalRoutes } from '../../src/api/routes/run-approvals.js';
import { SENSITIVE_MARKER } from '../../src/common/sensitive.js';
import { makeHarness } from '../support/harness.js';

const PASSWORD = 'N3w-Pa55w0rd-canary-7c1e';
const received: Array<{ user: string; newPassword: string }> = [];

const idp = defineApp({
  id: 'test-idp', name: 'Test IdP', vendor: 'Test', product: 'IdP', version: '1.0.0',
  config: z.object({ url: z.string() }), secrets: [],
  actions: (action) => ({
    resetPassword: action({
      description: 'Sets a new password', kind: 'correct', readOnly: false, idempotent: true,
      input: z.object({ user: z.string(), newPassword: z.string().min(12) }),
      sensitiveInput: ['newPassword'],
      output: z.object({ reset: z.string() }),
      async handler(input, ctx) {
        received.push(input);
        ctx.log('password reset', { user: input.user });
        return { reset: input.user };
      },
    }),
  }),
});

test('defineApp refuses a sensitive input that is not a field of the input object', () => {
  assert.throws(() => defineApp({
    id: 'bad', name: 'b', vendor: 'v', product: 'p', version: '1', config: z.object({}), secrets: [],
    actions: (action) => ({
      go: action({ description: 'x', kind: 'generic', readOnly: false, idempotent: true, input: z.object({ a: z.string() }),
        sensitiveInput: ['pasword'], output: z.object({}), handler: async () => ({}) }),
    }),
  }), /go\.sensitiveInput names "pasword", which is not a field of its input object/);
});

test('a sensitive input is never journaled, audited, shown or stored, yet the action gets it after an approval and a restart', async () => {
  received.length = 0;
  const playbook = definePlaybook({ id: 'reset', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: 'supervised' },
    async (ctx: any) => ctx.asset({ id: 'test-idp' }, 'idp').resetPassword({ user: 'jdoe', newPassword: PASSWORD }));
  const h = await makeHarness({ apps: [idp], playbooks: [playbook], hitl: {} });
  const logs: string[] = [];
  const stream = new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } });
  const api = await buildApiServer({
    store: h.store, ingest: h.ingest, logger: pino({ level: 'debug' }, stream),
    extraRoutes: (app) => {
      registerHitlRoutes(app, { store: h.store, hitl: h.hitl!, registry: h.registry, catalog: h.catalog, wake: () => h.engine.wake() });
      registerRunApprovalRoutes(app, { store: h.store, hitl: h.hitl! });
    },
  });
  try {
    await h.store.createApiToken({ name: 'admin', role: 'admin', token: 'tok-admin-sensitive-0123456789' }, 'test');
    await h.store.putAsset({ name: 'idp', appId: 'test-idp', config: { url: 'http://127.0.0.1:1' }, secrets: {} }, 'test');
    await h.store.policyStore().putUser({ name: 'alice', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    const [run] = await h.fire();
    const reach = async (status: string) => {
      const until = Date.now() + 5000;
      for (;;) {
        const r = (await h.store.getRun(run!.id))!;
        if (r.status === status) return r;
        if (Date.now() > until) throw new Error(`run is ${r.status} (${r.attentionReason ?? ''}), wanted ${status}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    await reach('waiting');
    const [pending] = await h.hitl!.policy.listApprovals({ status: 'pending' });
    assert.deepEqual(pending!.params, { user: 'jdoe', newPassword: SENSITIVE_MARKER }, 'the approver sees the marker');
    // A restart while parked: the playbook supplies the value again; the journal could not.
    await h.restart();
    await h.hitl!.approvals.decide(pending!.id, { name: 'alice', roles: ['soc-lead'] }, 'approve', 'api');
    const done = await reach('completed');
    assert.deepEqual(received, [{ user: 'jdoe', newPassword: PASSWORD }], 'the handler received the value, once');

    const journal = await h.store.loadJournal(run!.id);
    const step = journal.find((e) => e.kind === 'action')!;
    assert.deepEqual(step.input, { user: 'jdoe', newPassword: SENSITIVE_MARKER });
    assert.equal(step.status, 'completed');

    const auth = { authorization: 'Bearer tok-admin-sensitive-0123456789' };
    const answers: string[] = [];
    for (const url of [`/api/v1/runs/${run!.id}`, '/api/v1/approvals?status=approved', `/api/v1/approvals/${pending!.id}`,
      `/api/v1/runs/${run!.id}/approvals`, '/api/v1/audit?limit=500', `/api/v1/incidents/${done.incidentId}`]) {
      const res = await api.inject({ method: 'GET', url, headers: auth });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      answers.push(res.body);
    }
    assert.ok(answers[0]!.includes(SENSITIVE_MARKER), 'the run shows the marker where the value was');
    for (const body of answers) assert.ok(!body.includes(PASSWORD), 'no API answer holds the value');
    assert.ok(!logs.join('').includes(PASSWORD), 'no log line holds the value');
    const results = h.store.db.prepare('SELECT input FROM action_results').pluck().all() as string[];
    assert.ok(results.length > 0 && results.every((r) => !r.includes(PASSWORD) && r.includes(SENSITIVE_MARKER)));

    // An ad-hoc action would store the value with its run's arguments: refused, nothing created.
    const runsBefore = (await h.store.listRuns({})).length;
    const adhoc = await api.inject({ method: 'POST', url: '/api/v1/actions', headers: auth,
      payload: { incidentId: done.incidentId, asset: 'idp', action: 'resetPassword', params: { user: 'x', newPassword: PASSWORD } } });
    assert.equal(adhoc.statusCode, 400);
    assert.match(adhoc.body, /takes newPassword as a sensitive input/);
    assert.ok(!adhoc.body.includes(PASSWORD));
    assert.equal((await h.store.listRuns({})).length, runsBefore);

    h.store.db.pragma('wal_checkpoint(TRUNCATE)');
    assert.ok(!readFileSync(h.store.db.name).includes(Buffer.from(PASSWORD)), 'the database file does not hold the value');
  } finally {
    await api.close();
    await h.close();
  }
});
