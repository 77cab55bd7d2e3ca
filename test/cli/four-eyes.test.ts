/**
 * `riposte policy four-eyes [--incident-editors on|off]` against a real server: four-eyes itself
 * is always on; whether incident editors are excluded too is shown and set (admin tokens only: the
 * API refuses others, see test/e2e/four-eyes-matrix.test.ts), and a wrong value is refused before
 * the server is called.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, startCliServer } from './fixture.js';

describe('riposte policy four-eyes', () => {
  let srv: Awaited<ReturnType<typeof startCliServer>>;
  let env: Record<string, string>;
  before(async () => {
    srv = await startCliServer();
    env = { RIPOSTE_URL: srv.server.url };
  });
  after(async () => { await srv.stop(); });
  const fourEyes = (...args: string[]) => cliAsync(srv.dataDir, env, 'policy', 'four-eyes', ...args);

  it('excludes incident editors by default, and turns that off and on again', async () => {
    const r = await fourEyes();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^four-eyes: on \(always\)/);
    assert.match(r.stdout, /\n {2}incident editors {2}excluded too /);
    const off = await fourEyes('--incident-editors', 'off', '--json');
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(JSON.parse(off.stdout), { incidentEditors: false });
    assert.match((await fourEyes()).stdout, /incident editors {2}not excluded/);
    assert.equal((await fourEyes('--incident-editors', 'on')).code, 0);
    const audit = await srv.server.store.listAudit({ limit: 50 });
    assert.equal(audit.filter((e) => e.action === 'policy.four_eyes').length, 2, 'each change is audited');
  });

  it('refuses a value other than on or off', async () => {
    const bad = await fourEyes('--incident-editors', 'maybe');
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr, 'error: --incident-editors takes on or off\n');
  });
});
