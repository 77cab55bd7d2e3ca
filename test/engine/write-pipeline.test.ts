/**
 * The engine queues its journal writes and waits only where durability matters (see
 * src/engine/execution.ts). These tests pin the two promises that make that safe: a changing
 * action is sent only after its intent, its audit entry and every earlier write of the run have
 * committed; and a write that fails parks the run before anything more is sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import type { PlaybookDefinition } from '../../src/sdk/index.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';

async function setup(vendor: TestVendor, playbook: PlaybookDefinition): Promise<Harness> {
  const h = await makeHarness({ apps: [makeTestApp(vendor)], playbooks: [playbook] });
  await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 's3cret' } }, 'test');
  return h;
}

const pb = (run: PlaybookDefinition['run']) =>
  definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {} }, run as never);

test('a changing action is sent only after its intent, its audit entry and all earlier writes committed', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const h = await setup(vendor, pb(async (ctx) => {
    const a = await ctx.asset(app, 'tv').echo({ value: 'x' });
    await ctx.note(`echo said ${a.value}`);
    await ctx.setStatus('open');
    await ctx.asset(app, 'tv').destroy({ target: 'A' });
    return { ok: true };
  }));
  const seen: string[] = [];
  let checked = false;
  try {
    const [run] = await h.fire();
    vendor.onCall = (action) => {
      if (action !== 'destroy') return;
      // No transaction is open between group-commit flushes: what this connection reads is committed.
      void Promise.all([h.store.loadJournal(run!.id), h.store.listAudit({ limit: 100 })]).then(([journal, audit]) => {
        seen.push(...journal.map((e) => `${e.seq}:${e.name}:${e.status}`));
        checked = audit.some((e) => e.action === 'action.execute' && e.target === 'tv/destroy');
      });
    };
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(seen, ['0:tv.echo:completed', '1:note:completed', '2:setStatus:completed', '3:tv.destroy:started']);
    assert.ok(checked, 'the audit entry of the destroy was committed before it was sent');
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});

test('a journal write that fails parks the run and nothing more is sent', async () => {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const h = await setup(vendor, pb(async (ctx) => {
    await ctx.asset(app, 'tv').echo({ value: 'x' });
    await ctx.note('about to destroy');
    await ctx.asset(app, 'tv').destroy({ target: 'A' });
    return { ok: true };
  }));
  try {
    h.store.applyRunEffect = () => Promise.reject(new Error('disk I/O error (simulated)'));
    const [run] = await h.fire();
    const done = await h.settle(run!.id);
    assert.equal(done.status, 'needs_attention');
    assert.match(done.attentionReason ?? '', /journal write .*failed.*disk I\/O error \(simulated\)/);
    assert.equal(vendor.count('echo'), 1);
    assert.equal(vendor.count('destroy'), 0, 'the destroy must not be sent after a lost write');
  } finally {
    await h.close();
  }
});
