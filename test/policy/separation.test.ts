/**
 * Who else may not decide, beyond the cause: the exclusions an approval carries are sealed (a row
 * whose list was emptied in the database fails its integrity check), enforced when deciding and
 * again by `verify` right before the action would be sent; the cause of a run's incident edits is
 * resolved from the store (author through an API token, later status/severity changes, nothing
 * after the run's snapshot); sources are never listed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeApprovalsApi, type ApprovalsApi } from '../support/approvals-api.js';
import { PolicyError } from '../../src/policy/errors.js';
import { exclusionsFor, personOf, WHY_EDITOR, WHY_OTHER_CAUSE } from '../../src/policy/separation.js';

describe('separation of duties: exclusions beyond the cause', () => {
  let api: ApprovalsApi;
  before(async () => { api = await makeApprovalsApi(); });
  after(() => api.close());
  const alice = { name: 'alice', roles: ['analyst'] };

  it('an excluded person is refused; the exclusion is sealed and checked again by verify', async () => {
    await api.incidentWithRuns(['sep-1']);
    const excluded = [{ principal: 'user:alice', why: WHY_OTHER_CAUSE }];
    const a = await api.request('sep-1', 1, { requestedBy: 'user:bob', excluded });
    assert.deepEqual(a.excluded, excluded);
    await assert.rejects(api.hitl.approvals.decide(a.id, alice, 'approve', 'api'),
      (e: unknown) => e instanceof PolicyError && e.code === 'four_eyes' && /alice caused the run this one repeats/.test(e.message));
    // Denying stays allowed to anyone eligible.
    const b = await api.request('sep-1', 2, { requestedBy: 'user:bob', excluded });
    assert.equal((await api.hitl.approvals.decide(b.id, alice, 'deny', 'api')).status, 'denied');
    // Emptying the list in the database breaks the seal: the engine would not act on it.
    api.h.store.db.prepare('UPDATE approvals SET excluded = NULL WHERE id = ?').run(a.id);
    const tampered = (await api.hitl.policy.getApproval(a.id))!;
    assert.match(api.hitl.approvals.integrityProblem(tampered) ?? '', /failed its integrity check/);
  });

  it('verify refuses an approval given by an excluded person, even if the record says approved', async () => {
    await api.incidentWithRuns(['sep-2']);
    const a = await api.request('sep-2', 1, { requestedBy: 'user:bob', excluded: [{ principal: 'user:alice', why: WHY_EDITOR }] });
    // A decision recorded as if decide had let it through, sealed with the real key.
    const at = new Date().toISOString();
    const d0 = { user: 'alice', decision: 'approve' as const, via: 'api' as const, comment: null, at };
    const d = { ...d0, seal: api.hitl.sealer.decisionSeal(a, d0) };
    const { seal: _s, ...rest } = a;
    const seal = api.hitl.sealer.approvalSeal({ ...rest, status: 'approved', decidedAt: at, decisions: [d] });
    assert.ok(await api.hitl.policy.recordDecision(a.id, d, { status: 'approved', decidedAt: at, seal }, 'test'));
    const approved = (await api.hitl.policy.getApproval(a.id))!;
    assert.equal(api.hitl.approvals.integrityProblem(approved), null);
    const problem = api.hitl.approvals.verify(approved, a);
    assert.match(problem ?? '', /approved by alice, who wrote or changed the incident .*four-eyes/);
    assert.equal((await api.hitl.approvals.decide((await api.request('sep-2', 2, { requestedBy: 'user:bob' })).id,
      alice, 'approve', 'api')).status, 'approved', 'without exclusions alice may approve');
  });

  it('editors: the author through a token and later status/severity changes, up to the snapshot; never a source', async () => {
    const store = api.h.store;
    const viaToken = await store.ingest({ name: 'x', label: 'l', severity: 'high', source: 'token:alice', artifacts: [] }, [], 'token:alice');
    const viaSource = await store.ingest({ name: 'y', label: 'l', severity: 'high', source: 'splunk', artifacts: [] }, [], 'source:splunk');
    await store.updateIncident(viaToken.incident.id, { owner: 'carol' }, 'token:carol');
    await store.updateIncident(viaToken.incident.id, { severity: 'low' }, 'token:bob');
    await store.updateIncident(viaSource.incident.id, { status: 'open' }, 'token:dave');
    const now = new Date(Date.now() + 1000).toISOString();
    const policy = api.hitl.policy;
    assert.deepEqual(await policy.incidentEditors(viaToken.incident.id, now), ['token:alice', 'token:bob'],
      'an owner change is not an edit of what runs see');
    assert.deepEqual(await policy.incidentEditors(viaSource.incident.id, now), ['token:dave']);
    assert.deepEqual(await policy.incidentEditors(viaToken.incident.id, '2000-01-01T00:00:00.000Z'), [], 'nothing after the snapshot');
    const run = { incidentId: viaToken.incident.id, createdAt: now, requestedBy: 'user:bob', alsoCausedBy: ['source:splunk', 'user:erin'] };
    assert.deepEqual(await exclusionsFor(policy, run, { includeCause: false }), [
      { principal: 'user:erin', why: WHY_OTHER_CAUSE },
      { principal: 'user:alice', why: WHY_EDITOR },
    ]);
    assert.equal((await exclusionsFor(policy, run, { includeCause: true }))[0]!.principal, 'user:bob');
    assert.equal(personOf('source:splunk'), null);
    assert.equal(personOf('system'), null);
  });
});
