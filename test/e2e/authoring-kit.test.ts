/**
 * The authoring loop end to end, as an automation engineer runs it: a real run of the founding
 * playbook against the lab simulators; `riposte runs export --fixture` turns it into a test of a
 * playbook repository; `riposte playbooks test` runs it hermetically; `riposte runs replay` checks
 * the recorded run against the repository's code — the same, then changed — and a commit that does
 * not build is refused with nothing replayed. Nothing reaches the lab after the real run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labOf } from '../support/lab.js';
import { startTempServer } from '../support/temp-server.js';
import { foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import { tempDir } from '../support/temp-store.js';
import { runIn } from '../support/wait.js';
import { cliAsync } from '../cli/fixture.js';

const FOUNDING = fileURLToPath(new URL('../../../playbooks/mobile-unauthorized-ip.ts', import.meta.url));
/** The shipped playbook as a repository holds it: importing the SDK as `riposte`. */
const foundingSource = (): string => readFileSync(FOUNDING, 'utf8').replace(/'\.\.\/src\/sdk\/index\.js'/g, "'riposte'");

/** The lab's Intune device of the alert's phone. */
const JDOE_IPHONE = '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
let sid = 0;
const alert = () => foundingSearchAlert(`kit_${Date.now()}_${++sid}`,
  { dest_ip: '203.0.113.45', src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE', severity: 'high' });

test('a real run exported as a fixture drives a repository test; replay reports the same path, then the first divergence', async () => {
  using tmp = tempDir('riposte-kit-repo-');
  const repo = tmp.dir;
  mkdirSync(join(repo, 'playbooks'), { recursive: true });
  writeFileSync(join(repo, 'playbooks', 'mobile-unauthorized-ip.ts'), foundingSource());
  await using srv = await startTempServer('riposte-kit-e2e-', { lab: true });
  const riposte = (...args: string[]) => cliAsync(srv.dataDir, {}, ...args);
  const settings = (await srv.store.getPlaybookSettings('mobile-unauthorized-ip'))!;
  await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous' }, 'test');
  const send = async () => {
    const res = await postSplunkAlert(srv, alert());
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return runIn(srv.store, (res.json as { runs: string[] }).runs[0]!);
  };
  await send();
  const run = await send(); // the repeat offender: wipe and block
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.equal((run.output as { outcome: string }).outcome, 'contained');
  const lab = labOf(srv);
  const ticketsBefore = lab.jira.issues().length;
  const firewallCommitsBefore = lab.panos.commitCount();
  const wipesBefore = lab.graph.wipeCount(JDOE_IPHONE);
  assert.equal(wipesBefore, 1, 'the real run wiped the phone once');

  const exported = await riposte('runs', 'export', run.id, '--fixture', '--out', join(repo, 'tests', 'repeat-offender.test.json'));
  assert.equal(exported.code, 1, 'the tests/ directory does not exist yet: refused');
  mkdirSync(join(repo, 'tests'));
  const ok = await riposte('runs', 'export', run.id, '--fixture', '--out', join(repo, 'tests', 'repeat-offender.test.json'));
  assert.equal(ok.code, 0, ok.stderr);
  const fixture = JSON.parse(readFileSync(join(repo, 'tests', 'repeat-offender.test.json'), 'utf8'));
  assert.equal(fixture.playbook, 'mobile-unauthorized-ip');
  assert.deepEqual(fixture.expect.actions.map((a: { name: string }) => a.name).sort(),
    ['directory.getUser', 'firewall.blockIp', 'mdm.findDevice', 'mdm.wipeDevice', 'ticketing.createTicket']);
  assert.equal(fixture.scenario.snapshot.id, run.incidentId);

  const tested = await riposte('playbooks', 'test', repo);
  assert.equal(tested.code, 0, tested.stdout + tested.stderr);
  assert.match(tested.stdout, /^ok 1 - tests\/repeat-offender\.test\.json/m);

  const same = await riposte('runs', 'replay', run.id, '--dir', repo);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^same: the new code \([0-9a-f]{16}\) takes the recorded path/);

  // The run exported with its journal replays where there is no data directory (a repository's CI).
  const recorded = join(repo, 'recorded-run.json');
  const journal = await riposte('runs', 'export', run.id, '--journal', '--out', recorded);
  assert.equal(journal.code, 0, journal.stderr);
  using nowhere = tempDir('riposte-kit-ci-');
  const inCi = await cliAsync(nowhere.dir, {}, 'runs', 'replay', '--file', recorded, '--dir', repo);
  assert.equal(inCi.code, 0, inCi.stdout + inCi.stderr);
  assert.match(inCi.stdout, /^same: /);
  writeFileSync(join(nowhere.dir, 'bad.json'), JSON.stringify({ format: 'riposte-run/1', run: { id: 'x' }, journal: [] }));
  const badFile = await cliAsync(nowhere.dir, {}, 'runs', 'replay', '--file', join(nowhere.dir, 'bad.json'), '--dir', repo);
  assert.equal(badFile.code, 1);
  assert.match(badFile.stderr, /not a recorded run .*run\.playbookId/);

  // The code changes the note it writes after containment: both checks name the difference.
  writeFileSync(join(repo, 'playbooks', 'mobile-unauthorized-ip.ts'), foundingSource().replace('`Repeat offender (', '`Repeat offender! ('));
  const diverged = await riposte('runs', 'replay', run.id, '--dir', repo);
  assert.equal(diverged.code, 1, diverged.stderr);
  assert.match(diverged.stdout, /^diverges: .*note/m);
  const failing = await riposte('playbooks', 'test', repo);
  assert.equal(failing.code, 1);
  assert.match(failing.stdout, /^not ok 1 .*\n\s+note 1: expected "Repeat offender \(1 earlier/m);

  // New code that asks for a step the run never did: named, with its input.
  writeFileSync(join(repo, 'playbooks', 'mobile-unauthorized-ip.ts'), foundingSource().replace(
    'const contained = wiped || blocked;', "await ctx.roles.firewall.blockIp({ ip: '192.0.2.1' });\n    const contained = wiped || blocked;"));
  const extra = await riposte('runs', 'replay', run.id, '--dir', repo);
  assert.equal(extra.code, 1);
  assert.match(extra.stdout, /diverges: .*firewall\.blockIp/);

  // A commit that does not compile: the compiler's message, nothing replayed.
  writeFileSync(join(repo, 'playbooks', 'mobile-unauthorized-ip.ts'), foundingSource().replace('await ctx.note(', 'await ctx.notes('));
  const broken = await riposte('runs', 'replay', run.id, '--dir', repo);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /the new code does not build, nothing was replayed:[\s\S]*notes/);

  // Bad input, named.
  const neither = await riposte('runs', 'export', run.id);
  assert.match(neither.stderr, /exactly one of --fixture or --journal/);
  const both = await riposte('runs', 'replay', run.id);
  assert.match(both.stderr, /exactly one of --dir <path> or --commit <sha>/);
  const builtin = await riposte('runs', 'replay', run.id, '--commit', 'abcdef1');
  assert.match(builtin.stderr, /did not come from a Git repository|not in the mirror/);
  const missing = await riposte('runs', 'export', 'no-such-run-id', '--fixture');
  assert.equal(missing.code, 1);

  // Nothing of the above reached a vendor.
  assert.equal(lab.jira.issues().length, ticketsBefore);
  assert.equal(lab.panos.commitCount(), firewallCommitsBefore);
  assert.equal(lab.panos.isIpBlocked('192.0.2.1'), false, 'the new code\'s extra block was not sent');
  assert.equal(lab.graph.wipeCount(JDOE_IPHONE), wipesBefore);
});

test('the export and replay commands need the data directory and its key', async () => {
  using empty = tempDir('riposte-kit-nodata-');
  const r = await cliAsync(empty.dir, {}, 'runs', 'export', 'abcdef123', '--fixture');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no Riposte data/);
});
