/**
 * Schedules over HTTP: admins create and remove, read roles list, others are refused; a bad cron
 * expression, time zone, playbook or args is a 4xx naming the problem, and nothing is stored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import type { ScheduleRecord } from '../../src/store/schedule-records.js';
import { makeStartsApi, type StartsApi } from '../support/starts-api.js';
import { assertError } from './harness.js';

type View = ScheduleRecord & { nextFireAt: string | null };
const report = definePlaybook(
  { id: 'report', version: 1, triggers: { labels: [] }, roles: {}, automation: 'autonomous' },
  async () => null,
);

describe('schedules API', () => {
  let api: StartsApi;
  before(async () => {
    api = await makeStartsApi({ apps: [], playbooks: [report] });
  });
  after(() => api.close());
  const create = (who: Parameters<StartsApi['call']>[2], body: unknown) =>
    api.call('POST', '/api/v1/schedules', who, body);

  it('refuses to create or remove unless admin, and to list without a read role; nothing is written', async () => {
    const before = await api.audit();
    const body = { playbookId: 'report', cron: '0 * * * *' };
    for (const who of ['alice', 'vera', 'feed'] as const) assertError(await create(who, body), 403, 'forbidden');
    assertError(await create(null, body), 401, 'unauthorized');
    assertError(await api.call('GET', '/api/v1/schedules', 'feed'), 403, 'forbidden');
    assertError(await api.call('GET', '/api/v1/schedules', null), 401, 'unauthorized');
    const made = ((await create('root', body)).json() as { schedule: View }).schedule;
    const afterCreate = await api.audit();
    for (const who of ['alice', 'vera', 'feed'] as const) {
      assertError(await api.call('DELETE', `/api/v1/schedules/${made.id}`, who), 403, 'forbidden');
    }
    assert.equal(await api.audit(), afterCreate);
    assert.equal(afterCreate, before + 1);
    assert.equal((await api.h.store.listSchedules()).length, 1);
    assert.equal((await api.call('DELETE', `/api/v1/schedules/${made.id}`, 'root')).statusCode, 200);
  });

  it('names what is wrong with a cron expression, time zone, playbook or args, and stores nothing', async () => {
    const before = await api.audit();
    const cases: Array<[unknown, number, string, RegExp]> = [
      [{ playbookId: 'report', cron: '0 * * *' }, 400, 'invalid_cron', /"0 \* \* \*" has 4 fields; it needs five/],
      [{ playbookId: 'report', cron: '0 25 * * *' }, 400, 'invalid_cron', /"0 25 \* \* \*" is not valid: .*25.*0-23/],
      [
        { playbookId: 'report', cron: '0 * * * *', timezone: 'Nowhere/Else' },
        400,
        'invalid_cron',
        /time zone "Nowhere\/Else" is not known/,
      ],
      [{ playbookId: 'nope', cron: '0 * * * *' }, 404, 'unknown_playbook', /playbook nope is not installed/],
      [{ playbookId: 'report', cron: '0 * * * *', args: 'x' }, 400, 'invalid_body', /args/],
      [
        { playbookId: 'report', cron: '0 * * * *', args: { big: 'y'.repeat(17_000) } },
        400,
        'invalid_args',
        /at most 16384/,
      ],
      [{ playbookId: 'report' }, 400, 'invalid_body', /cron: required/],
    ];
    for (const [body, status, code, message] of cases) {
      assert.match(assertError(await create('root', body), status, code).error.message, message);
    }
    assert.deepEqual(await api.h.store.listSchedules(), []);
    assert.equal(await api.audit(), before);
    assertError(await api.call('DELETE', '/api/v1/schedules/999', 'root'), 404, 'not_found');
    assertError(await api.call('GET', '/api/v1/schedules/abc', 'vera'), 400, 'invalid_params');
  });

  it('creates as the admin (the cause of its runs), lists with the next fire, removes with an audit entry', async () => {
    const res = await create('root', {
      playbookId: 'report',
      cron: '30 9 * * MON-FRI',
      timezone: 'Europe/Paris',
      args: { scope: 'all' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const made = (res.json() as { schedule: View }).schedule;
    assert.equal(made.createdBy, 'user:root');
    assert.deepEqual(made.args, { scope: 'all' });
    assert.equal(made.lastFireAt, null);
    assert.ok(made.nextFireAt !== null && Date.parse(made.nextFireAt) > Date.now());
    const listed = ((await api.call('GET', '/api/v1/schedules', 'vera')).json() as { schedules: View[] }).schedules;
    assert.deepEqual(
      listed.map((s) => [s.id, s.cron, s.timezone, s.nextFireAt]),
      [[made.id, '30 9 * * MON-FRI', 'Europe/Paris', made.nextFireAt]],
    );
    assert.equal(
      ((await api.call('GET', `/api/v1/schedules/${made.id}`, 'alice')).json() as { schedule: View }).schedule.id,
      made.id,
    );
    const removed = await api.call('DELETE', `/api/v1/schedules/${made.id}`, 'root');
    assert.equal(removed.statusCode, 200);
    const audit = (await api.h.store.listAudit({ limit: 1000 })).filter((e) => e.target === `schedule:${made.id}`);
    assert.deepEqual(
      audit.map((e) => [e.action, e.actor]),
      [
        ['schedule.create', 'user:root'],
        ['schedule.remove', 'user:root'],
      ],
    );
    assert.deepEqual(await api.h.store.listSchedules(), []);
  });
});
