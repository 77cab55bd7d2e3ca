/**
 * Manual starts and re-runs over HTTP, through a real engine, store and approval layer: who may
 * start, what a refusal says (and that it writes nothing), the run's input snapshot and cause, and
 * four-eyes for the person who started it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import type { RunRecord } from '../../src/store/records.js';
import type { ApprovalRecord } from '../../src/store/policy-records.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { putTvAsset } from '../support/tv-asset.js';
import { makeStartsApi, type Person, type StartsApi } from '../support/starts-api.js';
import { runIn, until } from '../support/wait.js';
import { assertError } from './harness.js';

const vendor = new TestVendor();
/** A parked run is settled too; these wait for the end. */
const FINISHED = ['completed', 'failed', 'needs_attention'];
interface Args {
  target?: string;
  fail?: boolean;
  n?: number;
}
const echo = definePlaybook(
  { id: 'echo-pb', version: 1, triggers: { labels: [] }, roles: {}, automation: 'autonomous' },
  async (_ctx, incident, args) => {
    if ((args as Args | undefined)?.fail) throw new Error('asked to fail');
    return { severity: incident.severity, args: args ?? null };
  },
);
const contain = definePlaybook(
  { id: 'contain-pb', version: 1, triggers: { labels: [] }, roles: {}, automation: 'supervised' },
  async (ctx, _incident, args) => {
    const tv = ctx.asset({ id: 'test-vendor' } as never, 'tv') as unknown as {
      destroy(i: { target: string }): Promise<unknown>;
    };
    return tv.destroy({ target: (args as Args | undefined)?.target ?? 'A' });
  },
);

