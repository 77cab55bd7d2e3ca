/**
 * `riposte playbooks new|test`: for the automation engineer, on a checkout of a playbook
 * repository. Neither touches the data directory or the server: `new` writes files into the
 * repository (never over an existing one), `test` builds the repository's playbooks (type-checked,
 * as a sync would) and runs its declarative tests (`tests/*.test.json`) hermetically, playbook code
 * in the sandbox. Anyone who can read the repository may use them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildForCli } from '../build-repository.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import { runRepositoryTestsApart } from '../../testing/repo-tests.js';
import { CliError, printJson } from '../open-store.js';
import { terminalSafe } from '../format.js';
import { playbookTemplate, testTemplate } from './playbook-template.js';
import { print } from '../output.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function registerPlaybookAuthoring(playbooks: Command): void {
  playbooks.command('new')
    .description('create a playbook and its test in a playbook repository (playbooks/<name>.ts, tests/<name>.test.json)')
    .argument('<name>', 'the playbook id: lowercase letters, digits and dashes')
    .option('--dir <path>', 'the repository', '.')
    .action((name: string, opts: { dir: string }) => {
      if (!NAME.test(name)) throw new CliError(`playbook name "${terminalSafe(name)}" must be lowercase letters, digits and dashes (at most 63), starting with a letter or digit`);
      const root = resolve(opts.dir);
      if (!existsSync(root)) throw new CliError(`directory ${terminalSafe(root)} does not exist`);
      const files = { [`playbooks/${name}.ts`]: playbookTemplate(name), [`tests/${name}.test.json`]: testTemplate(name) };
      for (const file of Object.keys(files)) {
        if (existsSync(join(root, file))) throw new CliError(`${file} already exists in ${terminalSafe(root)}: nothing was written`);
      }
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(join(root, file, '..'), { recursive: true });
        writeFileSync(join(root, file), text, { flag: 'wx' });
        print(`created ${file}`);
      }
      print(`Run its test with: riposte playbooks test ${opts.dir === '.' ? '' : terminalSafe(opts.dir)}`.trimEnd());
    });

  playbooks.command('test')
    .description("build a playbook repository's playbooks and run its tests (tests/*.test.json) hermetically: nothing is sent")
    .argument('[dir]', 'the repository', '.')
    .option('--json', 'machine-readable JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const root = resolve(dir);
      if (!existsSync(root)) throw new CliError(`directory ${terminalSafe(root)} does not exist`);
      const sandbox = new Sandbox();
      try {
        const builds = await buildForCli(sandbox, root, 'the playbooks do not build', { localDirectory: true });
        let results;
        try {
          results = await runRepositoryTestsApart(root, builds);
        } catch (err) {
          throw new CliError(terminalSafe((err as Error).message));
        }
        if (opts.json) printJson({ playbooks: builds.map((b) => ({ id: b.playbookId, path: b.path, hash: b.bundle.hash })), tests: results });
        else {
          if (results.length === 0) print('no tests (tests/*.test.json)');
          for (const [i, r] of results.entries()) {
            print(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${terminalSafe(r.file)}${r.description ? ` (${terminalSafe(r.description)})` : ''} ${Math.round(r.ms)} ms`);
            for (const p of r.problems) print(`    ${terminalSafe(p)}`);
          }
          const failed = results.filter((r) => !r.ok).length;
          print(`${results.length - failed} passed, ${failed} failed (${builds.length} playbook(s) built)`);
        }
        if (results.some((r) => !r.ok)) process.exitCode = 1;
      } finally {
        sandbox.close();
      }
    });
}
