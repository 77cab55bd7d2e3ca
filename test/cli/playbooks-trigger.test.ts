/**
 * `riposte playbooks trigger <id> --when … | --clear` against a real server, and the route behind
 * it (`PUT /api/v1/playbooks/:id/trigger`): admins only; a bad expression, an unknown list or an
 * unknown playbook is refused with what is wrong and nothing is written; `playbooks list` shows the
 * condition in force and whose it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, cliWithEnv, startCliServer } from './fixture.js';

const PB = 'mobile-unauthorized-ip';

describe('riposte playbooks trigger', () => {
  let srv: Awaited<ReturnType<typeof startCliServer>>;
  let env: Record<string, string>;
  before(async () => {
    srv = await startCliServer();
    env = { RIPOSTE_URL: srv.server.url };
    await srv.server.store.createList('unauthorized-ips', null, 'test');
  });
  after(async () => { await srv.stop(); });
  const trigger = (...args: string[]) => cliAsync(srv.dataDir, env, 'playbooks', 'trigger', ...args);
  const triggerAudit = async () =>
    (await srv.server.store.listAudit({ limit: 10_000 })).filter((e) => e.action === 'playbook.trigger');
  const listed = async () => {
    const r = await cliAsync(srv.dataDir, env, 'playbooks', 'list', '--json');
    assert.equal(r.code, 0, r.stderr);
    const { playbooks } = JSON.parse(r.stdout) as { playbooks: Array<{ id: string; trigger: unknown }> };
    return playbooks.find((p) => p.id === PB)!;
  };

  it('refuses an expression that does not parse, naming where, and writes nothing', async () => {
    const r = await trigger(PB, '--when', 'severity >= "high" && artifact.destinationAddress in');
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(),
      'error: trigger condition: nothing after in: write value in list("…") or value in ["…", …] '
      + 'at column 51: …fact.destinationAddress ▸in');
    const bad = await trigger(PB, '--when', 'severity >= "hgh"');
    assert.match(bad.stderr,
      /^error: trigger condition: unknown severity "hgh" \(severities: low, medium, high, critical\) at column 13/);
    assert.deepEqual(await triggerAudit(), []);
    assert.equal((await srv.server.store.getPlaybookSettings(PB))?.triggerWhen ?? null, null);
  });

  it('refuses a condition naming a missing list, an unknown playbook, and a wrong use of the flags', async () => {
    const r = await trigger(PB, '--when', 'artifact.destinationAddress in list("unauthorised-ips")');
    assert.equal(r.code, 1);
    assert.match(r.stderr,
      /the trigger condition names custom lists that do not exist: "unauthorised-ips" .*\[unknown_list\]/);
    assert.match((await trigger('no-such-playbook', '--when', 'true')).stderr,
      /playbook no-such-playbook is not installed \[not_found\]/);
    assert.match((await trigger(PB)).stderr, /give either --when "<expression>" or --clear/);
    assert.match((await trigger(PB, '--when', 'true', '--clear')).stderr,
      /give either --when "<expression>" or --clear/);
    assert.deepEqual(await triggerAudit(), []);
  });

  it('sets the operator\'s condition, audited as the admin; list shows it and whose; --clear removes it', async () => {
    const expr = 'severity >= "high" && artifact.destinationAddress in list("unauthorized-ips")';
    const r = await trigger(PB, '--when', expr);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${PB}: runs start only when ${expr} (the operator's condition)\n`);
    assert.deepEqual(await listed().then((p) => p.trigger), { when: expr, from: 'operator' });
    const text = cliWithEnv(srv.dataDir, env, 'playbooks', 'list');
    assert.match(text.stdout, /CONDITION \(whose\)/);
    assert.ok(text.stdout.includes(`${expr} (operator)`));

    const cleared = await trigger(PB, '--clear');
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(cleared.stdout, `${PB}: no condition — every incident with one of its labels starts a run\n`);
    assert.deepEqual(await listed().then((p) => p.trigger), { when: null, from: null });
    assert.deepEqual((await triggerAudit()).map((e) => [e.actor, e.target, e.detail]), [
      ['user:admin', `playbook:${PB}`, { when: expr, before: null }],
      ['user:admin', `playbook:${PB}`, { when: null, before: expr }],
    ]);
  });

  it('is for admins only: analyst, viewer, ingest tokens and no token are refused; nothing is written', async () => {
    const store = srv.server.store;
    const put = (token: string | null) => fetch(`${srv.server.url}/api/v1/playbooks/${PB}/trigger`, {
      method: 'PUT', body: JSON.stringify({ when: 'true' }),
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    });
    for (const role of ['analyst', 'viewer', 'ingest'] as const) {
      const token = `rpa_trigger_${role}_token_0123456789`;
      await store.createApiToken({ name: `t-${role}`, role, token }, 'test');
      const res = await put(token);
      assert.equal(res.status, 403, role);
      const cli = await cliAsync(srv.dataDir, { ...env, RIPOSTE_TOKEN: token },
        'playbooks', 'trigger', PB, '--when', 'true');
      assert.equal(cli.code, 1, role);
    }
    assert.equal((await put(null)).status, 401);
    assert.equal((await put('not-a-token')).status, 401);
    assert.equal((await triggerAudit()).length, 2, 'only the admin\'s two changes above');
    assert.equal((await store.getPlaybookSettings(PB))?.triggerWhen ?? null, null);
  });

  it('the route refuses a bad expression with the problem and its position as details', async () => {
    const res = await fetch(`${srv.server.url}/api/v1/playbooks/${PB}/trigger`, {
      method: 'PUT', body: JSON.stringify({ when: 'has(severity)' }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.server.credentials.adminToken}` },
    });
    assert.equal(res.status, 400);
    type Detail = { path: string; message: string; subject: unknown };
    const body = await res.json() as { error: { code: string; details: Detail[] } };
    assert.equal(body.error.code, 'invalid_trigger');
    assert.deepEqual(body.error.details, [{
      path: 'when', code: 'invalid_trigger', message: 'has(…) tests an artifact field, and severity is always there',
      subject: { position: 4 },
    }]);
  });
});
