/**
 * The `http` capability: playbook code in the real sandbox calls a REST API through a role
 * (`roles: { api: 'http' }`) bound to an asset of the generic HTTP app — no vendor named, no
 * cast — and the local server sees exactly what the playbook sent; the POST is gated by policy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpApp } from '../../src/apps/http-request/index.js';
import { closeVendorConnections } from '../../src/apps/http.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { makeHarness } from '../support/harness.js';
import { json, LocalServer } from '../support/local-http.js';
import { sandboxPlaybook } from '../support/sandbox-playbook.js';
import { runIn } from '../support/wait.js';

let api: LocalServer;
const sandbox = new Sandbox();
before(async () => {
  api = await new LocalServer({
    '/users': (s, res) => json(res, 200, { id: 42, query: s.url }),
    '/tickets': (s, res) => json(res, 201, { created: true, got: s.body }),
  }).start();
});
after(async () => {
  closeVendorConnections();
  sandbox.close();
  await api.stop();
});

const body = `
  const user = await ctx.roles.api.get({ url: '/users', query: { email: 'jdoe@example.com' } });
  const made = await ctx.roles.api.post({ url: '/tickets', json: { user: user.body.id } });
  return { user: user.body.id, status: made.status, created: made.body.created };`;

for (const [automation, expected] of [['autonomous', 'completed'], ['supervised', 'waiting']] as const) {
  test(`a playbook reaches a REST API through an http role (${automation})`, async () => {
    const playbook = await sandboxPlaybook(sandbox, { id: 'rest-role', roles: { api: 'http' }, body, automation });
    const h = await makeHarness({ apps: [httpApp], playbooks: [playbook], hitl: {} });
    try {
      await h.store.putAsset({ egressAllow: ['loopback'], name: 'hr-api', appId: 'http', config: { baseUrl: api.url }, secrets: {} }, 'test');
      await h.store.putPlaybookSettings({ playbookId: 'rest-role', enabled: true, automation: null, bindings: { api: 'hr-api' }, dryRun: false }, 'test');
      api.seen.length = 0;
      const [run] = await h.fire();
      const done = await runIn(h.store, run!.id, [expected]);
      if (expected === 'completed') {
        assert.deepEqual(done.output, { user: 42, status: 201, created: true });
        assert.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), ['GET /users?email=jdoe%40example.com', 'POST /tickets']);
      } else {
        // The GET went out; the POST waits for a person's approval and was not sent.
        assert.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), ['GET /users?email=jdoe%40example.com']);
        const [approval] = await h.hitl!.policy.listApprovals({ status: 'pending' });
        assert.equal(approval!.action, 'post');
      }
    } finally {
      await h.close();
    }
  });
}
