/**
 * The CLI writes to the terminal only through src/cli/output.ts, which escapes control characters
 * (issue 13: alert text must never drive the analyst's terminal): a command added later that
 * writes with console.log or process.stdout.write fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const CLI = join(ROOT, 'src/cli');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('src/cli writes to the terminal only through output.ts', () => {
  const offenders: string[] = [];
  for (const f of files(CLI)) {
    if (f.endsWith('/output.ts')) continue;
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (/\bconsole\.(log|error|warn|info|dir|table)\(|process\.(stdout|stderr)\.write\(/.test(line)) offenders.push(`${relative(ROOT, f)}:${i + 1}`);
    });
  }
  assert.deepEqual(offenders, []);
});
