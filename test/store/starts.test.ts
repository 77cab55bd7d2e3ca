/**
 * The store's side of re-runs and schedules: a re-run is refused under the write lock while its
 * original has not finished; a schedule is validated before anything is written; a fire records
 * its tick at most once; migration 11 leaves runs recorded before it unlinked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { incident, run } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const dirs = suiteTempDir('riposte-store-');

test('a re-run of a run that has not finished is a ConflictError, and nothing is written', async () => {
  const s = await openStore(join(dirs.sub(), 'db'));
  try {
    const { incident: inc } = await s.ingest(incident(), [run('r-1')], 'test');
    await s.patchRun('r-1', { status: 'waiting', waitingOn: 'approval:a1', waits: ['approval:a1'] });
    const audit = (await s.verifyAudit()).entries;
    await assert.rejects(s.rerunRun('r-1', run('r-2'), 'user:bob'), {
      name: 'ConflictError',
      message: /run r-1 is waiting: it is parked, waiting on approval:a1, and will go on; only a completed/,
    });
    await s.patchRun('r-1', { status: 'needs_attention', attentionReason: 'unknown outcome' });
    await assert.rejects(s.rerunRun('r-1', run('r-2'), 'user:bob'), {
      name: 'ConflictError',
      message: /needs attention and may still resume/,
    });
    await assert.rejects(s.rerunRun('r-0', run('r-2'), 'user:bob'), { name: 'NotFoundError' });
    await s.patchRun('r-1', { status: 'completed', finishedAt: new Date().toISOString() });
    await assert.rejects(s.rerunRun('r-1', run('r-2', 'another'), 'user:bob'), { name: 'ValidationError' });
    assert.equal((await s.verifyAudit()).entries, audit);
    assert.deepEqual(
      (await s.listRuns({ incidentId: inc.id })).map((r) => r.id),
      ['r-1'],
    );
    const again = await s.rerunRun('r-1', run('r-2'), 'user:bob');
    assert.equal(again.rerunOf, 'r-1');
    assert.deepEqual(
      (await s.listRuns({ rerunOf: 'r-1' })).map((r) => r.id),
      ['r-2'],
    );
  } finally {
    await s.close();
  }
});

test('a schedule is checked before it is stored; a tick is recorded at most once', async () => {
  const s = await openStore(join(dirs.sub(), 'db'));
  try {
    const ok = { playbookId: 'pb', cron: '0 * * * *', timezone: 'UTC', args: null, createdBy: 'user:root' };
    await assert.rejects(s.createSchedule({ ...ok, createdBy: 'source:splunk' }, 'test'), {
      name: 'ValidationError',
      message: /created by a person/,
    });
    await assert.rejects(s.createSchedule({ ...ok, args: [] as never }, 'test'), {
      name: 'ValidationError',
      message: /JSON object/,
    });
    assert.deepEqual(await s.listSchedules(), []);
    const sch = await s.createSchedule(ok, 'user:root');
    const tick = '2026-01-01T10:00:00.000Z';
    const fire = () =>
      s.recordScheduleFire(
        sch.id,
        tick,
        {
          incident: {
            name: 'tick',
            label: 'scheduled',
            severity: 'low',
            source: `schedule:${sch.id}`,
            sourceId: tick,
            artifacts: [],
          },
          run: { ...run(`run-${Math.random()}`, 'pb'), requestedBy: 'user:root' },
        },
        `schedule:${sch.id}`,
      );
    const first = await fire();
    assert.equal(first.status, 'fired');
    assert.deepEqual(await fire(), { status: 'already' });
    assert.deepEqual(await s.recordScheduleFire(sch.id, '2026-01-01T09:00:00.000Z', { skipped: 'x' }, 'test'), {
      status: 'already',
    });
    await assert.rejects(s.recordScheduleFire(sch.id, '2026-01-01 11:00', { skipped: 'x' }, 'test'), {
      name: 'ValidationError',
    });
    assert.equal((await s.listRuns({ playbookId: 'pb' })).length, 1);
    await s.removeSchedule(sch.id, 'user:root');
    assert.deepEqual(await s.recordScheduleFire(sch.id, '2026-01-01T11:00:00.000Z', { skipped: 'x' }, 'test'), {
      status: 'removed',
    });
  } finally {
    await s.close();
  }
});

test('migration 11 leaves the runs recorded before it unlinked', async () => {
  const path = join(dirs.sub(), 'db');
  const s = await openStore(path);
  await s.ingest(incident(), [run('r-old')], 'test');
  await s.close();
  // The database as version 10 left it, with that run.
  const db = new Database(path);
  db.exec(
    'DROP TABLE schedules; DROP INDEX runs_rerun_of; ALTER TABLE runs DROP COLUMN rerun_of; '
      + 'ALTER TABLE playbook_settings DROP COLUMN trigger_when; ALTER TABLE playbook_repos DROP COLUMN require_tests; '
      + ['token', 'user', 'source'].flatMap((t) => ['insert', 'delete', 'update']
        .map((op) => `DROP TRIGGER auth_generation_${t}_${op}; `)).join('')
      + 'DROP TABLE auth_generation; DROP INDEX api_tokens_name; ALTER TABLE api_tokens DROP COLUMN expires_at; '
      + 'ALTER TABLE api_tokens DROP COLUMN revoked_at; ALTER TABLE api_tokens DROP COLUMN last_used_at; '
      + 'DROP TABLE incident_editors; ALTER TABLE runs DROP COLUMN also_caused_by; ALTER TABLE approvals DROP COLUMN excluded; '
      + 'ALTER TABLE prompts DROP COLUMN gates_containment; ALTER TABLE prompts DROP COLUMN excluded; '
      + 'ALTER TABLE artifacts DROP COLUMN untrusted; ALTER TABLE lists DROP COLUMN kind; '
      + 'DROP TABLE secret_keys; '
      + 'ALTER TABLE assets DROP COLUMN egress_allow; '
      + 'DROP TABLE audit_export_cursors; ALTER TABLE audit_log DROP COLUMN key_id; '
      + 'DELETE FROM schema_migrations WHERE version > 10;',
  );
  db.close();
  const old = await openStore(path);
  try {
    assert.equal((await old.getRun('r-old'))?.rerunOf, null);
    assert.deepEqual(await old.listSchedules(), []);
    assert.ok((MIGRATIONS.at(-1)?.version ?? 0) >= 12, 'migrations 11 and 12 were applied again');
  } finally {
    await old.close();
  }
  const raw = new Database(path);
  assert.deepEqual(migrate(raw), [], 'up to date');
  raw.close();
});