describe('manual start and re-run', () => {
  let api: StartsApi;
  let incidentId = 0;
  const newIncident = async (severity: 'low' | 'high' = 'high') =>
    (
      await api.h.store.ingest(
        {
          name: 'by hand',
          label: 'manual',
          severity,
          source: 'test',
          artifacts: [{ name: 'a', cef: { suser: 'jdoe' } }],
        },
        [],
        'test',
      )
    ).incident.id;
  const start = (who: Person | null, body: unknown) => api.call('POST', '/api/v1/runs', who, body);
  const rerun = (who: Person | null, ref: string, body?: unknown) =>
    api.call('POST', `/api/v1/runs/${ref}/rerun`, who, body);
  const pendingOf = async (runId: string): Promise<ApprovalRecord> =>
    until('a pending approval', async () => (await api.h.hitl!.policy.listApprovals({ runId, status: 'pending' }))[0]);
  const decide = (who: Person, id: string) => api.call('POST', `/api/v1/approvals/${id}/approve`, who, {});

  before(async () => {
    api = await makeStartsApi({ apps: [makeTestApp(vendor)], playbooks: [echo, contain] });
    await putTvAsset(api.h.store);
    incidentId = await newIncident();
  });
  after(() => api.close());

  it('refuses viewers, ingest tokens and callers without a token, and writes nothing', async () => {
    const before = await api.audit();
    assertError(await start('vera', { playbookId: 'echo-pb', incidentId }), 403, 'forbidden');
    assertError(await start('feed', { playbookId: 'echo-pb', incidentId }), 403, 'forbidden');
    assertError(await start(null, { playbookId: 'echo-pb', incidentId }), 401, 'unauthorized');
    assert.deepEqual(await api.h.store.listRuns({ incidentId }), []);
    assert.equal(await api.audit(), before);
  });

  it('refuses an unknown, disabled or ad-hoc playbook, an unknown incident and bad args, naming the problem', async () => {
    const refusals: Array<[unknown, number, string, RegExp]> = [
      [{ playbookId: 'nope', incidentId }, 404, 'unknown_playbook', /playbook nope is not installed/],
      [{ playbookId: 'adhoc-action', incidentId }, 400, 'not_startable', /POST \/api\/v1\/actions/],
      [{ playbookId: 'echo-pb', incidentId: 99_999 }, 404, 'unknown_incident', /incident 99999 does not exist/],
      [{ playbookId: 'echo-pb', incidentId, args: [1, 2] }, 400, 'invalid_body', /args/],
      [
        { playbookId: 'echo-pb', incidentId, args: { blob: 'x'.repeat(20_000) } },
        400,
        'invalid_args',
        /at most 16384 are accepted/,
      ],
      [{ playbookId: 'echo-pb', incidentId: '1' }, 400, 'invalid_body', /incidentId/],
      [{ playbookId: 'echo-pb', incidentId, extra: true }, 400, 'invalid_body', /extra: unknown field/],
    ];
    const before = await api.audit();
    for (const [body, status, code, message] of refusals) {
      assert.match(assertError(await start('alice', body), status, code).error.message, message);
    }
    await api.h.store.putPlaybookSettings(
      { playbookId: 'echo-pb', enabled: false, automation: null, bindings: {} },
      'test',
    );
    const disabledAt = await api.audit();
    assert.match(
      assertError(await start('alice', { playbookId: 'echo-pb', incidentId }), 409, 'playbook_disabled').error.message,
      /playbook echo-pb is disabled/,
    );
    assert.equal(await api.audit(), disabledAt);
    await api.h.store.putPlaybookSettings(
      { playbookId: 'echo-pb', enabled: true, automation: null, bindings: {} },
      'test',
    );
    assert.deepEqual(await api.h.store.listRuns({ incidentId }), []);
    assert.equal(before + 2, await api.audit(), 'only the two settings changes were audited');
  });

  it('starts on a snapshot of the incident as it is now, caused by the caller, and answers 202', async () => {
    await api.h.store.updateIncident(incidentId, { severity: 'critical' }, 'test');
    const res = await start('alice', { playbookId: 'echo-pb', incidentId, args: { n: 1 } });
    assert.equal(res.statusCode, 202, res.body);
    const { run } = res.json() as { run: RunRecord };
    assert.equal(run.requestedBy, 'user:alice');
    assert.deepEqual(run.args, { n: 1 });
    assert.equal((run.input as { severity: string }).severity, 'critical');
    const done = await runIn(api.h.store, run.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { severity: 'critical', args: { n: 1 } });
    const entry = (await api.h.store.listAudit({ limit: 1000 })).find((e) => e.target === `run:${run.id}`);
    assert.equal(entry?.action, 'run.create');
    assert.equal(entry?.actor, 'user:alice');
  });

  it('four-eyes: whoever started a run never approves its destructive action; another analyst can', async () => {
    const res = await start('alice', { playbookId: 'contain-pb', incidentId, args: { target: 'phone-1' } });
    assert.equal(res.statusCode, 202, res.body);
    const runId = (res.json() as { run: RunRecord }).run.id;
    const approval = await pendingOf(runId);
    assert.equal(approval.requestedBy, 'user:alice');
    assertError(await decide('alice', approval.id), 403, 'four_eyes');
    assert.equal(vendor.count('destroy'), 0);
    assert.equal((await decide('bob', approval.id)).statusCode, 200);
    assert.equal((await runIn(api.h.store, runId, FINISHED)).status, 'completed');
    assert.equal(vendor.count('destroy'), 1);

    // Its re-run is caused by whoever asked for it and by whoever caused the original: neither bob
    // nor alice may approve it; carol may.
    const again = await rerun('bob', runId);
    assert.equal(again.statusCode, 202, again.body);
    const second = (again.json() as { run: RunRecord }).run;
    assert.equal(second.requestedBy, 'user:bob');
    assert.deepEqual(second.alsoCausedBy, ['user:alice']);
    const approval2 = await pendingOf(second.id);
    assert.deepEqual(approval2.params, { target: 'phone-1' }, 'the re-run has the original args');
    assertError(await decide('bob', approval2.id), 403, 'four_eyes');
    const original = assertError(await decide('alice', approval2.id), 403, 'four_eyes');
    assert.match(original.error.message, /alice caused the run this one repeats/);
    assert.equal((await decide('carol', approval2.id)).statusCode, 200);
    assert.equal((await runIn(api.h.store, second.id, FINISHED)).status, 'completed');
    assert.equal(vendor.count('destroy'), 2);
  });

  it('refuses to re-run a run that is still waiting (409, saying why) and writes nothing', async () => {
    const res = await start('alice', { playbookId: 'contain-pb', incidentId, args: { target: 'phone-2' } });
    const runId = (res.json() as { run: RunRecord }).run.id;
    await runIn(api.h.store, runId, ['waiting']);
    const before = await api.audit();
    const body = assertError(await rerun('bob', runId), 409, 'run_not_finished');
    assert.match(
      body.error.message,
      new RegExp(`run ${runId} is waiting: .*only a completed, failed or cancelled run can be re-run`),
    );
    assert.deepEqual(await api.h.store.listRuns({ rerunOf: runId }), []);
    assert.equal(await api.audit(), before);
    assertError(await rerun('bob', 'ffffffff-0000-7000-8000-000000000000'), 404, 'not_found');
  });

  it('re-runs a finished or failed run on its original input and args, linked both ways, as often as asked', async () => {
    const inc = await newIncident('high');
    const first = (await start('alice', { playbookId: 'echo-pb', incidentId: inc, args: { n: 7 } }).then((r) =>
      r.json(),
    )) as { run: RunRecord };
    assert.equal((await runIn(api.h.store, first.run.id)).status, 'completed');
    await api.h.store.updateIncident(inc, { severity: 'low' }, 'test');

    for (const who of ['vera', 'feed', null] as const) {
      assertError(
        await rerun(who, first.run.id),
        who === null ? 401 : 403,
        who === null ? 'unauthorized' : 'forbidden',
      );
    }
    const res = await rerun('bob', first.run.id);
    assert.equal(res.statusCode, 202, res.body);
    const again = (res.json() as { run: RunRecord }).run;
    assert.equal(again.rerunOf, first.run.id);
    assert.equal(again.incidentId, inc);
    assert.equal(again.requestedBy, 'user:bob');
    assert.deepEqual(again.args, { n: 7 });
    assert.deepEqual(again.input, first.run.input, 'the original snapshot, not the incident as it is now');
    assert.deepEqual((await runIn(api.h.store, again.id)).output, { severity: 'high', args: { n: 7 } });
    const audit = (await api.h.store.listAudit({ limit: 1000 })).find((e) => e.target === `run:${again.id}`);
    assert.deepEqual([audit?.action, audit?.actor], ['run.rerun', 'user:bob']);

    const third = ((await rerun('alice', first.run.id)).json() as { run: RunRecord }).run;
    const shown = (await api.call('GET', `/api/v1/runs/${first.run.id}`, 'vera')).json() as {
      reruns: Array<{ id: string }>;
    };
    assert.deepEqual(shown.reruns.map((r) => r.id).sort(), [again.id, third.id].sort());
    const newer = (await api.call('GET', `/api/v1/runs/${again.id}`, 'vera')).json() as { run: RunRecord };
    assert.equal(newer.run.rerunOf, first.run.id);

    const failing = (await start('alice', {
      playbookId: 'echo-pb',
      incidentId: inc,
      args: { fail: true },
      dryRun: true,
    }).then((r) => r.json())) as { run: RunRecord };
    assert.equal((await runIn(api.h.store, failing.run.id)).status, 'failed');
    const retried = ((await rerun('alice', failing.run.id)).json() as { run: RunRecord }).run;
    assert.equal(retried.dryRun, true, 'a re-run of a dry run is a dry run');
    const live = ((await rerun('alice', failing.run.id, { dryRun: false })).json() as { run: RunRecord }).run;
    assert.equal(live.dryRun, false, 'unless asked otherwise');
  });
});
