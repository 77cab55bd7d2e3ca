/**
 * Every CLI command declares who may use it (src/cli/command-access.ts): the test walks the real
 * program, so a new command without a declaration fails here, and an undeclared one refuses to
 * run. `lists add` asks for --allow-broad before an over-broad entry even from the local admin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { COMMAND_ACCESS, commandPath, requireDeclaredCommand } from '../../src/cli/command-access.js';
import { PERMISSIONS } from '../../src/api/permissions.js';
import { CliError } from '../../src/cli/open-store.js';
import { cli, openSeeded, removeDir, seed, tempDir } from './fixture.js';

function leafCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => (c.commands.length === 0 ? [c] : leafCommands(c)));
}

describe('CLI command access', () => {
  it('every command of the program declares who may use it, and no declaration is left over', () => {
    const paths = leafCommands(buildProgram()).map(commandPath).filter((p) => p !== 'help');
    assert.ok(paths.length >= 50, `only ${paths.length} commands found`);
    assert.deepEqual(paths.filter((p) => !Object.hasOwn(COMMAND_ACCESS, p)), [], 'undeclared commands');
    const known = new Set(paths);
    assert.deepEqual(Object.keys(COMMAND_ACCESS).filter((p) => !known.has(p)), [], 'declarations of gone commands');
    for (const a of Object.values(COMMAND_ACCESS)) {
      if ('api' in a) for (const p of a.api) assert.ok(p in PERMISSIONS, p);
    }
  });

  it('an undeclared command refuses to run', async () => {
    const program = buildProgram().exitOverride();
    let ran = false;
    program.command('sneaky').action(() => { ran = true; });
    assert.throws(() => requireDeclaredCommand(program.commands.find((c) => c.name() === 'sneaky')!), CliError);
    await assert.rejects(program.parseAsync(['node', 'riposte', 'sneaky']), /declares no access/);
    assert.equal(ran, false);
  });
});

describe('riposte lists add, editors and guard (local admin)', () => {
  let dir: string;
  before(async () => {
    dir = tempDir();
    await seed(dir);
    assert.equal(cli(dir, 'lists', 'create', 'allow').code, 0);
  });
  after(() => removeDir(dir));

  it('refuses 0.0.0.0/0 without --allow-broad and adds nothing; adds it with the flag', async () => {
    let r = cli(dir, 'lists', 'add', 'allow', '198.51.100.1', '0.0.0.0/0');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"0\.0\.0\.0\/0" is over-broad .*--allow-broad/);
    r = cli(dir, 'lists', 'show', 'allow', '--json');
    assert.deepEqual((JSON.parse(r.stdout) as { items: string[] }).items, []);
    r = cli(dir, 'lists', 'add', 'allow', '0.0.0.0/0', '--allow-broad');
    assert.equal(r.code, 0, r.stderr);
  });

  it('sets, shows and clears a list\'s editors, audited', async () => {
    let r = cli(dir, 'lists', 'editors', 'allow', '--users', 'alice,bob', '--roles', 'soc-lead');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /users alice, bob; roles soc-lead/);
    r = cli(dir, 'lists', 'editors', 'allow', '--json');
    assert.deepEqual(JSON.parse(r.stdout), { name: 'allow', editors: { users: ['alice', 'bob'], roles: ['soc-lead'] }, restricted: true });
    r = cli(dir, 'lists', 'editors', 'allow', '--clear');
    assert.match(r.stdout, /anyone with the permission lists\.edit/);
    assert.equal(cli(dir, 'lists', 'editors', 'nope').code, 1);
    const store = await openSeeded(dir);
    try {
      const audit = await store.listAudit({ after: 0, limit: 1000 });
      assert.equal(audit.filter((e) => e.action === 'list.editors').length, 2);
    } finally {
      await store.close();
    }
  });

  it('sets the shortest prefix; a bad value is refused', () => {
    let r = cli(dir, 'lists', 'guard', '--min-ipv4-prefix', '16');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /IPv4 shorter than \/16, IPv6 shorter than \/32/);
    r = cli(dir, 'lists', 'add', 'allow', '172.16.0.0/12');
    assert.equal(r.code, 1);
    r = cli(dir, 'lists', 'guard', '--min-ipv6-prefix', '129');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1 to 128/);
  });
});
