/**
 * The approval gate inside the engine, with a scriptable vendor that counts what it really did:
 * no destructive action runs without a valid approval, whatever path is tried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, type PlaybookDefinition } from '../../src/sdk/index.js';
import type { Hitl } from '../../src/policy/hitl.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { canonicalJson } from '../../src/common/canonical-json.js';

interface Setup { h: Harness; hitl: Hitl; vendor: TestVendor }

async function setup(run: PlaybookDefinition['run'], automation: 'manual' | 'supervised' | 'autonomous' = 'supervised', ttlMs = 60_000): Promise<Setup> {
  const vendor = new TestVendor();
  const app = makeTestApp(vendor);
  const playbook = definePlaybook({ id: 'p', version: 1, triggers: { labels: ['test'] }, roles: {}, automation }, run as never);
  const h = await makeHarness({ apps: [app], playbooks: [playbook], hitl: { approvalTtlMs: ttlMs } });
  await h.store.putAsset({ egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } }, 'test');
  const policy = h.store.policyStore();
  await policy.putUser({ name: 'alice', email: 'alice@example.test', roles: ['soc-lead'], disabled: false }, 'test');
  await policy.putUser({ name: 'bob', email: 'bob@example.test', roles: ['soc-lead'], disabled: false }, 'test');
  await policy.putUser({ name: 'mallory', email: null, roles: ['viewer'], disabled: false }, 'test');
  return { h, hitl: h.hitl!, vendor };
}

const actor = (name: string, roles: string[]) => ({ name, roles });
const destroyPlaybook = (target = 'A') => async (ctx: any) => ctx.asset({ id: 'test-vendor' }, 'tv').destroy({ target });

async function waitStatus(h: Harness, runId: string, status: string, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    const r = (await h.store.getRun(runId))!;
    if (r.status === status) return r;
    if (Date.now() > until) throw new Error(`run ${runId} is ${r.status} (${r.waitingOn ?? ''} ${r.attentionReason ?? ''}), wanted ${status}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

test('supervised: a contain action parks the run until approved, then runs exactly once', async () => {
  const { h, hitl, vendor } = await setup(destroyPlaybook());
  try {
    const [run] = await h.fire();
    const parked = await waitStatus(h, run!.id, 'waiting');
    assert.match(parked.waitingOn ?? '', /^approval:/);
    assert.equal(vendor.calls, 0);
    const [approval] = await hitl.policy.listApprovals({ status: 'pending' });
    assert.equal(approval!.action, 'destroy');
    assert.deepEqual(approval!.params, { target: 'A' });
    assert.match(approval!.reasons[0]!, /supervised: contain actions need approval/);
    await hitl.approvals.decide(approval!.id, actor('alice', ['soc-lead']), 'approve', 'api');
    const done = await waitStatus(h, run!.id, 'completed');
    assert.deepEqual(done.output, { destroyed: 'A' });
    assert.equal(vendor.count('destroy'), 1);
    const journal = await h.store.loadJournal(run!.id);
    assert.match(journal[0]!.detail ?? '', /approved by alice \(api\)/);
    const audit = (await h.store.listAudit({ limit: 500 })).map((e) => e.action);
    assert.ok(audit.includes('approval.request') && audit.includes('approval.approve'));
  } finally {
    await h.close();
  }
});

test('bypass matrix: self-approval, ineligible user, denial, expiry, tampering, other parameters — 0 destructive calls', async (t) => {
  await t.test('four-eyes: the requester cannot approve their own request; ineligible users cannot either', async () => {
    const { h, hitl, vendor } = await setup(destroyPlaybook());
    try {
      await h.engine.stop();
      const [run] = await h.fire();
      h.store.db.prepare('UPDATE runs SET requested_by = ? WHERE id = ?').run('user:alice', run!.id);
      await h.restart();
      await waitStatus(h, run!.id, 'waiting');
      const [a] = await hitl.policy.listApprovals({ status: 'pending' });
      assert.equal(a!.requestedBy, 'user:alice');
      await assert.rejects(hitl.approvals.decide(a!.id, actor('alice', ['soc-lead']), 'approve', 'api'), /alice caused this run \(user:alice\) and cannot approve its actions \(four-eyes\)/);
      await assert.rejects(hitl.approvals.decide(a!.id, actor('mallory', ['viewer']), 'approve', 'api'), /may not decide/);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(vendor.calls, 0);
      assert.equal((await hitl.policy.getApproval(a!.id))!.status, 'pending');
    } finally { await h.close(); }
  });

  await t.test('denied → the step fails with ApprovalDenied and nothing is sent', async () => {
    const { h, hitl, vendor } = await setup(destroyPlaybook());
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      const [a] = await hitl.policy.listApprovals({ status: 'pending' });
      await hitl.approvals.decide(a!.id, actor('bob', ['soc-lead']), 'deny', 'cli', 'not this device');
      const r = await waitStatus(h, run!.id, 'failed');
      assert.equal(r.error?.name, 'ApprovalDenied');
      assert.match(r.error?.message ?? '', /denied by bob: not this device/);
      assert.equal(vendor.calls, 0);
    } finally { await h.close(); }
  });

  await t.test('expired → never runs, and approving late is refused', async () => {
    const { h, hitl, vendor } = await setup(destroyPlaybook(), 'supervised', 150);
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      const [a] = await hitl.policy.listApprovals({ status: 'pending' });
      const r = await waitStatus(h, run!.id, 'failed', 3000); // the engine's timer wakes it at expiry
      assert.match(r.error?.message ?? '', /expired/);
      await assert.rejects(hitl.approvals.decide(a!.id, actor('alice', ['soc-lead']), 'approve', 'api'), /already expired|expired/);
      assert.equal(vendor.calls, 0);
      assert.ok((await h.store.listAudit({ limit: 500 })).some((e) => e.action === 'approval.expire'));
    } finally { await h.close(); }
  });

  await t.test('a row set to approved in the database fails its seal: parked, not sent', async () => {
    const { h, hitl, vendor } = await setup(destroyPlaybook());
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      const [a] = await hitl.policy.listApprovals({ status: 'pending' });
      h.store.db.prepare(`UPDATE approvals SET status = 'approved', decided_at = ? WHERE id = ?`).run(new Date().toISOString(), a!.id);
      h.store.db.prepare(`INSERT INTO approval_decisions (approval_id, user_name, decision, via, comment, at, seal) VALUES (?, 'alice', 'approve', 'api', NULL, ?, 'forged')`).run(a!.id, new Date().toISOString());
      await hitl.policy.wakeRunsWaitingOn(`approval:${a!.id}`);
      h.engine.wake();
      const r = await waitStatus(h, run!.id, 'needs_attention');
      assert.match(r.attentionReason ?? '', /failed its integrity check.*NOT sent/);
      assert.equal(vendor.calls, 0);
    } finally { await h.close(); }
  });

  await t.test('an approval for other parameters does not release this step', async () => {
    const { h, hitl, vendor } = await setup(destroyPlaybook('device-B'));
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      const [a] = await hitl.policy.listApprovals({ status: 'pending' });
      // Rebind the request to device-A and re-seal it as if Riposte had done it: the binding check still refuses.
      const forged = { ...a!, params: { target: 'device-A' } };
      const { paramsHashOf } = await import('../../src/policy/approvals.js');
      forged.paramsHash = paramsHashOf(forged);
      h.store.db.prepare('UPDATE approvals SET params = ?, params_hash = ?, seal = ? WHERE id = ?').run(canonicalJson(forged.params), forged.paramsHash, hitl.sealer.approvalSeal({ ...forged, seal: undefined } as never), a!.id);
      await hitl.approvals.decide(a!.id, actor('alice', ['soc-lead']), 'approve', 'api');
      const r = await waitStatus(h, run!.id, 'needs_attention');
      assert.match(r.attentionReason ?? '', /other parameters.*needs a new approval.*NOT sent/);
      assert.equal(vendor.calls, 0);
    } finally { await h.close(); }
  });
});

test('quorum: two of the SOC leads, requester excluded', async () => {
  const { h, hitl, vendor } = await setup(destroyPlaybook());
  try {
    await hitl.policy.putAssetPolicy('tv', { requireApproval: true, approvers: { users: [], roles: ['soc-lead'] }, quorum: 2, fourEyes: true }, 'test');
    const [run] = await h.fire();
    await h.store.db.prepare('UPDATE runs SET requested_by = ? WHERE id = ?').run('user:alice', run!.id);
    await waitStatus(h, run!.id, 'waiting');
    const [a] = await hitl.policy.listApprovals({ status: 'pending' });
    assert.equal(a!.quorum, 2);
    const one = await hitl.approvals.decide(a!.id, actor('bob', ['soc-lead']), 'approve', 'api');
    assert.equal(one.status, 'pending');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(vendor.calls, 0, 'one approval of two releases nothing');
    await assert.rejects(hitl.approvals.decide(a!.id, actor('bob', ['soc-lead']), 'approve', 'api'), /already decided/);
    await hitl.policy.putUser({ name: 'carol', email: null, roles: ['soc-lead'], disabled: false }, 'test');
    const two = await hitl.approvals.decide(a!.id, actor('carol', ['soc-lead']), 'approve', 'api');
    assert.equal(two.status, 'approved');
    await waitStatus(h, run!.id, 'completed');
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});

test('replay after a restart never asks twice nor skips the check', async () => {
  const { h, hitl, vendor } = await setup(async (ctx: any) => {
    const r = await ctx.asset({ id: 'test-vendor' }, 'tv').destroy({ target: 'R' });
    await ctx.sleep(60_000);
    return r;
  });
  try {
    const [run] = await h.fire();
    await waitStatus(h, run!.id, 'waiting');
    await h.restart(); // crash while waiting for the decision
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await hitl.policy.listApprovals({})).length, 1, 'the restart did not ask again');
    const [a] = await hitl.policy.listApprovals({ status: 'pending' });
    await hitl.approvals.decide(a!.id, actor('alice', ['soc-lead']), 'approve', 'api');
    const until = Date.now() + 5000;
    while ((await h.store.getRun(run!.id))!.waitingOn !== 'timer' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await h.store.getRun(run!.id))!.waitingOn, 'timer');
    await h.store.updateRun(run!.id, { status: 'running' }); // replay from the top after another "crash"
    await h.restart();
    await waitStatus(h, run!.id, 'waiting');
    assert.equal(vendor.count('destroy'), 1, 'the approved action was not sent again');
    assert.equal((await hitl.policy.listApprovals({})).length, 1);
  } finally {
    await h.close();
  }
});

test('kill switch parks destructive steps; releasing it resumes them', async () => {
  const { h, hitl, vendor } = await setup(destroyPlaybook(), 'autonomous');
  try {
    await hitl.setKillSwitch(true, 'user:alice', 'incident storm');
    const [run] = await h.fire();
    const r = await waitStatus(h, run!.id, 'waiting');
    assert.equal(r.waitingOn, 'kill-switch');
    assert.equal(vendor.calls, 0);
    await hitl.setKillSwitch(false, 'user:alice', 'storm over');
    await waitStatus(h, run!.id, 'completed');
    assert.equal(vendor.count('destroy'), 1);
    const audit = (await h.store.listAudit({ limit: 500 })).map((e) => e.action);
    assert.ok(audit.includes('kill_switch.engage') && audit.includes('kill_switch.release'));
  } finally {
    await h.close();
  }
});

test('blast radius: past N executions in the window, the next ones need approval even when autonomous', async () => {
  const { h, hitl, vendor } = await setup(destroyPlaybook(), 'autonomous');
  try {
    await hitl.policy.putSetting('blast_radius', [{ action: 'destroy', max: 1, windowMs: 3_600_000 }], 'user:alice', 'policy.blast_radius');
    const [r1] = await h.fire({ sourceId: 'a1' });
    await waitStatus(h, r1!.id, 'completed');
    const [r2] = await h.fire({ sourceId: 'a2' });
    const parked = await waitStatus(h, r2!.id, 'waiting');
    assert.match(parked.waitingOn ?? '', /^approval:/);
    const [a] = await hitl.policy.listApprovals({ status: 'pending' });
    assert.match(a!.reasons.join(), /blast radius: 1 destroy already in the last 60 min \(limit 1/);
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});

test('manual level gates every non-read-only action; read-only ones run', async () => {
  const { h, hitl, vendor } = await setup(async (ctx: any) => {
    const tv = ctx.asset({ id: 'test-vendor' }, 'tv');
    await tv.echo({ value: 'read' });
    return tv.destroy({ target: 'M' });
  }, 'manual');
  try {
    const [run] = await h.fire();
    await waitStatus(h, run!.id, 'waiting');
    assert.equal(vendor.count('echo'), 1);
    const [a] = await hitl.policy.listApprovals({ status: 'pending' });
    assert.match(a!.reasons[0]!, /manual/);
  } finally {
    await h.close();
  }
});

test('dry run records what would have run and sends nothing', async () => {
  const { h, vendor } = await setup(destroyPlaybook(), 'autonomous');
  try {
    await h.store.putPlaybookSettings({ playbookId: 'p', enabled: true, automation: null, bindings: {}, dryRun: true }, 'test');
    const [run] = await h.fire();
    const done = await waitStatus(h, run!.id, 'completed');
    assert.equal(vendor.calls, 0);
    const journal = await h.store.loadJournal(done.id);
    assert.match(journal[0]!.detail ?? '', /dry run: contain action test-vendor.destroy on asset "tv" would have run/);
    assert.deepEqual(journal[0]!.input, { target: 'A' });
  } finally {
    await h.close();
  }
});

test('prompts: typed answer, timeout default, escalation to a second role', async (t) => {
  await t.test('answered', async () => {
    const { h, hitl } = await setup(async (ctx: any) => ctx.prompt({ question: 'Wipe the CEO phone?', to: { role: 'soc-lead' }, type: 'yesno', default: false, timeoutMs: 60_000 }));
    try {
      const [run] = await h.fire();
      const w = await waitStatus(h, run!.id, 'waiting');
      assert.match(w.waitingOn ?? '', /^prompt:/);
      const [p] = await hitl.policy.listPrompts({ status: 'pending' });
      await assert.rejects(hitl.prompts.answer(p!.id, actor('mallory', ['viewer']), 'yes', 'api'), /may not answer/);
      await assert.rejects(hitl.prompts.answer(p!.id, actor('alice', ['soc-lead']), 'maybe', 'api'), /expects yes or no/);
      await hitl.prompts.answer(p!.id, actor('alice', ['soc-lead']), 'yes', 'api');
      const done = await waitStatus(h, run!.id, 'completed');
      assert.deepEqual(done.output, { answer: true, answeredBy: 'alice', timedOut: false });
    } finally { await h.close(); }
  });
  await t.test('timeout takes the default; escalation reassigns first', async () => {
    const { h, hitl } = await setup(async (ctx: any) => ctx.prompt({ question: 'Which response?', to: { user: 'alice' }, type: 'choice', options: ['wipe', 'lock', 'none'], default: 'lock', timeoutMs: 400, escalate: { afterMs: 150, toRole: 'soc-manager' } }));
    try {
      const [run] = await h.fire();
      await waitStatus(h, run!.id, 'waiting');
      await new Promise((r) => setTimeout(r, 250));
      const [p] = await hitl.policy.listPrompts({});
      assert.equal(p!.assigneeRole, 'soc-manager');
      assert.ok(p!.escalatedAt);
      const done = await waitStatus(h, run!.id, 'completed', 3000);
      assert.deepEqual(done.output, { answer: 'lock', answeredBy: null, timedOut: true });
      const audit = (await h.store.listAudit({ limit: 500 })).map((e) => e.action);
      assert.ok(audit.includes('prompt.escalate') && audit.includes('prompt.timeout'));
    } finally { await h.close(); }
  });
});

test('restart with runs waiting on an approval, a prompt and a timer: all resume', async () => {
  const { h, hitl, vendor } = await setup(async (ctx: any, incident: any) => {
    if (incident.name === 'approval') return ctx.asset({ id: 'test-vendor' }, 'tv').destroy({ target: 'W' });
    if (incident.name === 'prompt') return ctx.prompt({ question: 'ok?', to: { role: 'soc-lead' }, type: 'text', default: 'n/a', timeoutMs: 60_000 });
    await ctx.sleep(300);
    return 'slept';
  });
  try {
    const [ra] = await h.fire({ name: 'approval', sourceId: '1' });
    const [rp] = await h.fire({ name: 'prompt', sourceId: '2' });
    const [rt] = await h.fire({ name: 'timer', sourceId: '3' });
    for (const r of [ra, rp, rt]) await waitStatus(h, r!.id, 'waiting');
    await h.restart();
    const [a] = await hitl.policy.listApprovals({ status: 'pending' });
    const [p] = await hitl.policy.listPrompts({ status: 'pending' });
    await hitl.approvals.decide(a!.id, actor('alice', ['soc-lead']), 'approve', 'api');
    await hitl.prompts.answer(p!.id, actor('bob', ['soc-lead']), 'fine', 'api');
    assert.deepEqual((await waitStatus(h, ra!.id, 'completed')).output, { destroyed: 'W' });
    assert.equal(((await waitStatus(h, rp!.id, 'completed')).output as any).answer, 'fine');
    assert.equal((await waitStatus(h, rt!.id, 'completed', 3000)).output, 'slept');
    assert.equal(vendor.count('destroy'), 1);
  } finally {
    await h.close();
  }
});
