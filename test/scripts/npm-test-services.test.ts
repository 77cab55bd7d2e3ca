/**
 * scripts/test.mjs (what `npm test` runs after the build) where it may not install: not root, two
 * packages missing. It must name them and the command that installs them, start nothing that
 * cannot run, and still run the suites. dpkg-query is replaced by a stand-in on PATH that reports
 * slapd and request-tracker5 as missing; everything else is real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

test('without root, npm test names the missing packages and how to install them, then runs the suites', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-npm-test-'));
  try {
    chmodSync(dir, 0o755);
    const fake = join(dir, 'dpkg-query');
    writeFileSync(fake, '#!/bin/sh\nfor a in "$@"; do case "$a" in slapd|request-tracker5) exit 1;; esac; done\n' +
      'exec /usr/bin/dpkg-query "$@"\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, RIPOSTE_SERVICES_DIR: join(dir, 'svc') };
    // A copy of the scripts under /tmp, so that nobody can read them wherever the clone lives.
    const copy = join(dir, 'project');
    mkdirSync(copy, { mode: 0o755 });
    cpSync(join(ROOT, 'scripts'), join(copy, 'scripts'), { recursive: true });
    // As root, drop to nobody for this run (the suite itself runs as root in CI).
    const argv = [process.execPath, join(copy, 'scripts/test.mjs'), 'no-such-test-file'];
    const asRoot = process.getuid?.() === 0;
    const cmd = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv] : argv;
    const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: copy, env, encoding: 'utf8', timeout: 60_000 });
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('npm test:'));
    assert.deepEqual(lines, [
      'npm test: missing Debian packages for the real-server suites: slapd request-tracker5',
      'npm test:   install them with: sudo bash scripts/services/install.sh   ' +
        '(or: sudo apt-get install -y slapd request-tracker5)',
      'npm test:   this run is not root, so it cannot install them',
      'npm test: the suites that need slapd request-tracker5 will fail, naming what is missing',
      'npm test: OpenLDAP (slapd) is not running and cannot start without slapd',
      'npm test: Request Tracker is not running and cannot start without request-tracker5',
    ], r.stderr);
    // The suites ran: scripts/run-tests.mjs found nothing to run in the copy and said so.
    assert.match(r.stderr, /no test files found under dist\/test/);
    assert.equal(r.status, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
