/**
 * The four-eyes matrix: every way a run can start × every role as its cause and as the would-be
 * approver. Whoever caused a run (and, for a re-run, whoever caused the run it repeats; with the
 * default policy, whoever wrote or edited the incident before the run took its snapshot) is
 * refused with `four_eyes`; another eligible person is accepted and the destructive action is
 * sent once; viewer and ingest tokens are refused as not eligible. A prompt that gates containment
 * cannot be answered by the cause either. In process (Fastify inject, real engine, SQLite store).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { definePlaybook } from '../../src/sdk/index.js';
import adhocPlaybook from '../../src/engine/adhoc-playbook.js';
import type { IncidentView, PlaybookContext } from '../../src/sdk/playbook.js';
import type { ApprovalRecord, PromptRecord } from '../../src/store/policy-records.js';
import type { RunRecord } from '../../src/store/records.js';
import { DEFAULT_SPLUNK_MAPPING } from '../../src/ingest/mapping.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { makeStartsApi, PEOPLE, type Person, type StartsApi } from '../support/starts-api.js';
import { runIn, until } from '../support/wait.js';
import { assertError } from '../api/harness.js';

const exec = promisify(execFile);
type Role = 'admin' | 'analyst' | 'ingest' | 'viewer';
const ROLES: readonly Role[] = ['admin', 'analyst', 'ingest', 'viewer'];
/** The person of each role who causes runs in the matrix; `bob` (analyst) is the usual other approver. */
const CAUSE_OF: Record<Role, Person> = { admin: 'root', analyst: 'alice', ingest: 'feed', viewer: 'vera' };
/** People who may decide approvals at all (write roles, default approvers admin and analyst). */
const ELIGIBLE: readonly Person[] = ['bob', 'root', 'alice'];
const GENERIC_SOURCE = 'rps_fe_generic_source_0123456789';
const SPLUNK_SOURCE = 'rps_fe_splunk_source_0123456789';

const vendor = new TestVendor();
type Tv = { destroy(i: { target: string }): Promise<unknown> };
const tvOf = (ctx: PlaybookContext) => ctx.asset({ id: 'test-vendor' } as never, 'tv') as unknown as Tv;
const targetOf = (incident: IncidentView) => incident.artifacts[0]?.cef['deviceExternalId'] ?? 'none';
const pb = (id: string, labels: string[]) =>
  ({ id, version: 1, triggers: { labels }, roles: {}, automation: 'supervised' }) as const;

const contain = definePlaybook(pb('fe-contain', ['fe']), async (ctx, incident) =>
  tvOf(ctx).destroy({ target: targetOf(incident) }));
const conditioned = definePlaybook(pb('fe-cond', ['fe-cond']), async (ctx, incident) =>
  tvOf(ctx).destroy({ target: targetOf(incident) }));
const parent = definePlaybook(pb('fe-parent', ['fe-child']), async (ctx) => ctx.playbook('fe-contain'));
const gated = definePlaybook(pb('fe-prompt', ['fe-prompt']), async (ctx, incident) => {
  const r = await ctx.prompt({
    question: 'Wipe the device?', to: { role: 'analyst' }, timeoutMs: 3_600_000, type: 'yesno', default: false,
    gatesContainment: true,
  });
  return r.answer ? tvOf(ctx).destroy({ target: targetOf(incident) }) : 'spared';
});
const asked = definePlaybook(pb('fe-ask', ['fe-ask']), async (ctx) => {
  const r = await ctx.prompt({ question: 'Note?', to: { role: 'analyst' }, timeoutMs: 3_600_000, type: 'text', default: '' });
  return r.answer;
});

/** A run that waits on an approval, and who must be refused (four-eyes) when deciding it. */
interface Started {
  runId: string;
  cause: string;
  excluded: Person[];
  /** The one who approves in the end (default: the first eligible person not excluded). */
  approver?: Person;
}

