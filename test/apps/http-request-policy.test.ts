/**
 * The HTTP app's read-only rule through the real engine and policy gate: GET runs ungated, every
 * other method is changing (gated, audited) unless the asset lists it in `readOnlyMethods`, and
 * an asset may gate GET too. The local server proves what was really sent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { actionForAsset } from '../../src/sdk/app.js';
import { httpApp } from '../../src/apps/http-request/index.js';
import { closeVendorConnections } from '../../src/apps/http.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { runIn } from '../support/wait.js';
import { json, LocalServer } from '../support/local-http.js';

type Level = 'manual' | 'supervised' | 'autonomous';

/** The run once it is in `status` (the shared wait of test/support/wait.ts). */
const waitStatus = (h: Harness, runId: string, status: string) => runIn(h.store, runId, [status], 5000);

describe('HTTP app: which methods are changing, through the policy gate', () => {
  let api: LocalServer;
  before(async () => {
    api = await new LocalServer({
      '/items': (s, res) => json(res, 200, { method: s.method }),
      '/search': (s, res) => json(res, 200, { method: s.method, hits: [] }),
    }).start();
  });
  after(async () => {
    closeVendorConnections();
    await api.stop();
  });

  async function setup(level: Level, readOnlyMethods?: string[]): Promise<Harness> {
    const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation: level }, (async (ctx: any) => {
      const a = ctx.asset(httpApp, 'api');
      const g = await a.get({ url: '/items' });
      const p = await a.post({ url: '/search', json: { q: 'jdoe' } });
      return { get: g.status, post: p.status };
    }) as never);
    const h = await makeHarness({ apps: [httpApp], playbooks: [playbook], hitl: {} });
    const config = { baseUrl: api.url, ...(readOnlyMethods ? { readOnlyMethods } : {}) };
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'api', appId: 'http', config, secrets: {} }, 'test');
    api.seen.length = 0;
    return h;
  }

  const executed = async (h: Harness) => (await h.store.listAudit({ limit: 500 })).filter((e) => e.action === 'action.execute').map((e) => e.target);

  it('by default GET runs ungated and POST is a correct-kind change: supervised, it waits for approval and is not sent', async () => {
    const h = await setup('supervised');
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      assert.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), ['GET /items']);
      const [approval] = await h.hitl!.policy.listApprovals({ status: 'pending' });
      assert.deepEqual([approval!.action, approval!.kind], ['post', 'correct']);
      assert.match(approval!.reasons.join(), /supervised: correct actions need approval/);
      assert.deepEqual(await executed(h), []);
    } finally {
      await h.close();
    }
  });

  it('an asset that lists POST as read-only: the POST runs without approval, intent or audit entry', async () => {
    const h = await setup('manual', ['GET', 'POST']);
    try {
      const [run] = await h.fire();
      const done = await waitStatus(h, run!.id, 'completed');
      assert.deepEqual(done.output, { get: 200, post: 200 });
      assert.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), ['GET /items', 'POST /search']);
      assert.deepEqual(await h.hitl!.policy.listApprovals({ status: 'pending' }), []);
      assert.deepEqual(await executed(h), []);
    } finally {
      await h.close();
    }
  });

  it('an asset that lists no method as read-only gates GET too (manual level: it waits, nothing is sent)', async () => {
    const h = await setup('manual', []);
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      assert.equal(api.seen.length, 0);
      const [approval] = await h.hitl!.policy.listApprovals({ status: 'pending' });
      assert.equal(approval!.action, 'get');
    } finally {
      await h.close();
    }
  });

  it('autonomous: a changing POST runs, and is audited as a change', async () => {
    const h = await setup('autonomous');
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'completed');
      assert.deepEqual(await executed(h), ['api/post']);
    } finally {
      await h.close();
    }
  });

  it('actionForAsset: per-asset flags; the static definition keeps the safe default', () => {
    const cfg = (readOnlyMethods?: string[]) => httpApp.config.parse({ baseUrl: 'https://api.example.test', ...(readOnlyMethods ? { readOnlyMethods } : {}) });
    const flags = (name: string, c: unknown) => {
      const d = actionForAsset(httpApp, name, c)!;
      return [d.readOnly, d.idempotent];
    };
    assert.deepEqual([httpApp.actions.post.readOnly, httpApp.actions.get.readOnly], [false, true]);
    assert.deepEqual(flags('post', cfg()), [false, false]);
    assert.deepEqual(flags('post', cfg(['POST'])), [true, true]);
    assert.deepEqual(flags('delete', cfg(['GET'])), [false, true]);
    assert.deepEqual(flags('get', cfg([])), [false, true]);
    assert.deepEqual(flags('get', cfg()), [true, true]);
    // A configuration that does not parse never makes anything read-only.
    assert.deepEqual(flags('post', {}), [false, false]);
    assert.equal(actionForAsset(httpApp, 'nope', cfg()), undefined);
  });
});
