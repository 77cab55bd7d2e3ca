/**
 * Scheduled playbooks with an injected clock and timer, over a real store and engine: one timer for
 * the next tick; each tick fires once, as the schedule's creator; a tick missed while the server
 * was down fires once at start-up; a crash after the fire committed never starts a second run; a
 * fire the store refused is retried; a disabled playbook's tick is skipped and audited.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook } from '../../src/sdk/index.js';
import { RETRY_MS, Scheduler, type SchedulerOptions } from '../../src/ingest/scheduler.js';
import type { ScheduleFireResult, ScheduleRecord } from '../../src/store/schedule-records.js';
import type { Store } from '../../src/store/store.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { runIn } from '../support/wait.js';

const MINUTE = 60_000;
const report = definePlaybook(
  { id: 'report', version: 1, triggers: { labels: [] }, roles: {}, automation: 'autonomous' },
  async (_ctx, incident, args) => ({ source: incident.label, args: args ?? null }),
);

describe('scheduler', () => {
  let h: Harness;
  let clock = 0;
  let armed: number[] = [];
  let fires: Array<{ fireAt: string; result: ScheduleFireResult }> = [];
  let errors: unknown[] = [];
  let schedule: ScheduleRecord;
  const opts: SchedulerOptions = {
    now: () => clock,
    timers: { set: (_fn, ms) => armed.push(ms), clear: () => {} },
    onFire: (_s, fireAt, result) => fires.push({ fireAt, result }),
    onError: (err) => errors.push(err),
  };
  const scheduler = (store: Store = h.store) => new Scheduler(store, h.registry, { wake: () => h.engine.wake() }, opts);
  const incidents = async () =>
    (await h.store.listIncidents({ limit: 500 })).filter((i) => i.source === `schedule:${schedule.id}`);
  const runs = () => h.store.listRuns({ playbookId: 'report' });
  const nextTick = (t: number) => Math.floor(t / MINUTE) * MINUTE + MINUTE;
  const reset = () => {
    armed = [];
    fires = [];
    errors = [];
  };

  before(async () => {
    h = await makeHarness({ apps: [], playbooks: [report] });
  });
  after(() => h.close());

  it('arms one timer for the next tick, fires it once as the creator, and re-arms', async () => {
    const s = scheduler();
    schedule = await s.create(
      { playbookId: 'report', cron: '* * * * *', args: { scope: 'all' } },
      'user:root',
      'user:root',
    );
    clock = Date.parse(schedule.createdAt);
    reset();
    await s.start();
    assert.equal(fires.length, 0, 'a tick before the schedule existed does not fire');
    assert.deepEqual(armed, [nextTick(clock) - clock]);

    clock = nextTick(clock);
    await s.tick();
    const tick = new Date(clock).toISOString();
    assert.equal(fires.length, 1);
    assert.equal(fires[0]!.fireAt, tick);
    const [incident] = await incidents();
    assert.equal(incident?.sourceId, tick);
    assert.equal(incident?.label, 'scheduled');
    const [run] = await runs();
    assert.equal(run?.requestedBy, 'user:root');
    assert.deepEqual(run?.args, { scope: 'all' });
    assert.equal(run?.incidentId, incident?.id);
    assert.deepEqual((await runIn(h.store, run!.id)).output, { source: 'scheduled', args: { scope: 'all' } });
    assert.equal((await h.store.getSchedule(schedule.id))?.lastFireAt, tick);
    assert.equal(armed.at(-1), MINUTE, 're-armed for the following tick');

    await s.tick();
    clock += 30_000;
    await s.tick();
    assert.equal(fires.length, 1, 'the same tick never fires twice');
    assert.equal((await runs()).length, 1);
    await s.stop();
  });

  it('a tick missed while the server was down fires once at start-up, not once per missed tick', async () => {
    reset();
    const last = (await h.store.getSchedule(schedule.id))!.lastFireAt!;
    clock += 10 * MINUTE + 30_000;
    const restarted = scheduler();
    await restarted.start();
    const latest = new Date(Math.floor(clock / MINUTE) * MINUTE).toISOString();
    assert.deepEqual(
      fires.map((f) => f.fireAt),
      [latest],
    );
    assert.equal((await runs()).length, 2);
    const late = (await incidents()).find((i) => i.sourceId === latest);
    const missedFrom = new Date(Date.parse(last) + MINUTE).toISOString();
    assert.equal(
      late?.description,
      `Schedule ${schedule.id} (cron "* * * * *", UTC) fired for its tick of ${latest}. The ticks from ` +
        `${missedFrom} on were missed while the server was not running: this one fire stands for them.`,
    );
    await restarted.stop();

    reset();
    const again = scheduler();
    await again.start();
    assert.equal(fires.length, 0, 'a second start at the same time fires nothing');
    await again.stop();
  });

  it('a crash after the fire committed never starts a second run (the tick is deduped)', async () => {
    reset();
    const last = (await h.store.getSchedule(schedule.id))!.lastFireAt!;
    // As if `last_fire_at` had not been written: the store still knows the tick's incident.
    h.store.db.prepare('UPDATE schedules SET last_fire_at = NULL WHERE id = ?').run(schedule.id);
    const s = scheduler();
    await s.tick();
    assert.deepEqual(
      fires.map((f) => f.result),
      [{ status: 'fired', incidentId: (await incidents())[0]!.id, runIds: [] }],
    );
    assert.equal((await runs()).length, 2, 'no second run');
    assert.equal((await h.store.getSchedule(schedule.id))?.lastFireAt, last);
    const repeated = (await incidents()).find((i) => i.sourceId === last);
    assert.equal(repeated?.repeatCount, 1);
  });

  it('a fire the store refuses is tried again after RETRY_MS and recorded once', async () => {
    reset();
    let failures = 1;
    const flaky = new Proxy(h.store, {
      get(target, prop) {
        if (prop === 'recordScheduleFire' && failures > 0) {
          failures--;
          return async () => {
            throw new Error('SQLITE_BUSY: database is locked');
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;
    const s = scheduler(flaky);
    await s.start();
    clock = nextTick(clock);
    await s.tick();
    assert.equal(errors.length, 1);
    assert.equal(armed.at(-1), RETRY_MS);
    assert.equal((await runs()).length, 2, 'nothing was recorded');
    clock += RETRY_MS;
    await s.tick();
    assert.deepEqual(
      fires.map((f) => f.fireAt),
      [new Date(clock - RETRY_MS).toISOString()],
    );
    assert.equal((await runs()).length, 3);
    await s.stop();
  });

  it('the tick of a disabled playbook starts nothing, is audited, and is not fired later', async () => {
    reset();
    await h.store.putPlaybookSettings({ playbookId: 'report', enabled: false, automation: null, bindings: {} }, 'test');
    const s = scheduler();
    clock = nextTick(clock);
    await s.tick();
    assert.deepEqual(
      fires.map((f) => f.result.status),
      ['skipped'],
    );
    assert.equal((await runs()).length, 3);
    const skip = (await h.store.listAudit({ limit: 1000 })).filter((e) => e.action === 'schedule.skip').at(-1);
    assert.equal(skip?.actor, `schedule:${schedule.id}`);
    assert.match(JSON.stringify(skip?.detail), /playbook report is disabled/);
    await h.store.putPlaybookSettings({ playbookId: 'report', enabled: true, automation: null, bindings: {} }, 'test');
    await s.tick();
    assert.equal(fires.length, 1, 'the skipped tick stays skipped');
  });

  it('a removed schedule fires no more', async () => {
    reset();
    const s = scheduler();
    await s.remove(schedule.id, 'user:root');
    clock = nextTick(clock);
    await s.tick();
    assert.equal(fires.length, 0);
    assert.equal((await runs()).length, 3);
  });
});
