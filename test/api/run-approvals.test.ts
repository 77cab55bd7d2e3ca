/**
 * Approvals by unambiguous run reference over HTTP (Fastify inject, real store and ApprovalService):
 * an ambiguous prefix decides nothing and lists the matches; a bulk decision needs the exact set of
 * pending approval ids; roles are enforced.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS, assertError } from './harness.js';
import { block, makeApprovalsApi, wipe, type ApprovalsApi } from '../support/approvals-api.js';
import type { ApprovalRecord } from '../../src/store/policy-records.js';

// UUIDv7-like ids: the first two runs share their first 8 characters, as runs started within a
// minute of each other do.
const RUN_A1 = '0196f3a0-1111-7000-8000-000000000001';
const RUN_A2 = '0196f3a0-2222-7000-8000-000000000002';
const RUN_B = '0196f3a1-3333-7000-8000-000000000003';
const RUN_IDLE = '0196f3a2-4444-7000-8000-000000000004';
const RUN_SOLO = '0196f3a3-5555-7000-8000-000000000005';

interface ErrorInfo { code: string; message: string }
interface DecideAnswer {
  run: { id: string };
  decision: string;
  results: Array<{ id: string; status: string; approval: ApprovalRecord | null; error?: ErrorInfo }>;
}

describe('run approvals by reference', () => {
  let api: ApprovalsApi;
  let a1: ApprovalRecord[];
  let a2: ApprovalRecord[];
  let b: ApprovalRecord[];
  let auditBefore = 0;

  type Headers = Record<string, string>;
  const decide = (ref: string, body: unknown, token: string | null = TOKENS.analyst, headers: Headers = {}) => {
    const auth = token === null ? {} : { authorization: `Bearer ${token}` };
    return api.h.app.inject({
      method: 'POST', url: `/api/v1/runs/${ref}/approvals/decide`, payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...auth, ...headers },
    });
  };
  /** An approval of `ids` that the server must refuse for want of confirmation. */
  const unconfirmed = async (ref: string, ids: string[]) =>
    assertError(await decide(ref, { decision: 'approve', approvalIds: ids }), 409, 'confirmation_required');
  const get = (url: string, token: string | null = TOKENS.viewer) =>
    api.h.app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const statusOf = async (ids: string[]) =>
    Promise.all(ids.map(async (id) => (await api.hitl.policy.getApproval(id))!.status));
  const audit = async () => (await api.h.store.verifyAudit()).entries;

  before(async () => {
    api = await makeApprovalsApi();
    await api.incidentWithRuns([RUN_A1, RUN_A2]);
    await api.incidentWithRuns([RUN_B, RUN_IDLE, RUN_SOLO]);
    a1 = [await api.request(RUN_A1, 3, wipe('dev-a1')), await api.request(RUN_A1, 4, block('10.0.0.1'))];
    a2 = [await api.request(RUN_A2, 3, wipe('dev-a2')), await api.request(RUN_A2, 4, block('10.0.0.2'))];
    b = [await api.request(RUN_B, 3, wipe('dev-b')), await api.request(RUN_B, 4, block('10.0.0.3'))];
  });
  after(() => api.close());
  beforeEach(async () => { auditBefore = await audit(); });

  it('an ambiguous prefix decides nothing, answers 409 ambiguous_run and lists the matching runs', async () => {
    const res = await decide('0196f3a0', { decision: 'approve', approvalIds: a1.map((a) => a.id) });
    const body = assertError(res, 409, 'ambiguous_run');
    assert.match(body.error.message, /run id prefix "0196f3a0" is ambiguous: it matches 2 runs: /);
    assert.ok(body.error.message.includes(RUN_A1) && body.error.message.includes(RUN_A2), body.error.message);
    const details = body.error.details ?? [];
    assert.deepEqual(details.map((d) => d.subject?.['id']), [RUN_A1, RUN_A2]);
    assert.deepEqual(details.map((d) => d.code), ['matching_run', 'matching_run']);
    assert.equal(typeof details[0]!.subject?.['incidentId'], 'number');
    assert.deepEqual(await statusOf([...a1, ...a2].map((a) => a.id)), ['pending', 'pending', 'pending', 'pending']);
    assert.equal(await audit(), auditBefore, 'nothing written');
    // The same rule on the read routes.
    assertError(await get('/api/v1/runs/0196f3a0'), 409, 'ambiguous_run');
    assertError(await get('/api/v1/runs/0196f3a0/approvals'), 409, 'ambiguous_run');
  });

  it('lists at most 10 matches and says there are more', async () => {
    const many = Array.from({ length: 12 }, (_, i) => `0196f3b0-${String(i).padStart(4, '0')}-7000-8000-000000000000`);
    await api.incidentWithRuns(many);
    const body = assertError(await get('/api/v1/runs/0196f3b0'), 409, 'ambiguous_run');
    assert.equal(body.error.details!.length, 10);
    assert.match(body.error.message, /matches more than 10 runs, among them 0196f3b0-0000/);
  });

  it('refuses a prefix shorter than 8 characters and one that matches nothing with 404', async () => {
    const short = assertError(await decide('0196f3a', { decision: 'approve', approvalIds: [] }), 404, 'not_found');
    assert.match(short.error.message, /at least 8 characters/);
    const none = assertError(await decide('0196f3ff', { decision: 'approve', approvalIds: [] }), 404, 'not_found');
    assert.match(none.error.message, /no run id starts with "0196f3ff"/);
    assertError(await decide('0196f3a0%25', { decision: 'approve', approvalIds: [] }), 400, 'invalid_params');
    assert.equal(await audit(), auditBefore);
  });

  it('pending approvals not named: 409 confirmation_required listing them; nothing decided', async () => {
    const body = await unconfirmed('0196f3a1', []);
    assert.match(body.error.message, new RegExp(`run ${RUN_B} has 2 pending approvals; approvalIds must name exactly`));
    assert.match(body.error.message, /nothing was decided/);
    const details = body.error.details ?? [];
    assert.deepEqual(details.map((d) => d.subject?.['id']), b.map((a) => a.id), 'in step order');
    assert.deepEqual(details[0]!.subject, {
      id: b[0]!.id, runId: RUN_B, seq: 3, app: 'microsoft-intune', action: 'wipeDevice', kind: 'contain',
      asset: 'intune-lab', params: { deviceId: 'dev-b' }, paramsHash: b[0]!.paramsHash, requestedBy: 'system',
      expiresAt: b[0]!.expiresAt,
    });
    assert.match(details[1]!.message, /palo-alto-panos\.blockIp on asset "panos-lab" \(step 4\)/);
    assert.deepEqual(await statusOf(b.map((a) => a.id)), ['pending', 'pending']);
    assert.equal(await audit(), auditBefore, 'nothing written');
  });

  it('a partial or stale set of ids is refused and decides nothing', async () => {
    const partial = await unconfirmed(RUN_B, [b[0]!.id]);
    assert.match(partial.error.message, new RegExp(`not named: ${b[1]!.id}`));
    // One of another run's approvals in place of one of this run's: not pending in this run.
    const other = await unconfirmed(RUN_B, [b[0]!.id, a1[0]!.id]);
    assert.match(other.error.message, new RegExp(`not pending in this run: ${a1[0]!.id}`));
    // A new approval appeared after the caller looked: the old set no longer confirms.
    const late = await api.request(RUN_B, 9, wipe('dev-b-2'));
    const stale = await unconfirmed(RUN_B, b.map((a) => a.id));
    assert.match(stale.error.message, /has 3 pending approvals/);
    assert.deepEqual(await statusOf([...b, late].map((a) => a.id)), ['pending', 'pending', 'pending']);
    // Deny the late one on its own so the run is back to the two approvals the next tests use.
    const one = await api.h.app.inject({
      method: 'POST', url: `/api/v1/approvals/${late.id}/deny`, payload: '{}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.analyst}` },
    });
    assert.equal(one.statusCode, 200, one.body);
    await unconfirmed(RUN_B, [...b, late].map((a) => a.id));
    assert.deepEqual(await statusOf(b.map((a) => a.id)), ['pending', 'pending']);
  });

  it('refuses a bad body with 400 before looking at the run', async () => {
    assertError(await decide(RUN_B, { decision: 'maybe', approvalIds: [] }), 400, 'invalid_body');
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: [b[0]!.id, b[0]!.id] }), 400, 'invalid_body');
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: ['not-a-uuid'] }), 400, 'invalid_body');
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: [], extra: 1 }), 400, 'invalid_body');
    assert.deepEqual(await statusOf(b.map((a) => a.id)), ['pending', 'pending']);
  });

  it('viewer and ingest tokens and requests without a token are refused, and decide nothing', async () => {
    const ids = b.map((a) => a.id);
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: ids }, TOKENS.viewer), 403, 'forbidden');
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: ids }, TOKENS.ingest), 403, 'forbidden');
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: ids }, null), 401, 'unauthorized');
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: ids }, 'not-a-token'), 401, 'unauthorized');
    assert.deepEqual(await statusOf(ids), ['pending', 'pending']);
    assert.equal(await audit(), auditBefore);
    // Listing a run's approvals is a read: viewers may, ingest tokens and anonymous callers may not.
    assert.equal((await get(`/api/v1/runs/${RUN_B}/approvals`, TOKENS.viewer)).statusCode, 200);
    assertError(await get(`/api/v1/runs/${RUN_B}/approvals`, TOKENS.ingest), 403, 'forbidden');
    assertError(await get(`/api/v1/runs/${RUN_B}/approvals`, null), 401, 'unauthorized');
  });

  it('lists the pending approvals of a run named by a unique prefix, in step order', async () => {
    const res = await get('/api/v1/runs/0196f3a1/approvals?status=pending');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { run: { id: string }; approvals: ApprovalRecord[] };
    assert.equal(body.run.id, RUN_B);
    assert.deepEqual(body.approvals.map((a) => a.id), b.map((a) => a.id));
    assertError(await get('/api/v1/runs/0196f3a1/approvals?status=bogus'), 400, 'invalid_query');
    const run = await get('/api/v1/runs/0196f3a1');
    assert.equal(run.statusCode, 200, run.body);
    assert.equal((run.json() as { run: { id: string } }).run.id, RUN_B);
  });

  it('a unique prefix and the exact set of ids: each pending approval is decided by the approval service', async () => {
    const body0 = { decision: 'approve', approvalIds: [b[1]!.id, b[0]!.id], comment: 'repeat offender' };
    const res = await decide('0196f3a1', body0, TOKENS.analyst, { 'x-riposte-client': 'cli' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as DecideAnswer;
    assert.equal(body.run.id, RUN_B);
    assert.equal(body.decision, 'approve');
    assert.deepEqual(body.results.map((r) => [r.id, r.status, r.error]), b.map((a) => [a.id, 'approved', undefined]));
    for (const a of b) {
      const now = (await api.hitl.policy.getApproval(a.id))!;
      assert.equal(now.status, 'approved');
      assert.deepEqual(now.decisions.map((d) => [d.user, d.decision, d.via, d.comment]),
        [['analyst', 'approve', 'cli', 'repeat offender']]);
      assert.equal(api.hitl.approvals.integrityProblem(now), null, 'sealed like any decision');
    }
    const actions = (await api.h.store.listAudit({ limit: 50 })).map((e) => e.action);
    assert.equal(actions.filter((x) => x === 'approval.approve').length, 2);
    // Nothing is pending any more: a second call decides nothing.
    assertError(await decide(RUN_B, { decision: 'approve', approvalIds: b.map((a) => a.id) }), 409, 'nothing_pending');
    // The ambiguous runs were never touched.
    assert.deepEqual(await statusOf([...a1, ...a2].map((a) => a.id)), ['pending', 'pending', 'pending', 'pending']);
  });

  it('by full run id; each approval passes its own checks (four-eyes), the answer says which failed', async () => {
    const mine = await api.request(RUN_SOLO, 1, { ...wipe('dev-solo'), requestedBy: 'user:analyst' });
    const theirs = await api.request(RUN_SOLO, 2, block('10.0.0.9'));
    const res = await decide(RUN_SOLO, { decision: 'approve', approvalIds: [mine.id, theirs.id] });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as DecideAnswer;
    assert.equal(body.results[0]!.id, mine.id);
    assert.equal(body.results[0]!.status, 'pending');
    assert.equal(body.results[0]!.error?.code, 'four_eyes');
    const second = body.results[1]!;
    assert.deepEqual([second.id, second.status, second.error], [theirs.id, 'approved', undefined]);
    const deny = await decide(RUN_A1, { decision: 'deny', approvalIds: a1.map((a) => a.id) }, TOKENS.admin);
    assert.equal(deny.statusCode, 200, deny.body);
    assert.deepEqual((deny.json() as DecideAnswer).results.map((r) => r.status), ['denied', 'denied']);
    assert.deepEqual(await statusOf(a2.map((a) => a.id)), ['pending', 'pending'], 'the other run is untouched');
  });

  it('a run with nothing pending: 409 nothing_pending', async () => {
    const body = assertError(await decide(RUN_IDLE, { decision: 'approve', approvalIds: [] }), 409, 'nothing_pending');
    assert.match(body.error.message, /has no pending approvals; nothing was decided/);
  });
});
