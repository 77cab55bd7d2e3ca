/**
 * docs/playbooks.md, exercised: every command of its `sh` blocks runs, in order, in one shell (so
 * `cd` and variables carry over, as in the reader's terminal) against a real server with the lab
 * that this test starts itself — the guide's `riposte serve` line and the two `export` lines that
 * point at it are the only lines not run. `riposte` is the compiled CLI of this checkout. Then the
 * result the guide promises is checked: the playbook blocked the address at the lab firewall after
 * the approval, the real run became a passing test, and the changed code diverges on replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labOf } from '../support/lab.js';
import { startTempServer } from '../support/temp-server.js';
import { tempDir } from '../support/temp-store.js';
import { ROOT } from '../cli/fixture.js';

const DOC = join(ROOT, 'docs', 'playbooks.md');
/** Lines the test does itself: it starts the server, and points the CLI at it. */
const SKIP = [/^riposte serve\b/, /^export RIPOSTE_DATA_DIR=/, /^export RIPOSTE_URL=/];

/** The commands of the guide's `sh` blocks, in order (a trailing `\` joins lines). */
function shellOf(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.replace(/\\\n/g, ' ').split('\n')).map((l) => l.trim()).filter((l) => l !== '' && !SKIP.some((s) => s.test(l)));
}

test('docs/playbooks.md: every command works, and does what the guide says', async () => {
  const commands = shellOf(readFileSync(DOC, 'utf8'));
  assert.ok(commands.length >= 15, `only ${commands.length} commands found in ${DOC}`);
  await using srv = await startTempServer('riposte-docs-', { lab: true });
  using home = tempDir('riposte-docs-home-');
  const bin = join(home.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'riposte'), `#!/bin/sh\nexec "${process.execPath}" --no-node-snapshot "${join(ROOT, 'bin', 'riposte.js')}" "$@"\n`);
  chmodSync(join(bin, 'riposte'), 0o755);
  // Each command echoed before it runs, so a failure names it; the first failure stops the script.
  const script = ['set -eu', ...commands.map((c) => `printf '%s\\n' ${JSON.stringify(`$ ${c}`).replace(/\$/g, '\\$')}\n${c}`)].join('\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env, HOME: home.dir, PATH: `${bin}:${process.env['PATH']}`, RIPOSTE_DATA_DIR: srv.dataDir, RIPOSTE_URL: srv.url,
    NO_COLOR: '1', GIT_CONFIG_GLOBAL: join(home.dir, '.gitconfig'),
  };
  writeFileSync(join(home.dir, '.gitconfig'), '[user]\n\tname = SOC engineer\n\temail = soc@example.org\n');
  for (const k of ['RIPOSTE_TOKEN', 'RIPOSTE_SECRET_KEY', 'NODE_OPTIONS']) delete env[k];
  const out = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: home.dir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
  assert.equal(out.code, 0, `a command of ${DOC} failed:\n${out.output.slice(-4000)}`);

  // What the guide promises.
  assert.match(out.output, /^ok 1 - tests\/block-source\.test\.json/m);
  assert.match(out.output, /soc: activated [0-9a-f]{40}/);
  assert.equal(labOf(srv).panos.isIpBlocked('198.51.100.7'), true, 'the playbook blocked the address at the lab firewall');
  const runs = await srv.store.listRuns({ playbookId: 'block-source' });
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.status, 'completed', JSON.stringify(runs[0]!.error));
  assert.equal((await srv.store.getIncident(runs[0]!.incidentId))!.status, 'contained');
  assert.match(out.output, /^ok 2 - tests\/first-real-run\.test\.json/m, 'the exported run is a passing test');
  assert.match(out.output, /^same: the new code/m);
  assert.match(out.output, /^diverges: .*note/m);
  assert.match(out.output, /the change diverges from run/);
  assert.match(out.output, /the change diverges from the recorded run/);
});
