#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's built-in test runner.
// Node 20's `--test` does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring-filter ...]   (npm test also starts the real servers:
// scripts/test.mjs)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = (existsSync('dist/test') ? walk('dist/test') : [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) { console.error('no test files found under dist/test (did the build run?)'); process.exit(1); }
// --no-node-snapshot through NODE_OPTIONS: the test processes and every server they start run
// playbook code in isolated-vm, which requires it on Node 20.
const nodeOptions = [process.env.NODE_OPTIONS ?? '', '--no-node-snapshot'].join(' ').trim();
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: nodeOptions } });
// A signal sent to this process alone (npm test passes SIGTERM on) must reach the test runner too;
// from a terminal's Ctrl-C the runner gets it directly as well, which does no harm.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('close', (code) => process.exit(code ?? 1));
