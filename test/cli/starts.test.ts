/**
 * `riposte runs start|rerun` and `riposte schedules add|list|remove` as child processes against a
 * real server in this process: they print the full run id and how to follow it, link re-runs in
 * `runs show`, and turn refusals into one line naming the problem.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, startCliServer } from './fixture.js';
import type { RunningServer } from '../../src/server/server.js';
import { runIn } from '../support/wait.js';

const PLAYBOOK = 'mobile-unauthorized-ip';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('riposte runs start|rerun, schedules', () => {
  let srv: { server: RunningServer; dataDir: string; stop(): Promise<void> };
  let incidentId = 0;
  let firstRun = '';
  const riposte = (...args: string[]) => cliAsync(srv.dataDir, { RIPOSTE_URL: srv.server.url }, ...args);

  before(async () => {
    srv = await startCliServer();
    const { incident } = await srv.server.store.ingest(
      {
        name: 'reported by phone',
        label: 'manual',
        severity: 'high',
        source: 'test',
        artifacts: [{ name: 'a', cef: { suser: 'jdoe' } }],
      },
      [],
      'test',
    );
    incidentId = incident.id;
  });
  after(() => srv.stop());

  it("runs start prints the full run id and the follow-up; the run is caused by the token's user", async () => {
    const r = await riposte(
      'runs',
      'start',
      PLAYBOOK,
      '--incident',
      `#${incidentId}`,
      '--args',
      '{"reason":"analyst asked"}',
    );
    assert.equal(r.code, 0, r.stderr);
    const m = new RegExp(
      `^Started run (${UUID}): playbook ${PLAYBOOK}@\\d+ on incident #${incidentId}\\.\\nFollow it with: riposte runs show \\1\\n$`,
    ).exec(r.stdout);
    assert.ok(m, r.stdout);
    firstRun = m[1]!;
    const run = await srv.server.store.getRun(firstRun);
    assert.equal(run?.requestedBy, 'user:admin');
    assert.deepEqual(run?.args, { reason: 'analyst asked' });
  });

  it('runs start refuses bad args locally and an unknown playbook as the server says', async () => {
    const bad = await riposte('runs', 'start', PLAYBOOK, '--incident', String(incidentId), '--args', '[1]');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: --args must be a JSON object/);
    const unknown = await riposte('runs', 'start', 'nope', '--incident', String(incidentId));
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: playbook nope is not installed .*\[unknown_playbook\]$/m);
  });

  it('runs rerun starts a linked run, and runs show names the link both ways', async () => {
    // The founding playbook completes at once on an incident without a destination.
    assert.equal((await runIn(srv.server.store, firstRun)).status, 'completed');
    const r = await riposte('runs', 'rerun', firstRun);
    assert.equal(r.code, 0, r.stderr);
    const m = new RegExp(
      `^Started run (${UUID}): .*, repeating run ${firstRun}\\.\\nFollow it with: riposte runs show \\1\\n$`,
    ).exec(r.stdout);
    assert.ok(m, r.stdout);
    const again = m[1]!;
    const shownNew = await riposte('runs', 'show', again);
    assert.match(shownNew.stdout, new RegExp(`rerun of\\s+${firstRun}`));
    const shownOld = await riposte('runs', 'show', firstRun);
    assert.match(shownOld.stdout, new RegExp(`re-runs\\s+${again}\\s+\\w+\\s+by user:admin`));
  });

  it('schedules add|list|remove, with a bad expression named and a non-admin refused', async () => {
    const bad = await riposte('schedules', 'add', PLAYBOOK, '--cron', '0 * *');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: cron expression "0 \* \*" has 3 fields; it needs five: .*\[invalid_cron\]$/m);

    const token = 'rpa_cli_analyst_0123456789abcdef';
    await srv.server.store.createApiToken({ name: 'ann', role: 'analyst', token }, 'test');
    const analyst = await riposte('schedules', 'add', PLAYBOOK, '--cron', '0 3 * * *', '--token', token);
    assert.equal(analyst.code, 1);
    assert.match(analyst.stderr, /\[forbidden\]/);

    const added = await riposte(
      'schedules',
      'add',
      PLAYBOOK,
      '--cron',
      '0 3 * * *',
      '--tz',
      'Europe/Paris',
      '--args',
      '{"scope":"all"}',
    );
    assert.equal(added.code, 0, added.stderr);
    const id =
      /^Schedule (\d+): playbook mobile-unauthorized-ip at "0 3 \* \* \*" \(Europe\/Paris\), runs caused by user:admin; next fire \d{4}-/.exec(
        added.stdout,
      )?.[1];
    assert.ok(id, added.stdout);
    const listed = await riposte('schedules', 'list');
    assert.match(
      listed.stdout,
      new RegExp(
        `^${id}\\s+${PLAYBOOK}\\s+0 3 \\* \\* \\*\\s+Europe/Paris\\s+\\{"scope":"all"\\}\\s+user:admin\\s+-\\s+\\d{4}-`,
        'm',
      ),
    );
    const removed = await riposte('schedules', 'remove', id);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`^Removed schedule ${id} `));
    assert.equal((await riposte('schedules', 'list')).stdout, 'no schedules\n');
  });
});
