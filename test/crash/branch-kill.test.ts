/**
 * The branch example (two parallel branches of two steps, then a park) survives `kill -9` at
 * random moments: after every restart the replay matches the journal, and the run completes with
 * each note written once. The directory server lives in this process and survives the kills.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { startDirectoryServer } from '../support/directory-app.js';

const CHILD = 'dist/test/support/branch-child.js';

function start(args: string[]): { child: ChildProcess; stdout: Promise<string>; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const stdout = new Promise<string>((resolve) =>
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    }),
  );
  return { child, stdout, exited: new Promise((r) => child.once('exit', r)) };
}

test(
  'branch example: kill -9 at random moments, restart, replay → completed, each note once',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-branch-kill-'));
    const db = join(dir, 'riposte.db');
    const directory = await startDirectoryServer(() => 40 + Math.floor(Math.random() * 80));
    const children: ChildProcess[] = [];
    try {
      const first = start([db, directory.url, 'fire']);
      children.push(first.child);
      const runId = await first.stdout;
      let kills = 0;
      let current = first;
      for (let round = 0; round < 6; round++) {
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 700)));
        current.child.kill('SIGKILL');
        await current.exited;
        kills++;
        current = start([db, directory.url, 'resume']);
        children.push(current.child);
      }
      const reader = new SqliteStore({ path: db, secretKey: Buffer.alloc(32, 7) });
      try {
        let run = await reader.getRun(runId);
        for (
          const until = Date.now() + 60_000;
          run && !['completed', 'failed', 'needs_attention'].includes(run.status) && Date.now() < until;
        ) {
          await new Promise((r) => setTimeout(r, 50));
          run = await reader.getRun(runId);
        }
        assert.ok(run, 'the run exists');
        assert.equal(run.status, 'completed', `${run.status}: ${run.attentionReason ?? ''}`);
        assert.deepEqual(run.output, { found: true });
        const notes = (await reader.listNotes(run.incidentId)).map((n) => n.text).sort();
        assert.deepEqual(notes, ['A', 'B', 'after the park']);
        assert.ok(kills >= 6);
      } finally {
        await reader.close();
      }
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await directory.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
