/**
 * A SOC's own playbook, end to end through a real server: written in a fresh Git repository (not in
 * Riposte's tree) served by a real `git daemon`, added and synced through the API, activated at a
 * pinned commit and run on an alert in the sandbox; a broken commit is refused while the old one
 * keeps running; a commit that raises its own automation level runs supervised until an admin
 * confirms the bundle reviewed (a stale hash is refused); a run parked on one commit resumes on that
 * commit's code after another is activated; a push hook syncs with the repository's secret and
 * nothing else; removing the repository deletes its grants, so a run parked on its code resumes
 * supervised; every route refuses the roles it does not name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../../src/server/server.js';
import { serveConfig } from '../../src/config.js';
import { GitDaemon, GitRepo, playbookSource } from '../support/git.js';
import { tempDir } from '../support/temp-store.js';
import { callApi } from '../support/server-http.js';
import { runIn, until } from '../support/wait.js';
import { ROOT, cliAsync } from '../cli/fixture.js';

const exec = promisify(execFile);
const LABEL = 'soc-suspicious-login';

/**
 * The SOC's playbook: notes which version ran, blocks the source address (a contain action); with
 * `ask`, then asks an analyst (a durable prompt the run parks on) and blocks it again.
 */
type Variant = { automation?: string; broken?: boolean; ask?: boolean };
const playbook = (version: number, opts: Variant = {}) => playbookSource({
  id: 'soc-block-source', version, label: LABEL, roles: { firewall: 'firewall' },
  ...(opts.automation ? { automation: opts.automation } : {}),
  module: "import { cefValue } from 'riposte';",
  body: opts.broken
    ? "  await ctx.roles.firewall.blockIp({ address: 'x' });\n  return {};"
    : [
      `  await ctx.note('soc-block-source v${version}');`,
      "  const ip = cefValue(incident, 'sourceAddress');",
      "  if (typeof ip !== 'string') return { version: " + version + ", blocked: false };",
      "  let r = await ctx.roles.firewall.blockIp({ ip, comment: 'soc playbook' });",
      ...(opts.ask ? [
        "  await ctx.prompt({ type: 'yesno', question: 'block again?', to: { role: 'analyst' },",
        '    timeoutMs: 3600000, default: false });',
        "  r = await ctx.roles.firewall.blockIp({ ip, comment: 'soc playbook, again' });",
      ] : []),
      `  return { version: ${version}, blocked: r.blocked };`,
    ].join('\n'),
});

