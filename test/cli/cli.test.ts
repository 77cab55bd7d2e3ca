import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RUN_DONE, RUN_PARKED, RUN_PARKED_FW, cli, cliWithEnv, openSeeded, removeDir, seed, tempDir } from './fixture.js';

let dir: string;
before(async () => {
  dir = tempDir();
  await seed(dir);
});
after(() => removeDir(dir));

const oneLineError = (stderr: string) => {
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
};

describe('riposte incidents', () => {
  it('lists incidents as a table', () => {
    const r = cli(dir, 'incidents', 'list');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID +SEVERITY +STATUS +LABEL +NAME +REPEATS +CREATED$/);
    assert.match(r.stdout, /2 +medium +new +mobile-unauthorized-ip +Phone of asmith reached a bad host +0/);
    assert.match(r.stdout, /1 +high +new +mobile-unauthorized-ip +Mobile device reached unauthorized IP/);
  });

  it('filters and prints JSON', () => {
    const r = cli(dir, 'incidents', 'list', '--q', 'asmith', '--json');
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { incidents: Array<{ id: number; severity: string }> };
    assert.deepEqual(body.incidents.map((i) => i.severity), ['medium']);
  });

  it('shows an incident with CEF fields, contains types, notes and runs', () => {
    const r = cli(dir, 'incidents', 'show', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Incident #1 {2}Mobile device reached unauthorized IP/);
    assert.match(r.stdout, /destinationAddress += 203\.0\.113\.45 {2}\(ip\)/);
    assert.match(r.stdout, /sourceUserName += jdoe@contoso\.example {2}\(user name\)/);
    assert.match(r.stdout, /Ticket SEC-1 opened\./);
    assert.match(r.stdout, new RegExp(`${RUN_DONE} +mobile-unauthorized-ip@1 +completed`));
    const json = JSON.parse(cli(dir, 'incidents', 'show', '1', '--json').stdout) as { incident: { artifacts: unknown[] }; notes: unknown[]; runs: unknown[] };
    assert.equal(json.incident.artifacts.length, 1);
    assert.equal(json.notes.length, 1);
    assert.equal(json.runs.length, 1);
  });

  it('refuses an unknown incident and a bad status with one line and exit 1', () => {
    const r = cli(dir, 'incidents', 'show', '99');
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'error: incident 99 does not exist');
    const s = cli(dir, 'incidents', 'list', '--status', 'bogus');
    assert.equal(s.code, 1);
    oneLineError(s.stderr);
    assert.match(s.stderr, /--status must be one of/);
  });
});