describe('four-eyes matrix: every way a run starts × every role', () => {
  let api: StartsApi;
  let clock = Date.now();
  let n = 0;
  const call = (...a: Parameters<StartsApi['call']>) => api.call(...a);
  const alert = (label: string, extra: Record<string, unknown> = {}) => ({
    name: `matrix ${++n}`, label, severity: 'high', sourceId: `m-${n}`,
    artifacts: [{ name: 'a', cef: { deviceExternalId: `dev-${n}`, sourceUserName: 'jdoe' } }], ...extra,
  });
  /** Posts an incident on the generic route as `who`; returns its runs (or the refusal). */
  const ingestAs = async (who: Person, label: string) => call('POST', '/api/v1/incidents', who, alert(label));
  const firstRun = async (res: Awaited<ReturnType<StartsApi['call']>>): Promise<string> => {
    assert.equal(res.statusCode, 201, res.body);
    const runs = (res.json() as { runs: string[] }).runs;
    assert.equal(runs.length, 1, res.body);
    return runs[0]!;
  };
  const pendingOf = (runId: string): Promise<ApprovalRecord> =>
    until(`a pending approval of ${runId}`, async () =>
      (await api.h.hitl!.policy.listApprovals({ runId, status: 'pending' }))[0]);
  const approve = (who: Person, id: string) => call('POST', `/api/v1/approvals/${id}/approve`, who, {});
  const runView = async (runId: string): Promise<RunRecord> =>
    ((await call('GET', `/api/v1/runs/${runId}`, 'vera')).json() as { run: RunRecord }).run;

  /** The whole check of one started run: refusals, the cause shown, one accepted approval, one action sent. */
  async function separated(s: Started): Promise<void> {
    const approval = await pendingOf(s.runId);
    assert.equal(approval.requestedBy, s.cause);
    assert.equal((await runView(s.runId)).requestedBy, s.cause, 'the API shows the cause');
    for (const p of s.excluded) {
      if (ELIGIBLE.includes(p)) assertError(await approve(p, approval.id), 403, 'four_eyes');
    }
    assertError(await approve('vera', approval.id), 403, 'forbidden');
    assertError(await approve('feed', approval.id), 403, 'forbidden');
    const other = s.approver ?? ELIGIBLE.find((p) => !s.excluded.includes(p))!;
    const sent = vendor.count('destroy');
    const ok = await approve(other, approval.id);
    assert.equal(ok.statusCode, 200, ok.body);
    await runIn(api.h.store, s.runId, ['completed']);
    assert.equal(vendor.count('destroy'), sent + 1, 'the destructive action was sent once');
  }

  before(async () => {
    api = await makeStartsApi({
      apps: [makeTestApp(vendor)], playbooks: [contain, conditioned, parent, gated, asked, adhocPlaybook],
      scheduler: { now: () => clock, timers: { set: () => 0, clear: () => {} } as never },
    });
    await putTvAsset(api.h.store);
    await api.h.store.putSource({ name: 'fe-generic', kind: 'generic', mapping: null, token: GENERIC_SOURCE }, 'test');
    await api.h.store.putSource({
      name: 'fe-splunk', kind: 'splunk-webhook', token: SPLUNK_SOURCE,
      mapping: { ...DEFAULT_SPLUNK_MAPPING, label: { fromSearchName: { 'FE search': 'fe' } } },
    }, 'test');
  });
  after(() => api.close());

  for (const role of ROLES) {
    const who = CAUSE_OF[role];
    const mayWrite = role === 'admin' || role === 'analyst';

    it(`generic ingest with an API token, cause ${role}`, async () => {
      const res = await ingestAs(who, 'fe');
      if (role === 'viewer') return void assertError(res, 403, 'forbidden');
      await separated({ runId: await firstRun(res), cause: `user:${who}`, excluded: [who] });
    });

    it(`ad-hoc action, cause ${role}`, async () => {
      const incidentId = (await api.h.store.listIncidents({ limit: 1 }))[0]!.id;
      const res = await call('POST', '/api/v1/actions', who, {
        incidentId, asset: 'tv', action: 'destroy', params: { target: `adhoc-${role}` },
      });
      if (!mayWrite) return void assertError(res, 403, 'forbidden');
      assert.equal(res.statusCode, 202, res.body);
      await separated({ runId: (res.json() as { run: RunRecord }).run.id, cause: `user:${who}`, excluded: [who] });
    });

    it(`manual start, cause ${role}`, async () => {
      const incidentId = (await api.h.store.ingest(
        { name: 'by hand', label: 'none', severity: 'high', source: 'test', artifacts: [] }, [], 'test')).incident.id;
      const res = await call('POST', '/api/v1/runs', who, { playbookId: 'fe-contain', incidentId });
      if (!mayWrite) return void assertError(res, 403, 'forbidden');
      assert.equal(res.statusCode, 202, res.body);
      await separated({ runId: (res.json() as { run: RunRecord }).run.id, cause: `user:${who}`, excluded: [who] });
    });

    it(`re-run by bob of a run caused by ${role}: both are excluded`, async () => {
      if (role === 'viewer') return;
      // The original: caused by `who`, denied by them (denying one's own is allowed), so it failed.
      const original = await firstRun(await ingestAs(who, 'fe'));
      const first = await pendingOf(original);
      const denier: Person = mayWrite ? who : 'bob';
      assert.equal((await call('POST', `/api/v1/approvals/${first.id}/deny`, denier, {})).statusCode, 200);
      await runIn(api.h.store, original, ['failed']);
      for (const p of ['vera', 'feed'] as const) assertError(await call('POST', `/api/v1/runs/${original}/rerun`, p), 403, 'forbidden');
      const res = await call('POST', `/api/v1/runs/${original}/rerun`, 'bob');
      assert.equal(res.statusCode, 202, res.body);
      const again = (res.json() as { run: RunRecord }).run;
      assert.deepEqual(again.alsoCausedBy, [`user:${who}`], 'the original cause is recorded on the re-run');
      assert.deepEqual((await runView(again.id)).alsoCausedBy, [`user:${who}`]);
      await separated({ runId: again.id, cause: 'user:bob', excluded: ['bob', who] });
    });

    it(`child playbook, parent caused by ${role}`, async () => {
      const res = await ingestAs(who, 'fe-child');
      if (role === 'viewer') return void assertError(res, 403, 'forbidden');
      const parentId = await firstRun(res);
      const child = await until('the child run', async () => (await api.h.store.listChildRuns(parentId))[0]);
      await separated({ runId: child.id, cause: `user:${who}`, excluded: [who] });
      await runIn(api.h.store, parentId, ['completed']);
    });

    it(`a prompt that gates containment, run caused by ${role}`, async () => {
      const res = await ingestAs(who, 'fe-prompt');
      if (role === 'viewer') return void assertError(res, 403, 'forbidden');
      const runId = await firstRun(res);
      const prompt = await until('the prompt', async () =>
        (await api.h.hitl!.policy.listPrompts({ status: 'pending' })).find((p: PromptRecord) => p.runId === runId));
      assert.equal(prompt.gatesContainment, true);
      const answer = (p: Person) => call('POST', `/api/v1/prompts/${prompt.id}/answer`, p, { answer: 'yes' });
      if (mayWrite) assertError(await answer(who), 403, 'four_eyes');
      if (role === 'analyst') {
        // Nor through the CLI (which goes through the API).
        const url = await api.app.listen({ port: 0, host: '127.0.0.1' });
        const cli = await exec(process.execPath,
          ['bin/riposte.js', 'prompts', 'answer', prompt.id, 'yes', '--url', url, '--token', PEOPLE.alice.token],
          { env: { ...process.env, RIPOSTE_DATA_DIR: api.h.dir } }).then(() => null, (err: { stderr: string }) => err);
        assert.ok(cli, 'the CLI refused');
        assert.match(cli.stderr, /caused this run and cannot answer prompt .*four-eyes/);
      }
      for (const p of ['vera', 'feed'] as const) assertError(await answer(p), 403, 'forbidden');
      assert.equal((await answer('bob')).statusCode, 200);
      await separated({ runId, cause: `user:${who}`, excluded: [who] });
    });

    it(`operator trigger condition set by root, alert by ${role}: the alert's sender is the cause`, async () => {
      if (role === 'viewer') return;
      const set = await call('PUT', '/api/v1/playbooks/fe-cond/trigger', 'root', { when: 'severity >= "high"' });
      assert.equal(set.statusCode, 200, set.body);
      const runId = await firstRun(await ingestAs(who, 'fe-cond'));
      // The trigger's author configured which alerts start runs, not this one: root may approve.
      await separated({ runId, cause: `user:${who}`, excluded: [who], ...(who === 'root' ? {} : { approver: 'root' }) });
    });
  }

  it('generic ingest with a source token: the source is the cause, any eligible person approves', async () => {
    const res = await api.app.inject({
      method: 'POST', url: '/api/v1/incidents', payload: alert('fe'),
      headers: { authorization: `Bearer ${GENERIC_SOURCE}`, 'content-type': 'application/json' },
    });
    await separated({ runId: await firstRun(res), cause: 'source:fe-generic', excluded: [], approver: 'alice' });
  });

  it('Splunk webhook: the source is the cause, any eligible person approves', async () => {
    const res = await api.app.inject({
      method: 'POST', url: `/api/v1/ingest/splunk?token=${SPLUNK_SOURCE}`,
      headers: { 'content-type': 'application/json' },
      payload: { sid: 'fe-sid-1', search_name: 'FE search', app: 'search', owner: 'admin', results_link: '',
        result: { dest_ip: '203.0.113.9', device_id: 'dev-splunk', severity: 'high' } },
    });
    await separated({ runId: await firstRun(res), cause: 'source:fe-splunk', excluded: [], approver: 'root' });
  });

  it('schedule: only admins create one; its runs are caused by that admin', async () => {
    const body = { playbookId: 'fe-contain', cron: '* * * * *' };
    for (const p of ['alice', 'vera', 'feed'] as const) assertError(await call('POST', '/api/v1/schedules', p, body), 403, 'forbidden');
    const made = await call('POST', '/api/v1/schedules', 'root', body);
    assert.equal(made.statusCode, 201, made.body);
    clock += 60_000;
    await api.scheduler.tick();
    const run = await until('the scheduled run', async () =>
      (await api.h.store.listRuns({ playbookId: 'fe-contain', limit: 50 })).find((r) => r.args === null && r.requestedBy === 'user:root' && r.status === 'waiting'));
    await separated({ runId: run.id, cause: 'user:root', excluded: ['root'] });
  });

  it('dedupe: a repeated alert starts no run; the same sourceId from another token is its own incident', async () => {
    const body = alert('fe');
    const first = await call('POST', '/api/v1/incidents', 'alice', body);
    const runId = await firstRun(first);
    const repeat = await call('POST', '/api/v1/incidents', 'alice', body);
    assert.equal(repeat.statusCode, 200, repeat.body);
    assert.equal((repeat.json() as { created: boolean }).created, false);
    assert.equal('runs' in (repeat.json() as object), false, 'a repeat starts no run');
    const other = await call('POST', '/api/v1/incidents', 'bob', body);
    const bobsRun = await firstRun(other);
    assert.notEqual((other.json() as { incidentId: number }).incidentId, (first.json() as { incidentId: number }).incidentId);
    await separated({ runId, cause: 'user:alice', excluded: ['alice'] });
    await separated({ runId: bobsRun, cause: 'user:bob', excluded: ['bob'] });
  });

  it('a prompt without the marker may be answered by the cause (the marker is what gates)', async () => {
    const runId = await firstRun(await ingestAs('alice', 'fe-ask'));
    const prompt = await until('the prompt', async () =>
      (await api.h.hitl!.policy.listPrompts({ status: 'pending' })).find((p: PromptRecord) => p.runId === runId));
    assert.equal(prompt.gatesContainment, false);
    assert.equal((await call('POST', `/api/v1/prompts/${prompt.id}/answer`, 'alice', { answer: 'ok' })).statusCode, 200);
    await runIn(api.h.store, runId, ['completed']);
  });

  describe('whoever wrote or edited the incident before the run took its snapshot', () => {
    /** An incident alice submits (no playbook triggers on it) and bob edits through PATCH. */
    const editedIncident = async (): Promise<number> => {
      const res = await ingestAs('alice', 'fe-none');
      assert.equal(res.statusCode, 201, res.body);
      const id = (res.json() as { incidentId: number }).incidentId;
      const patched = await call('PATCH', `/api/v1/incidents/${id}`, 'bob', { severity: 'critical' });
      assert.equal(patched.statusCode, 200, patched.body);
      return id;
    };
    const startAs = async (who: Person, incidentId: number) => {
      const res = await call('POST', '/api/v1/runs', who, { playbookId: 'fe-contain', incidentId });
      assert.equal(res.statusCode, 202, res.body);
      return (res.json() as { run: RunRecord }).run.id;
    };
    const fourEyes = (who: Person | null, body: unknown) => call('PUT', '/api/v1/policy/four-eyes', who, body);

    it('by default cannot approve: the author (alice) and the editor (bob) are refused', async () => {
      const policy = await call('GET', '/api/v1/policy/four-eyes', 'vera');
      assert.equal(policy.statusCode, 200, policy.body);
      assert.deepEqual((policy.json() as { fourEyes: unknown }).fourEyes, { incidentEditors: true });
      const runId = await startAs('root', await editedIncident());
      const approval = await pendingOf(runId);
      assert.deepEqual(approval.excluded.map((e) => e.principal).sort(), ['user:alice', 'user:bob']);
      // root caused it, alice wrote and bob edited the incident: nobody of the three may approve.
      await separated({ runId, cause: 'user:root', excluded: ['root', 'alice', 'bob'], approver: 'carol' });
    });

    it('an edit after the run took its snapshot does not exclude (the run never saw it)', async () => {
      const incidentId = (await api.h.store.ingest(
        { name: 'quiet', label: 'none', severity: 'high', source: 'test', artifacts: [] }, [], 'test')).incident.id;
      const runId = await startAs('root', incidentId);
      await pendingOf(runId);
      assert.equal((await call('PATCH', `/api/v1/incidents/${incidentId}`, 'bob', { severity: 'low' })).statusCode, 200);
      await separated({ runId, cause: 'user:root', excluded: ['root'], approver: 'bob' });
    });

    it('only an admin turns it off; then the editor may approve, the cause still may not', async () => {
      for (const p of ['alice', 'vera', 'feed'] as const) assertError(await fourEyes(p, { incidentEditors: false }), 403, 'forbidden');
      assertError(await fourEyes(null, { incidentEditors: false }), 401, 'unauthorized');
      assertError(await call('GET', '/api/v1/policy/four-eyes', 'feed'), 403, 'forbidden');
      assertError(await call('GET', '/api/v1/policy/four-eyes', null), 401, 'unauthorized');
      assertError(await fourEyes('root', { incidentEditors: 'no' }), 400, 'invalid_body');
      assert.equal((await fourEyes('root', { incidentEditors: false })).statusCode, 200);
      const runId = await startAs('root', await editedIncident());
      assert.deepEqual((await pendingOf(runId)).excluded, []);
      await separated({ runId, cause: 'user:root', excluded: ['root'], approver: 'bob' });
      assert.equal((await fourEyes('root', { incidentEditors: true })).statusCode, 200);
    });
  });
});
