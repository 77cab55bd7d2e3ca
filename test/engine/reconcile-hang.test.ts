/**
 * Regression found in review: an action's attempt is raced against its timeout (broker.invoke), but `reconcile` is
 * only given an abort signal. A reconcile that does not honour the signal (a vendor API that
 * hangs, a client without AbortSignal support) keeps the step in flight forever: the run never
 * settles (stays 'running') and a graceful engine stop waits forever too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineApp, definePlaybook, RetryableError } from '../../src/sdk/index.js';
import { makeHarness } from '../support/harness.js';

test('a reconcile that never answers is bounded by the action timeout', async () => {
  let sent = 0;
  const app = defineApp({
    id: 'hang-vendor', name: 'Hanging reconcile', vendor: 'Riposte tests', product: 'x', version: '1.0.0',
    config: z.object({}), secrets: [],
    actions: (action) => ({
      isolate: action({
        description: 'changes something', kind: 'contain', readOnly: false, idempotent: false,
        input: z.object({ host: z.string() }), output: z.object({ ok: z.boolean() }), timeoutMs: 100,
        handler: async () => {
          sent++;
          throw new RetryableError('connection reset after sending', { applied: 'unknown' });
        },
        reconcile: () => new Promise<{ applied: false }>(() => { /* the vendor never answers, and the signal is ignored */ }),
      }),
    }),
  });
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} },
    async (ctx) => ctx.asset(app, 'hv').isolate({ host: 'h1' }));
  const h = await makeHarness({ apps: [app], playbooks: [playbook] });
  try {
    await h.store.putAsset({ egressAllow: ['loopback'], name: 'hv', appId: 'hang-vendor', config: {}, secrets: {} }, 'test');
    const [run] = await h.fire();
    const r = await h.settle(run!.id, 2000).catch((err: Error) => assert.fail(err.message));
    assert.equal(sent, 1);
    assert.equal(r.status, 'needs_attention');
  } finally {
    // A graceful stop would wait for the hung step forever: give up on it after a while.
    await Promise.race([h.close(), new Promise((r) => setTimeout(r, 500))]);
  }
});
