/**
 * `riposte serve --lab` as an operator starts it: nothing but its own output on stderr — in
 * particular no deprecation or other process warning from a dependency's option we still use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, removeDir, tempDir } from './fixture.js';

test('serve --lab starts without printing a warning, and stops on SIGTERM', async () => {
  const dataDir = tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_SECRET_KEY: '', RIPOSTE_LOG_LEVEL: 'warn' };
  // Whatever the caller's environment says, warnings must be printed for this test to mean anything.
  for (const k of ['NODE_OPTIONS', 'NODE_NO_WARNINGS', 'NODE_PENDING_DEPRECATION']) delete env[k];
  const args = ['serve', '--lab', '--port', '0', '--lab-port', '0', '--data-dir', dataDir];
  const child = spawn(process.execPath, [join(ROOT, 'bin/riposte.js'), ...args], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('Stop with Ctrl-C.')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        assert.fail(`the server did not start:\n${stdout}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // Warnings are emitted on the next tick after the code that triggers them: give them a moment.
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    const lines = stderr.split('\n').filter((l) => l !== '');
    const expected = ['SIGTERM: stopping Riposte (running steps finish first)…'];
    assert.deepEqual(lines, expected, `unexpected stderr:\n${stderr}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    removeDir(dataDir);
  }
});
