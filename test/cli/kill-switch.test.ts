/**
 * `riposte policy kill-switch status|on|off` against a real server: people read whether it is
 * engaged, by whom, when and why; `--json` keeps the API's object for scripts; a reason typed with
 * terminal escape sequences is shown escaped, never replayed to the terminal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, startCliServer } from './fixture.js';

describe('riposte policy kill-switch', () => {
  let srv: Awaited<ReturnType<typeof startCliServer>>;
  let env: Record<string, string>;
  before(async () => {
    srv = await startCliServer();
    env = { RIPOSTE_URL: srv.server.url };
  });
  after(async () => { await srv.stop(); });
  const killSwitch = (...args: string[]) => cliAsync(srv.dataDir, env, 'policy', 'kill-switch', ...args);

  it('says it was never engaged on a new server', async () => {
    const r = await killSwitch('status');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'kill switch: off — destructive actions run as their policy allows\n  never engaged\n');
  });

  it('shows who engaged it, when and why; --json prints the state for machines', async () => {
    const on = await killSwitch('on', '--reason', 'bad playbook release');
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^kill switch: ENGAGED/);

    const r = await killSwitch('status');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[{}"]/, 'no raw JSON for people');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0],
      'kill switch: ENGAGED — destructive actions are paused; runs reaching one park until it is released');
    assert.equal(lines[1], '  engaged by   user:admin');
    assert.match(lines[2]!, /^ {2}at {11}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    assert.equal(lines[3], '  reason       bad playbook release');

    const j = await killSwitch('status', '--json');
    assert.equal(j.code, 0, j.stderr);
    const state = JSON.parse(j.stdout) as { engaged: boolean; by: string; at: string; reason: string };
    assert.deepEqual({ ...state, at: typeof state.at },
      { engaged: true, by: 'user:admin', at: 'string', reason: 'bad playbook release' });
    assert.equal(lines[2]!.slice(15), `${state.at.slice(0, 19).replace('T', ' ')} UTC`);
  });

  it('shows a release, and escapes control characters of the reason', async () => {
    const off = await killSwitch('off', '--reason', 'fixed\u001b[2J\u001b]0;pwned\u0007 now');
    assert.equal(off.code, 0, off.stderr);
    const r = await killSwitch('status');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout,
      /^kill switch: off — destructive actions run as their policy allows\n {2}released by {2}user:admin\n/);
    assert.ok(!/[\u001b\u0007]/.test(r.stdout), 'no control character reaches the terminal');
    assert.match(r.stdout, /\n {2}reason {7}fixed\\u001b\[2J\\u001b\]0;pwned\\u0007 now\n$/);
  });

  it('refuses an unknown state and a change without a reason, before calling the server', async () => {
    const bad = await killSwitch('maybe');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'error: kill-switch takes on, off or status\n');
    const noReason = await killSwitch('on');
    assert.equal(noReason.code, 1);
    assert.match(noReason.stderr, /give --reason/);
    assert.equal(JSON.parse((await killSwitch('status', '--json')).stdout).engaged, false, 'still released');
  });
});
