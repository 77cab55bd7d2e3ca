/**
 * `riposte assets …` and `riposte apps …` as a child process. The CLI runs asynchronously here
 * (not spawnSync) because `assets test` calls the Jira simulator living in this test process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT, removeDir, tempDir, type CliResult } from './fixture.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { JiraSimulator } from '../../lab/jira-sim.js';
import { requirePrograms } from '../support/real-server.js';

const JIRA_TOKEN = 'jira-SECRET-5f1e9c0d7b3a4e2f8d6c';
const WRONG_TOKEN = 'jira-WRONG-0a9b8c7d6e5f4a3b2c1d';
const PANOS_PASSWORD = 'panos-SECRET-pw-77e1c2d3';
const MASK = '••••••';

let dir: string;
let sim: JiraSimulator;
/** A loopback URL where nothing listens. */
let deadUrl = '';

function run(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_SECRET_KEY: '', NO_COLOR: '1', RIPOSTE_DATA_DIR: dir, ...opts.env };
  delete env['RIPOSTE_DEBUG'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/riposte.js'), ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const cli = (...args: string[]) => run(args);

function noSecrets(r: CliResult): void {
  for (const s of [JIRA_TOKEN, WRONG_TOKEN, PANOS_PASSWORD]) {
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a secret leaked:\n${r.stdout}\n${r.stderr}`);
  }
}

function userError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1: ${r.stdout} ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
  noSecrets(r);
}

const jiraArgs = (name: string) => ['assets', 'add', name, '--app', 'atlassian-jira', '--config', `url=${sim.url}`, '--config', `email=${sim.email}`, '--config', 'projectKey=SEC',
  '--egress-allow', 'loopback'];

async function assetNames(): Promise<string[]> {
  const store = await openSqliteStore({ dataDir: dir, env: {} });
  try {
    return (await store.listAssets()).map((a) => a.name);
  } finally {
    await store.close();
  }
}

before(async () => {
  dir = tempDir();
  await (await openSqliteStore({ dataDir: dir, env: {} })).close();
  sim = new JiraSimulator({ email: 'soc-bot@contoso.example', apiToken: JIRA_TOKEN });
  await sim.start(0);
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((ok) => probe.close(ok));
});
after(async () => {
  await sim.stop();
  removeDir(dir);
});

describe('riposte assets add', () => {
  it('adds an asset with a secret from the environment; the secret is stored, never printed', async () => {
    const r = await run([...jiraArgs('jira-prod'), '--secret', 'apiToken=env:JIRA_TOKEN', '--description', 'Jira lab'], { env: { JIRA_TOKEN } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added asset "jira-prod" \(app atlassian-jira\)/);
    assert.match(r.stdout, new RegExp(`apiToken +${MASK} +\\(secret\\)`));
    assert.match(r.stdout, /riposte assets test jira-prod/);
    noSecrets(r);
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    try {
      const a = (await store.getAsset('jira-prod'))!;
      assert.deepEqual(a.config, { url: sim.url, email: sim.email, projectKey: 'SEC' });
      assert.deepEqual(a.secretFields, ['apiToken']);
      assert.deepEqual(await store.getAssetSecrets('jira-prod'), { apiToken: JIRA_TOKEN });
      const audit = (await store.listAudit({ limit: 100 })).find((e) => e.target === 'asset:jira-prod');
      assert.match(audit?.actor ?? '', /^cli:/);
      assert.ok(!JSON.stringify(audit).includes(JIRA_TOKEN));
    } finally {
      await store.close();
    }
  });

  it('reads secrets from a file (trailing newline removed) or stdin, and types numbers per the schema', async () => {
    const file = join(dir, 'token.txt');
    writeFileSync(file, `${WRONG_TOKEN}\n`, { mode: 0o600 });
    const r = await cli(...jiraArgs('jira-wrong'), '--secret', `apiToken=@${file}`);
    assert.equal(r.code, 0, r.stderr);
    noSecrets(r);
    const p = await run(['assets', 'add', 'panos-lab', '--app', 'palo-alto-panos', '--config', 'url=https://fw.example.test', '--config', 'username=admin',
      '--config', 'commitTimeoutMs=5000', '--secret', 'password=-'], { input: `${PANOS_PASSWORD}\r\n` });
    assert.equal(p.code, 0, p.stderr);
    noSecrets(p);
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    try {
      assert.deepEqual(await store.getAssetSecrets('jira-wrong'), { apiToken: WRONG_TOKEN });
      assert.deepEqual(await store.getAssetSecrets('panos-lab'), { password: PANOS_PASSWORD });
      assert.equal((await store.getAsset('panos-lab'))!.config['commitTimeoutMs'], 5000, 'stored as a number');
    } finally {
      await store.close();
    }
  });

  it('takes a JSON config file, moving secret fields in it to the secrets', async () => {
    const file = join(dir, 'cases.json');
    writeFileSync(file, JSON.stringify({ url: deadUrl, apiToken: JIRA_TOKEN }));
    const r = await cli('assets', 'add', 'cases-local', '--app', 'riposte-cases', '--config-file', file, '--egress-allow', 'loopback');
    assert.equal(r.code, 0, r.stderr);
    noSecrets(r);
    const j = JSON.parse((await cli('assets', 'show', 'cases-local', '--json')).stdout) as { asset: { config: Record<string, unknown>; secretFields: string[] } };
    assert.deepEqual(j.asset.config, { url: deadUrl, apiToken: MASK });
    assert.deepEqual(j.asset.secretFields, ['apiToken']);
  });

  it('refuses bad input with one line naming the problem, and stores nothing', async () => {
    const before = await assetNames();
    userError(await cli('assets', 'add', 'x', '--app', 'no-such-app'), /no app "no-such-app" \(installed: .*atlassian-jira/);
    userError(await cli(...jiraArgs('x'), '--config', 'colour=blue', '--secret', 'apiToken=env:JIRA_TOKEN'), /app atlassian-jira has no configuration field "colour" \(fields: url, email, apiToken, projectKey, issueType\)/);
    userError(await cli('assets', 'add', 'x', '--app', 'palo-alto-panos', '--config', 'url=https://fw', '--config', 'commitTimeoutMs=soon'), /--config commitTimeoutMs: expected integer, got "soon"/);
    userError(await cli('assets', 'add', 'x', '--app', 'palo-alto-panos', '--config', 'url=https://fw', '--config', 'commitTimeoutMs=1.5'), /invalid configuration for app palo-alto-panos: commitTimeoutMs:/);
    userError(await run(['assets', 'add', 'x', '--app', 'atlassian-jira', '--config', `url=${sim.url}`, '--config', 'projectKey=SEC', '--secret', 'apiToken=env:JIRA_TOKEN'], { env: { JIRA_TOKEN } }),
      /invalid configuration for app atlassian-jira: email: required/);
    userError(await cli(...jiraArgs('x')), /apiToken: required \(a secret: --secret apiToken=@file, env:VAR or -, or --prompt-secrets\)/);
    userError(await cli(...jiraArgs('x'), '--config', `apiToken=${JIRA_TOKEN}`), /"apiToken" is a secret of app atlassian-jira: pass it with --secret apiToken=@<file>/);
    userError(await cli(...jiraArgs('x'), '--secret', `apiToken=${JIRA_TOKEN}`), /--secret apiToken: give the value as apiToken=@<file>, apiToken=env:<VAR> or apiToken=- \(stdin\), or use --prompt-secrets; a value typed on the command line would end up in shell history/);
    userError(await cli(...jiraArgs('x'), '--secret', JIRA_TOKEN), /--secret must look like <key>=@<file>/);
    userError(await cli(...jiraArgs('x'), '--secret', 'email=env:JIRA_TOKEN'), /"email" is not a secret of app atlassian-jira: pass it with --config email=<value>/);
    userError(await cli(...jiraArgs('x'), '--secret', 'apiToken=env:NOT_SET_ANYWHERE'), /environment variable NOT_SET_ANYWHERE is not set or empty/);
    userError(await cli(...jiraArgs('x'), '--prompt-secrets'), /--prompt-secrets needs a terminal/);
    userError(await cli(...jiraArgs('jira-prod'), '--secret', 'apiToken=env:JIRA_TOKEN'), /asset "jira-prod" already exists \(pass --replace/);
    userError(await cli(...jiraArgs('bad name!')), /invalid asset name "bad name!"/);
    assert.deepEqual(await assetNames(), before);
  });

  it('refuses destinations the egress policy refuses (file:, metadata, loopback without an allowance), storing nothing', async () => {
    const before = await assetNames();
    const jira = (url: string, ...more: string[]) => run(['assets', 'add', 'x', '--app', 'atlassian-jira', '--config', `url=${url}`,
      '--config', `email=${sim.email}`, '--config', 'projectKey=SEC', '--secret', 'apiToken=env:JIRA_TOKEN', ...more], { env: { JIRA_TOKEN } });
    userError(await jira('file:///etc/passwd'), /asset "x" not saved: url: refused by the egress policy: scheme file: is not http or https/);
    userError(await jira('http://169.254.169.254/latest', '--egress-allow', 'loopback'), /url: refused by the egress policy: its host is link-local/);
    userError(await jira(sim.url.replace('127.0.0.1', '2130706433')), /its host is a loopback address; an operator may allow it .*--egress-allow/);
    userError(await jira(sim.url, '--egress-allow', '0.0.0.0/0'), /--egress-allow: egress allowance "0\.0\.0\.0\/0" overlaps 0\.0\.0\.0\/8/);
    userError(await jira(sim.url, '--egress-allow', 'everywhere'), /--egress-allow: egress allowance "everywhere" is not loopback, private or a CIDR/);
    assert.deepEqual(await assetNames(), before);
  });
});

describe('riposte assets add --prompt-secrets', () => {
  it('asks on a terminal without echoing the secret (pty via script(1))', async () => {
    requirePrograms('the --prompt-secrets test', [{ program: 'script', packages: 'bsdutils' }]);
    const secret = 'prompted-SECRET-4b7d9e1f';
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, join(ROOT, 'bin/riposte.js'), 'assets', 'add', 'cases-prompted', '--app', 'riposte-cases', '--prompt-secrets'].map(q).join(' ');
    const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_SECRET_KEY: '', RIPOSTE_DATA_DIR: dir };
    const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      let answered = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        // Type the secret once the prompt is shown, as a person would.
        if (!answered && text.includes('apiToken: ')) {
          answered = true;
          child.stdin.write(`${secret}\r`);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => { clearTimeout(timer); resolve({ code, text }); });
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /apiToken: /);
    assert.match(out.text, /added asset "cases-prompted"/);
    assert.ok(!out.text.includes(secret), `the secret was echoed: ${out.text}`);
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    try {
      assert.deepEqual(await store.getAssetSecrets('cases-prompted'), { apiToken: secret });
      await store.deleteAsset('cases-prompted', 'test');
    } finally {
      await store.close();
    }
  });
});

describe('riposte assets list / show', () => {
  it('masks secrets in text and JSON', async () => {
    const l = await cli('assets', 'list');
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /^NAME +APP +CONFIG +UPDATED +DESCRIPTION$/m);
    assert.match(l.stdout, new RegExp(`jira-prod +atlassian-jira +url=${sim.url.replace(/\./g, '\\.')} email=soc-bot@contoso\\.example projectKey=SEC apiToken=${MASK}`));
    assert.match(l.stdout, new RegExp(`panos-lab +palo-alto-panos +.*commitTimeoutMs=5000 password=${MASK}`));
    noSecrets(l);
    const j = await cli('assets', 'list', '--json');
    noSecrets(j);
    const body = JSON.parse(j.stdout) as { assets: Array<{ name: string; config: Record<string, unknown> }> };
    assert.equal(body.assets.find((a) => a.name === 'jira-prod')!.config['apiToken'], MASK);
    const s = await cli('assets', 'show', 'jira-prod');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Asset jira-prod {2}app atlassian-jira \(Atlassian Jira Cloud\)/);
    assert.match(s.stdout, /Jira lab/);
    assert.match(s.stdout, new RegExp(`apiToken +${MASK} +\\(secret\\)`));
    assert.match(s.stdout, /not bound to any playbook role/);
    noSecrets(s);
    userError(await cli('assets', 'show', 'nope'), /asset "nope" does not exist/);
  });
});

describe('riposte assets test', () => {
  it('passes against the Jira simulator with the right token', async () => {
    const before = sim.callsTo('GET', '/rest/api/3/myself').length;
    const r = await cli('assets', 'test', 'jira-prod');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'OK  jira-prod (atlassian-jira): authenticated as SOC Automation');
    assert.equal(sim.callsTo('GET', '/rest/api/3/myself').length, before + 1);
  });

  it('fails with the vendor message, exit 1, and no secret in the output', async () => {
    const r = await cli('assets', 'test', 'jira-wrong');
    userError(r, /^error: FAILED {2}jira-wrong \(atlassian-jira\): Jira GET \/rest\/api\/3\/myself: HTTP 401: .*authenticated/);
    assert.equal(r.stdout, '');
    userError(await cli('assets', 'test', 'cases-local'), /FAILED {2}cases-local \(riposte-cases\): Riposte cases GET \/api\/v1\/health: ECONNREFUSED/);
  });
});

describe('riposte assets remove', () => {
  it('refuses while a playbook role is bound to the asset, unless --force', async () => {
    const store = await openSqliteStore({ dataDir: dir, env: {} });
    await store.putPlaybookSettings({ playbookId: 'mobile-unauthorized-ip', enabled: true, automation: null, bindings: { ticketing: 'jira-prod', firewall: 'panos-lab' } }, 'test');
    await store.close();
    userError(await cli('assets', 'remove', 'jira-prod'), /asset "jira-prod" is bound to playbook mobile-unauthorized-ip role ticketing; rebind .* or pass --force/);
    assert.match((await cli('assets', 'show', 'jira-prod')).stdout, /bound to: playbook mobile-unauthorized-ip role ticketing/);
    assert.ok((await assetNames()).includes('jira-prod'));

    const ok = await cli('assets', 'remove', 'jira-wrong');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'removed asset "jira-wrong"');
    const forced = await cli('assets', 'remove', 'panos-lab', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /warning: playbook mobile-unauthorized-ip role firewall is still bound to "panos-lab"/);
    assert.deepEqual((await assetNames()).sort(), ['cases-local', 'jira-prod']);
    userError(await cli('assets', 'remove', 'panos-lab'), /asset "panos-lab" does not exist/);
  });
});

describe('riposte apps', () => {
  it('lists apps with product, vendor, capabilities and action counts', async () => {
    const r = await cli('apps', 'list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID +PRODUCT +VENDOR +CAPABILITIES +ACTIONS$/m);
    assert.match(r.stdout, /^microsoft-intune +Intune +Microsoft +mdm +3$/m);
    assert.match(r.stdout, /^riposte-cases +Riposte built-in cases +Riposte +ticketing +5$/m);
    const j = JSON.parse((await cli('apps', 'list', '--json')).stdout) as { apps: Array<{ id: string; actions: string[] }> };
    assert.deepEqual(j.apps.find((a) => a.id === 'atlassian-jira')?.actions, ['createTicket', 'addComment', 'getTicket', 'transitionTicket']);
  });

  it('shows actions with their flags and inputs, and config fields with secrets marked', async () => {
    const r = await cli('apps', 'show', 'microsoft-intune');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}wipeDevice {2}contain, writes, non-idempotent, reconcile, undo: none, timeout 30\.0 s \(default\), up to 3 attempts$/m);
    assert.match(r.stdout, /^ {2}findDevice {2}investigate, read-only, idempotent, no reconcile/m);
    assert.match(r.stdout, /^ {4}keepEnrollmentData +boolean +default false$/m);
    assert.match(r.stdout, /^ {4}deviceId +string +required$/m);
    assert.match(r.stdout, /^ {2}clientSecret +string +required, SECRET$/m);
    assert.match(r.stdout, /^ {2}authorityUrl +string \(uri\) +default "https:\/\/login\.microsoftonline\.com"$/m);

    const p = await cli('apps', 'show', 'palo-alto-panos');
    assert.match(p.stdout, /^ {2}blockIp {2}contain, writes, idempotent, .*undo: unblockIp/m);

    const j = JSON.parse((await cli('apps', 'show', 'riposte-cases', '--json')).stdout) as {
      app: { config: Array<{ name: string; secret: boolean; required: boolean }>; actions: Array<{ name: string; undo: string | null; readOnly: boolean; input: Array<{ name: string; type: string; required: boolean; description?: string }> }> };
    };
    assert.deepEqual(j.app.config.map((f) => [f.name, f.secret, f.required]), [['url', false, false], ['apiToken', true, true]]);
    const create = j.app.actions.find((a) => a.name === 'createTicket')!;
    assert.deepEqual(create.input.map((f) => [f.name, f.type, f.required]), [
      ['summary', 'string', true], ['description', 'string', true], ['priority', 'low|medium|high|critical', false], ['labels', 'string[]', false],
      ['dedupeKey', 'string', true], ['incidentId', 'integer', false],
    ]);
    assert.equal(create.input.find((f) => f.name === 'incidentId')?.description, 'Incident the case is about (on the same Riposte server)');
    assert.equal(j.app.actions.find((a) => a.name === 'resolveCase')?.undo, 'reopenCase');
    userError(await cli('apps', 'show', 'nope'), /no app "nope" \(installed: /);
  });
});
