/**
 * Tests written in code with `riposte/testing`, in a fresh playbook repository, as its authors run
 * them: `node --no-node-snapshot --test`, the package installed in the repository's node_modules
 * (a link to this checkout, as `npm install` of a local path makes). They pass, a wrong expectation
 * fails, and each test takes well under a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp-store.js';
import { ROOT } from '../cli/fixture.js';
import { playbookTemplate } from '../../src/cli/commands/playbook-template.js';

const codeTest = (expectedNote: string) => `
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlaybook, runPlaybook } from 'riposte/testing';

const playbook = await loadPlaybook(new URL('../playbooks/block-source.ts', import.meta.url));

test('an allow-listed source is left alone', async () => {
  const run = await runPlaybook(playbook, {
    incident: { artifacts: [{ cef: { sourceAddress: '10.1.2.3' } }] },
    lists: { 'allowed-sources': ['10.0.0.0/8'] },
  });
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.actions, []);
  assert.equal(run.incident.status, 'closed');
});

test('another source is blocked, after approval', async () => {
  const run = await runPlaybook(playbook, {
    incident: { artifacts: [{ cef: { sourceAddress: '198.51.100.7' } }] },
    lists: { 'allowed-sources': [] },
    actions: { 'firewall.blockIp': { output: { blocked: true, ip: '198.51.100.7' } } },
  });
  assert.equal(run.actions[0].approval.status, 'approved');
  assert.deepEqual(run.notes, [${JSON.stringify(expectedNote)}]);
});
`;

function repository(expectedNote: string): { dir: string; remove(): void } {
  const tmp = tempDir('riposte-code-tests-');
  mkdirSync(join(tmp.dir, 'playbooks'));
  mkdirSync(join(tmp.dir, 'test'));
  mkdirSync(join(tmp.dir, 'node_modules'));
  symlinkSync(ROOT, join(tmp.dir, 'node_modules', 'riposte'));
  writeFileSync(join(tmp.dir, 'package.json'), JSON.stringify({ name: 'soc-playbooks', private: true, type: 'module' }));
  writeFileSync(join(tmp.dir, 'playbooks', 'block-source.ts'), playbookTemplate('block-source'));
  writeFileSync(join(tmp.dir, 'test', 'block-source.test.mjs'), codeTest(expectedNote));
  return tmp;
}

const run = (dir: string) => {
  // Without NODE_TEST_CONTEXT the child reports for itself (TAP), not to this test runner.
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env['NODE_TEST_CONTEXT'];
  return spawnSync(process.execPath, ['--no-node-snapshot', '--test', '--test-reporter=tap', 'test/'], {
    cwd: dir, encoding: 'utf8', timeout: 60_000, env,
  });
};

test('a repository\'s code tests pass with riposte/testing, each well under a second', () => {
  const repo = repository('Blocked 198.51.100.7 at the firewall.');
  try {
    const r = run(repo.dir);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# pass 2$/m);
    for (const m of r.stdout.matchAll(/^ok \d+ - .*\n\s+---\n\s+duration_ms: ([\d.]+)/gm)) {
      assert.ok(Number(m[1]) < 1000, `a test took ${m[1]} ms`);
    }
  } finally {
    repo.remove();
  }
});

test('a wrong expectation in a code test fails it', () => {
  const repo = repository('something else');
  try {
    const r = run(repo.dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^# fail 1$/m);
  } finally {
    repo.remove();
  }
});