test('own playbooks from Git: synced, pinned, sandboxed, refused when broken, supervised until confirmed', async (t) => {
  const tmp = tempDir('riposte-own-pb-');
  mkdirSync(join(tmp.dir, 'served'));
  const daemon = await GitDaemon.start(join(tmp.dir, 'served'));
  const dataDir = join(tmp.dir, 'data');
  const srv = await startServer(serveConfig({ dataDir, port: 0, lab: true, labPort: 0, logLevel: 'warn' }, {}));
  const tokens: Record<string, string> = {};
  const api = (method: string, path: string, who: string | null, body?: unknown) =>
    callApi(srv, method, path, who ? String(tokens[who]) : null, body);
  try {
    const policy = srv.store.policyStore();
    for (const [name, role] of [['root', 'admin'], ['bob', 'analyst'], ['vic', 'viewer'], ['feed', 'ingest']] as const) {
      if (role !== 'ingest') await policy.putUser({ name, email: null, roles: [role], disabled: false }, 'test');
      tokens[name] = `rpa_test_${name}_token_0123456789abcdef`;
      await srv.store.createApiToken({ name, role, token: tokens[name]! }, 'test');
    }
    await srv.store.putPlaybookSettings({ playbookId: 'soc-block-source', enabled: true, automation: null, bindings: { firewall: 'panos-lab' } }, 'test');
    const repo = GitRepo.create(join(tmp.dir, 'served'), 'soc-playbooks.git');
    const v1 = repo.commit({ 'playbooks/block-source.ts': playbook(1) }, 'v1');
    let v1Bundle = '';
    let n = 0;
    const alert = async () => {
      const r = await api('POST', '/incidents', 'feed', {
        name: `suspicious login ${++n}`, label: LABEL, severity: 'high', sourceId: `login-${n}`,
        artifacts: [{ name: 'login', cef: { sourceAddress: `198.18.0.${n}`, sourceUserName: 'jdoe@contoso.example' } }],
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.equal(r.json.runs.length, 1, 'the playbook took the alert');
      return r.json.runs[0] as string;
    };

    await t.test('who may use the repository routes', async () => {
      const add = { name: 'x', url: daemon.url('soc-playbooks.git'), sync: false };
      assert.equal((await api('POST', '/repos', null, add)).status, 401);
      for (const who of ['bob', 'vic', 'feed']) assert.equal((await api('POST', '/repos', who, add)).status, 403, who);
      assert.equal((await api('GET', '/repos', 'feed')).status, 403);
      assert.equal((await api('GET', '/repos', null)).status, 401);
      assert.equal((await api('GET', '/repos', 'vic')).status, 200);
      assert.equal((await api('POST', '/repos/builtin/sync', 'bob')).status, 403);
      assert.equal((await api('DELETE', '/repos/builtin', 'bob')).status, 403);
      const anyHash = { hash: '0123456789abcdef' };
      assert.equal((await api('POST', '/playbooks/mobile-unauthorized-ip/confirm', 'bob', anyHash)).status, 403);
      assert.equal((await api('POST', '/playbooks/mobile-unauthorized-ip/confirm', 'vic', anyHash)).status, 403);
      assert.equal((await api('POST', '/playbooks/mobile-unauthorized-ip/confirm', null, anyHash)).status, 401);
      assert.equal((await api('DELETE', '/repos/builtin', 'root')).status, 409);
      const bad = await api('POST', '/repos', 'root', { name: 'evil', url: 'ext::sh -c id', sync: false });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /must be file:\/\/, git:\/\//);
      // A token in a query string (or in a git:// URL) is refused, not stored, and not echoed.
      for (const url of ['https://git.example/soc.git?private_token=Qu3ryT0k', 'git://u:Qu3ryT0k@127.0.0.1:1/r']) {
        const refused = await api('POST', '/repos', 'root', { name: 'tok', url, sync: false });
        assert.equal(refused.status, 400, url);
        assert.match(refused.json.error.message, /query string or fragment|carries no user or password/);
        assert.doesNotMatch(JSON.stringify(refused.json), /Qu3ryT0k/);
      }
      assert.equal((await api('GET', '/repos/tok', 'root')).status, 404);
    });

    await t.test('added through the API, pinned at its commit, runs on an alert in the sandbox', async () => {
      const added = await api('POST', '/repos', 'root', { name: 'soc', url: daemon.url('soc-playbooks.git') });
      assert.equal(added.status, 201, JSON.stringify(added.json));
      assert.equal(added.json.sync.status, 'activated');
      assert.equal(added.json.repository.activeCommit, v1);
      assert.deepEqual(added.json.sync.playbooks[0].unconfirmed, ['new role "firewall" (firewall: firewall.blockIp, firewall.unblockIp)']);
      v1Bundle = added.json.sync.playbooks[0].hash as string;
      const runId = await alert();
      const run = await runIn(srv.store, runId);
      assert.equal(run.status, 'waiting', 'unconfirmed: its block waits for approval (supervised)');
      assert.deepEqual(run.origin, { repository: 'soc', commit: v1, path: 'playbooks/block-source.ts' });
      // `runs show` prints where the code came from.
      const { stdout } = await exec(process.execPath, [join(ROOT, 'bin/riposte.js'), 'runs', 'show', runId, '--data-dir', dataDir], { cwd: ROOT });
      assert.match(stdout, new RegExp(`code\\s+soc@${v1}:playbooks/block-source\\.ts  bundle ${run.playbookHash}`));
      // Approved by an analyst (not the one who caused it): it completes on v1's code.
      const approval = await until('approval', async () => (await policy.listApprovals({ runId }))[0]);
      assert.equal((await api('POST', `/approvals/${approval.id}/approve`, 'bob', {})).status, 200);
      const done = await runIn(srv.store, runId, ['completed', 'failed']);
      assert.deepEqual(done.output, { version: 1, blocked: true });
    });

    await t.test('a broken commit is refused with the compiler errors; the pinned one keeps running', async () => {
      const broken = repo.commit({ 'playbooks/block-source.ts': playbook(2, { broken: true }) }, 'broken');
      const r = await api('POST', '/repos/soc/sync', 'root');
      assert.equal(r.status, 422);
      assert.equal(r.json.error.code, 'commit_refused');
      assert.match(r.json.error.message, new RegExp(`commit ${broken} was refused; ${v1} stays active`));
      assert.match(r.json.error.details[0].message, /playbooks\/block-source\.ts:\d+:\d+: TS2353/);
      const shown = await api('GET', '/repos/soc', 'vic');
      assert.equal(shown.json.repository.activeCommit, v1);
      assert.equal(shown.json.repository.lastSync.status, 'refused');
      const runId = await alert();
      assert.equal((await srv.store.getRun(runId))!.origin?.commit, v1);
      const approval = await until('approval', async () => (await policy.listApprovals({ runId }))[0]);
      await api('POST', `/approvals/${approval.id}/approve`, 'bob', {});
      assert.deepEqual((await runIn(srv.store, runId, ['completed', 'failed'])).output, { version: 1, blocked: true });
    });

    let parked = '';
    let lastAlertRun: string | undefined;
    const alertOnce = async (): Promise<string> => {
      lastAlertRun = await alert();
      return lastAlertRun;
    };
    await t.test('a commit raising its own automation level runs supervised until an admin confirms', async () => {
      parked = await alert(); // v1, parked on its approval while v3 arrives
      await until('parked on approval', async () => (await policy.listApprovals({ runId: parked }))[0]);
      const v3 = repo.commit({ 'playbooks/block-source.ts': playbook(3, { automation: 'autonomous' }) }, 'v3 autonomous');
      const synced = await api('POST', '/repos/soc/sync', 'root');
      assert.equal(synced.status, 200, JSON.stringify(synced.json));
      assert.equal(synced.json.sync.commit, v3);
      assert.match(synced.json.sync.playbooks[0].unconfirmed.join('\n'), /automation level autonomous/);
      await until('the server loaded v3', async () => (await srv.store.getRun(await alertOnce()))?.origin?.commit === v3);
      const supervised = lastAlertRun!;
      assert.equal((await runIn(srv.store, supervised)).status, 'waiting', 'still supervised: the block waits for approval');
      // Confirmation names the bundle reviewed: none, a malformed one or a stale one (v1's) grants nothing.
      const v3Hash = synced.json.sync.playbooks[0].hash as string;
      const v1Hash = v1Bundle;
      const missing = await api('POST', '/playbooks/soc-block-source/confirm', 'root');
      assert.equal(missing.status, 400, JSON.stringify(missing.json));
      const noHash = await api('POST', '/playbooks/soc-block-source/confirm', 'root', {});
      assert.equal(noHash.status, 400);
      assert.match(noHash.json.error.message, /hash/);
      const malformed = await api('POST', '/playbooks/soc-block-source/confirm', 'root', { hash: 'v3; rm -rf' });
      assert.equal(malformed.status, 400);
      const stale = await api('POST', '/playbooks/soc-block-source/confirm', 'root', { hash: v1Hash });
      assert.equal(stale.status, 409, JSON.stringify(stale.json));
      assert.equal(stale.json.error.code, 'changed');
      const both = `${v1Hash}.*the active bundle is ${v3Hash} from repository soc`;
      assert.match(stale.json.error.message, new RegExp(both));
      assert.equal(await srv.store.getPlaybookGrant('soc-block-source'), null, 'nothing granted');
      assert.equal((await api('POST', '/playbooks/no-such-playbook/confirm', 'root', { hash: v3Hash })).status, 404);
      const confirmed = await api('POST', '/playbooks/soc-block-source/confirm', 'root', { hash: v3Hash });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.json));
      assert.equal(confirmed.json.hash, v3Hash);
      assert.deepEqual([confirmed.json.grant.repo, confirmed.json.grant.hash], ['soc', v3Hash]);
      const audit = await srv.store.listAudit({ limit: 1000 });
      const confirms = audit.filter((e) => e.action === 'playbook.confirm' && e.target === 'playbook:soc-block-source');
      assert.equal(confirms.length, 1, 'only the confirmation with the current hash is audited');
      assert.equal(confirms[0]!.actor, 'token:root');
      assert.equal((confirms[0]!.detail as { hash: string }).hash, v3Hash);
      const autonomous = await until('confirmed', async () => {
        const id = await alert();
        const r = await runIn(srv.store, id);
        return r.status === 'completed' ? r : undefined;
      });
      assert.deepEqual(autonomous.output, { version: 3, blocked: true });
      assert.equal(autonomous.origin?.commit, v3);
    });
    await t.test('a run parked on an earlier commit resumes on that commit\'s code', async () => {
      const approval = (await policy.listApprovals({ runId: parked }))[0]!;
      assert.equal((await api('POST', `/approvals/${approval.id}/approve`, 'bob', {})).status, 200);
      const done = await runIn(srv.store, parked, ['completed', 'failed', 'needs_attention']);
      assert.equal(done.status, 'completed', done.attentionReason ?? JSON.stringify(done.error));
      assert.deepEqual(done.output, { version: 1, blocked: true });
    });

    await t.test('the push hook syncs with the repository secret, and with nothing else', async () => {
      const secret = 'hook-secret-for-tests-0123456789';
      await srv.store.setRepoWebhookSecret('soc', secret, 'test');
      const v4 = repo.commit({ 'playbooks/block-source.ts': playbook(4, { automation: 'autonomous' }) }, 'v4');
      const hook = (headers: Record<string, string>, body = '{"ref":"refs/heads/main"}') =>
        fetch(`${srv.url}/api/v1/repos/soc/hook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const sign = (body: string, key: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
      assert.equal((await hook({ 'x-hub-signature-256': sign('{"ref":"refs/heads/main"}', 'wrong') })).status, 401);
      assert.equal((await hook({ 'x-gitlab-token': 'wrong' })).status, 401);
      assert.equal((await hook({})).status, 401);
      assert.equal((await hook({ authorization: `Bearer ${tokens['root']}` })).status, 401, 'an API token is not the hook secret');
      const unknown = await fetch(`${srv.url}/api/v1/repos/nope/hook`, { method: 'POST', headers: { 'x-gitlab-token': secret }, body: '' });
      assert.equal(unknown.status, 401);
      assert.equal((await srv.store.getRepo('soc'))!.activeCommit !== v4, true);
      const ok = await hook({ 'x-hub-signature-256': sign('{"ref":"refs/heads/main"}', secret) });
      assert.equal(ok.status, 202);
      await until('hook sync', async () => (await srv.store.getRepo('soc'))!.activeCommit === v4, 20_000);
      const audit = await srv.store.listAudit({ limit: 1000 });
      assert.ok(audit.some((e) => e.action === 'repo.activate' && e.actor === 'webhook:soc'));
      assert.doesNotMatch(JSON.stringify(audit), new RegExp(secret));
    });

    await t.test('a sync from the CLI reaches the running server (it polls the store\'s playbook revision)', async () => {
      const v5 = repo.commit({ 'playbooks/block-source.ts': playbook(5, { automation: 'autonomous' }) }, 'v5');
      const r = await cliAsync(dataDir, {}, 'repos', 'sync', 'soc');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`soc: activated ${v5}`));
      const run = await until('the server runs v5', async () => {
        const got = await srv.store.getRun(await alert());
        return got?.origin?.commit === v5 ? got : undefined;
      }, 10_000);
      assert.deepEqual((await runIn(srv.store, run.id)).output, { version: 5, blocked: true });
    });

    await t.test('removing the repository deletes its grants: a run parked on it resumes supervised', async () => {
      const v6 = repo.commit({ 'playbooks/block-source.ts': playbook(6, { automation: 'autonomous', ask: true }) });
      const synced = await api('POST', '/repos/soc/sync', 'root');
      assert.equal(synced.status, 200, JSON.stringify(synced.json));
      assert.deepEqual(synced.json.sync.playbooks[0].unconfirmed, [], 'the same declaration: still confirmed');
      const runId = await until('the server runs v6', async () => {
        const id = await alert();
        return (await srv.store.getRun(id))?.origin?.commit === v6 ? id : undefined;
      }, 10_000);
      // Confirmed: the first block ran without approval; the run is parked on the prompt.
      const prompt = await until('parked on the prompt', async () =>
        (await policy.listPrompts({ status: 'pending' })).find((p) => p.runId === runId));
      assert.deepEqual(await policy.listApprovals({ runId }), []);

      assert.equal((await api('DELETE', '/repos/soc', 'root')).status, 204);
      assert.equal(await srv.store.getPlaybookGrant('soc-block-source'), null);
      const removal = (await srv.store.listAudit({ limit: 1000 }))
        .find((e) => e.action === 'repo.remove' && e.target === 'repo:soc');
      assert.deepEqual((removal!.detail as { revokedGrants: string[] }).revokedGrants, ['soc-block-source']);
      // Once the server dropped the playbook, an alert with its label starts nothing.
      await until('the server dropped the playbook', async () => {
        const r = await api('POST', '/incidents', 'feed', {
          name: `after removal ${++n}`, label: LABEL, severity: 'high', sourceId: `gone-${n}`,
          artifacts: [{ name: 'login', cef: {} }],
        });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        return r.json.runs.length === 0;
      });

      const answered = await api('POST', `/prompts/${prompt.id}/answer`, 'bob', { answer: true });
      assert.equal(answered.status, 200, JSON.stringify(answered.json));
      // It resumes on its own (removed) bundle, with no grant: the second block waits for approval.
      const approval = await until('the second block waits for approval',
        async () => (await policy.listApprovals({ runId }))[0]);
      const parkedAgain = await runIn(srv.store, runId);
      assert.equal(parkedAgain.status, 'waiting');
      assert.equal(parkedAgain.origin?.commit, v6);
      assert.equal((await api('POST', `/approvals/${approval.id}/approve`, 'bob', {})).status, 200);
      const done = await runIn(srv.store, runId, ['completed', 'failed', 'needs_attention']);
      assert.equal(done.status, 'completed', done.attentionReason ?? JSON.stringify(done.error));
      assert.deepEqual(done.output, { version: 6, blocked: true });
    });
  } finally {
    await srv.stop();
    daemon.stop();
    tmp.remove();
  }
});