describe('riposte runs', () => {
  it('lists runs, filtered by incident and status', () => {
    const r = cli(dir, 'runs', 'list', '--incident', '2', '--status', 'needs_attention');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(RUN_PARKED));
    assert.match(r.stdout, new RegExp(RUN_PARKED_FW));
    assert.doesNotMatch(r.stdout, new RegExp(RUN_DONE));
    assert.equal((JSON.parse(cli(dir, 'runs', 'list', '--json').stdout) as { runs: unknown[] }).runs.length, 3);
  });

  it('shows a readable timeline', () => {
    const r = cli(dir, 'runs', 'show', RUN_DONE);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /COMPLETED/);
    assert.match(out, /mobile-unauthorized-ip@1 {2}\(code 545f3a732bfe4acd\)/);
    assert.match(out, /#1 {2}Mobile device reached unauthorized IP/);
    assert.match(out, /duration +1\.8 s/);
    assert.match(out, /saved +45 analyst minutes/);
    for (const name of ['lists.contains', 'mdm.findDevice', 'directory.getUser', 'mdm.wipeDevice', 'note']) assert.ok(out.includes(name), name);
    assert.match(out, /║ #1 +\+20 ms +mdm\.findDevice +\[intune-lab\] +120 ms +completed/);
    assert.match(out, /║ #2 +\+21 ms +directory\.getUser/);
    assert.match(out, /mdm\.wipeDevice +\[intune-lab\] +1\.5 s +completed after 2 attempts/);
    assert.match(out, /note reconciled|note outcome was unknown \(timeout\); reconciled with the vendor/);
    assert.match(out, /attempt 1 +timeout +1\.0 s +RetryableError: request timed out/);
    assert.ok(!out.includes('X'.repeat(150)), 'long output is truncated in text mode');
  });

  it('shows the attention reason of a parked run, found by a unique prefix', () => {
    const r = cli(dir, 'runs', 'show', RUN_PARKED.slice(0, 8));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Run ${RUN_PARKED} {2}NEEDS_ATTENTION`));
    assert.match(r.stdout, /ATTENTION +step 0 mdm\.wipeDevice on asset "x": outcome unknown \(connection reset\)/);
    assert.match(r.stdout, /outcome unknown \(intent recorded, no result\)/);
  });

  it('prints everything with --json', () => {
    const body = JSON.parse(cli(dir, 'runs', 'show', RUN_DONE, '--json').stdout) as { run: { id: string }; journal: Array<{ output: unknown }>; actionResults: unknown[] };
    assert.equal(body.run.id, RUN_DONE);
    assert.equal(body.journal.length, 5);
    assert.equal(body.actionResults.length, 3);
    assert.ok(JSON.stringify(body.journal[1]!.output).includes('X'.repeat(200)));
  });

  it('refuses an ambiguous, too short or unknown prefix', () => {
    const amb = cli(dir, 'runs', 'show', 'aaaaaaa');
    assert.equal(amb.code, 1);
    oneLineError(amb.stderr);
    assert.match(amb.stderr, /ambiguous: it matches aaaaaaaa-1111.*, aaaaaaab-2222/);
    assert.match(cli(dir, 'runs', 'show', 'aaaa').stderr, /at least 6 characters/);
    assert.match(cli(dir, 'runs', 'show', 'ffffffff').stderr, /no run id starts with "ffffffff"/);
  });
});

describe('riposte runs resolve', () => {
  it('refuses output that does not match the action schema and writes nothing', async () => {
    const r = cli(dir, 'runs', 'resolve', RUN_PARKED, '0', '--applied', '--output', '{"accepted":"yes"}');
    assert.equal(r.code, 1);
    oneLineError(r.stderr);
    assert.match(r.stderr, /--output does not match the output of microsoft-intune\.wipeDevice: accepted:/);
    assert.match(cli(dir, 'runs', 'resolve', RUN_PARKED, '0', '--applied', '--not-applied').stderr, /exactly one of --applied or --not-applied/);
    assert.match(cli(dir, 'runs', 'resolve', RUN_PARKED, '0', '--applied', '--output', '{nope').stderr, /--output is not valid JSON/);
    const store = await openSeeded(dir);
    try {
      assert.equal((await store.getRun(RUN_PARKED))!.status, 'needs_attention');
      assert.equal((await store.loadJournal(RUN_PARKED))[0]!.status, 'started');
    } finally { await store.close(); }
  });

  it('--applied completes the step with the output and sets the run to resume', async () => {
    const r = cli(dir, 'runs', 'resolve', RUN_PARKED.slice(0, 8), '0', '--applied', '--output', '{"accepted":true,"state":"pending"}');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Resolved step 0 mdm\.wipeDevice on asset "intune-lab" as APPLIED/);
    assert.match(r.stdout, /within a second/);
    const store = await openSeeded(dir);
    try {
      const run = (await store.getRun(RUN_PARKED))!;
      assert.equal(run.status, 'waiting', 'due now, for the running engine');
      assert.ok(run.wakeAt !== null && Date.parse(run.wakeAt) <= Date.now());
      assert.equal(run.attentionReason, null);
      const e = (await store.loadJournal(RUN_PARKED))[0]!;
      assert.equal(e.status, 'completed');
      assert.deepEqual(e.output, { accepted: true, state: 'pending' });
      const audit = await store.listAudit({ limit: 1000 });
      assert.ok(audit.some((a) => a.actor.startsWith('cli:')), 'audited as cli:<user>');
    } finally { await store.close(); }
    // Resolved already: a second answer is refused.
    assert.match(cli(dir, 'runs', 'resolve', RUN_PARKED, '0', '--not-applied').stderr, /is waiting, not needs_attention/);
  });

  it('--not-applied removes the intent so the step is sent again', async () => {
    const r = cli(dir, 'runs', 'resolve', RUN_PARKED_FW, 'firewall.blockIp', '--not-applied');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /as NOT applied/);
    const store = await openSeeded(dir);
    try {
      assert.equal((await store.getRun(RUN_PARKED_FW))!.status, 'waiting');
      assert.deepEqual(await store.loadJournal(RUN_PARKED_FW), []);
    } finally { await store.close(); }
  });

  it('refuses a run that is not parked', () => {
    const r = cli(dir, 'runs', 'resolve', RUN_DONE, '3', '--not-applied');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is completed, not needs_attention/);
  });
});

describe('riposte lists', () => {
  it('creates, adds, shows and removes items', () => {
    assert.equal(cli(dir, 'lists', 'create', 'blocked-ips', '--description', 'known bad').code, 0);
    const add = cli(dir, 'lists', 'add', 'blocked-ips', '203.0.113.0/24', '192.0.2.7', '192.0.2.7');
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added 2 items to "blocked-ips"/);
    const show = cli(dir, 'lists', 'show', 'blocked-ips');
    assert.match(show.stdout, /List blocked-ips: known bad/);
    assert.match(show.stdout, /^ {2}192\.0\.2\.7$/m);
    assert.match(show.stdout, /^ {2}203\.0\.113\.0\/24$/m);
    assert.deepEqual((JSON.parse(cli(dir, 'lists', 'show', 'blocked-ips', '--json').stdout) as { items: string[] }).items, ['192.0.2.7', '203.0.113.0/24']);
    assert.match(cli(dir, 'lists', 'remove', 'blocked-ips', '192.0.2.7', '10.0.0.1').stdout, /removed 1 item from "blocked-ips" \(1 not in the list\)/);
    assert.match(cli(dir, 'lists', 'list').stdout, /blocked-ips +1 +.*known bad/);
  });

  it('refuses a bad CIDR with exit 1 and adds nothing', () => {
    const r = cli(dir, 'lists', 'add', 'blocked-ips', '198.51.100.9', '10.0.0.0/33');
    assert.equal(r.code, 1);
    oneLineError(r.stderr);
    assert.match(r.stderr, /malformed CIDR "10\.0\.0\.0\/33".*nothing was added/);
    assert.deepEqual((JSON.parse(cli(dir, 'lists', 'show', 'blocked-ips', '--json').stdout) as { items: string[] }).items, ['203.0.113.0/24']);
  });

  it('deletes a list; unknown and duplicate lists are clear errors', () => {
    assert.match(cli(dir, 'lists', 'create', 'allowed-destinations').stderr, /already exists/);
    assert.equal(cli(dir, 'lists', 'delete', 'blocked-ips').code, 0);
    const r = cli(dir, 'lists', 'show', 'blocked-ips');
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'error: list "blocked-ips" does not exist');
  });
});

describe('riposte audit and playbooks', () => {
  it('verifies the audit chain', () => {
    const r = cli(dir, 'audit', 'verify');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^audit chain OK: \d+ entries$/m);
    assert.equal((JSON.parse(cli(dir, 'audit', 'verify', '--json').stdout) as { ok: boolean }).ok, true);
    assert.match(cli(dir, 'audit', 'list', '--limit', '3').stdout, /^ID +AT +ACTOR +ACTION/);
  });

  it('reports a broken audit chain with the entry id and exit 2', async () => {
    const other = tempDir();
    try {
      await seed(other);
      const store = await openSeeded(other);
      try {
        // Bypass the append-only triggers as someone with file access could.
        store.db.exec('DROP TRIGGER audit_log_no_update');
        store.db.prepare(`UPDATE audit_log SET actor = 'mallory' WHERE id = 3`).run();
      } finally { await store.close(); }
      const r = cli(other, 'audit', 'verify');
      assert.equal(r.code, 2);
      assert.match(r.stdout, /^audit chain BROKEN at entry #3: hash mismatch/);
    } finally { removeDir(other); }
  });

  it('validates bindings: playbook, role, asset and capability', () => {
    const pb = 'mobile-unauthorized-ip';
    const cases: Array<[string[], RegExp]> = [
      [['nope', 'mdm=intune-lab'], /no playbook "nope"/],
      [[pb, 'fw=panos-lab'], /has no role "fw"/],
      [[pb, 'mdm=missing'], /asset "missing" does not exist/],
      [[pb, 'firewall=intune-lab'], /does not implement the firewall capability/],
      [[pb, 'mdm'], /must look like <role>=<asset>/],
    ];
    for (const [args, re] of cases) {
      const r = cli(dir, 'playbooks', 'bind', ...args);
      assert.equal(r.code, 1, args.join(' '));
      oneLineError(r.stderr);
      assert.match(r.stderr, re);
    }
    assert.match(cli(dir, 'playbooks', 'list').stdout, /mdm → UNBOUND/);
  });

  it('binds roles, keeping the other settings', () => {
    const r = cli(dir, 'playbooks', 'bind', 'mobile-unauthorized-ip', 'mdm=intune-lab', 'firewall=panos-lab');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /still unbound: directory, ticketing/);
    const list = JSON.parse(cli(dir, 'playbooks', 'list', '--json').stdout) as { playbooks: Array<{ id: string; bindings: Record<string, string>; enabled: boolean }> };
    const p = list.playbooks.find((x) => x.id === 'mobile-unauthorized-ip')!;
    assert.deepEqual(p.bindings, { mdm: 'intune-lab', firewall: 'panos-lab' });
    assert.equal(p.enabled, true);
  });
});

describe('errors', () => {
  it('prints the stack trace only with RIPOSTE_DEBUG=1', () => {
    assert.doesNotMatch(cli(dir, 'incidents', 'show', '99').stderr, /\n\s+at /);
    const r = cliWithEnv(dir, { RIPOSTE_DEBUG: '1' }, 'incidents', 'show', '99');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CliError: incident 99 does not exist\n\s+at /);
    assert.match(r.stderr, /^error: incident 99 does not exist$/m);
  });

  it('rejects unknown options with exit 1', () => {
    const r = cli(dir, 'runs', 'list', '--bogus');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown option '--bogus'/);
  });

  it('says where it looked and how to start the server', () => {
    const parent = tempDir();
    try {
      const empty = join(parent, 'nothing-here');
      const r = cli(empty, 'incidents', 'list');
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), `error: no Riposte data in ${empty}: start the server first with \`riposte serve\` (or npm start)`);
      const d = cli(null, '--data-dir', empty, 'demo', '--no-wait');
      assert.equal(d.code, 1);
      assert.match(d.stderr, /no credentials at .*credentials\.json: start the server first/);
    } finally { removeDir(parent); }
  });
});
