#!/usr/bin/env node
/**
 * `npm test` after the build: makes the real servers the suites need available, runs every suite
 * (scripts/run-tests.mjs, whose output is passed through untouched: CI reads node:test's summary
 * lines), and stops the servers it started. Arguments are passed on as test-file filters.
 *
 * 1. Packages (`scripts/services/<service>.sh packages`, checked with dpkg-query). Missing ones are
 *    installed by scripts/services/install.sh when this runs as root with apt-get; otherwise they
 *    are named with the command that installs them, and the suites run anyway (the ones that need
 *    them fail with a message naming what is missing).
 * 2. Servers (OpenLDAP, Request Tracker) of $RIPOSTE_SERVICES_DIR. One that already runs — started
 *    by .ci/run, by hand, or by another test run that is still going — is used and left alone.
 *    Otherwise this run starts it and writes its own PID to `<state dir>/started-by`.
 * 3. The suites run in a child process with this process's stdio.
 *
 * Failure semantics: the servers this run started are stopped when the suites end, pass or fail,
 * and on SIGINT, SIGTERM or SIGHUP (passed on to the suites first; a second signal stops waiting
 * for them). A server is stopped by its service script only while its state still names the PID
 * this run started, so a server someone else started in its place is never touched. If this
 * process is killed outright (SIGKILL), its servers keep running; the next run finds them marked
 * with a dead owner, adopts them and stops them at its end. A server that fails to start is
 * reported and the suites still run (and fail, naming it).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES_DIR = process.env.RIPOSTE_SERVICES_DIR || '/tmp/riposte-services';
/** Every service whose packages the suites need; of these, `SERVERS` have a process to run. */
const SERVICES = ['git', 'network', 'ldap', 'mail', 'syslog', 'rt'];
const SERVERS = [
  { name: 'ldap', what: 'OpenLDAP (slapd)' },
  { name: 'rt', what: 'Request Tracker' },
];
const env = { ...process.env, RIPOSTE_SERVICES_DIR: SERVICES_DIR };

const say = (line) => process.stderr.write(`npm test: ${line}\n`);

/** Runs a command; `capture`: its stdout is returned, else it goes to our stderr (stdout is the tests'). */
function run(cmd, args, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', capture ? 'pipe' : 2, 2] });
    let out = '';
    if (capture) child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.on('error', (err) => resolve({ code: 127, out: '', error: err }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (constants.signals[signal] ?? 0), out }));
  });
}

const service = (name, command, opts) => run('bash', [join(ROOT, 'scripts/services', `${name}.sh`), command], opts);

// ── signals ──
let interrupted = null;
let suites = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) {
      say(`${sig} again: not waiting for the suites any longer`);
      suites?.kill('SIGKILL');
      return;
    }
    interrupted = sig;
    say(`${sig}: stopping the suites, then the servers this run started`);
    suites?.kill(sig);
  });
}

// ── 1. packages ──
/** Missing Debian packages per service, or null when dpkg-query is not there to ask. */
async function missingPackages() {
  const probe = await run('dpkg-query', ['--version'], { capture: true });
  if (probe.code !== 0) return null;
  const missing = new Map();
  for (const s of SERVICES) {
    const { code, out } = await service(s, 'packages', { capture: true });
    if (code !== 0) throw new Error(`scripts/services/${s}.sh packages failed (exit ${code})`);
    for (const pkg of out.split(/\s+/).filter(Boolean)) {
      const st = await run('dpkg-query', ['-W', '-f=${db:Status-Status}', pkg], { capture: true });
      if (st.out.trim() !== 'installed') missing.set(s, [...(missing.get(s) ?? []), pkg]);
    }
  }
  return missing;
}

/** Installs what is missing where it may; returns the packages still missing per service. */
async function ensurePackages() {
  let missing = await missingPackages();
  if (missing === null) {
    say('cannot check the Debian packages of the real-server suites (no dpkg-query); see scripts/services/README.md');
    return new Map();
  }
  if (missing.size === 0) return missing;
  const all = () => [...missing.values()].flat().join(' ');
  const isRoot = process.getuid?.() === 0;
  const hasApt = (await run('sh', ['-c', 'command -v apt-get'], { capture: true })).code === 0;
  if (isRoot && hasApt) {
    say(`installing ${all()} (scripts/services/install.sh)`);
    const { code } = await run('bash', [join(ROOT, 'scripts/services/install.sh')]);
    missing = (await missingPackages()) ?? new Map();
    if (code !== 0 || missing.size > 0) {
      say(`scripts/services/install.sh failed (exit ${code})${missing.size ? `; still missing: ${all()}` : ''}`);
    }
    if (missing.size === 0) return missing;
  } else {
    say(`missing Debian packages for the real-server suites: ${all()}`);
    say(`  install them with: sudo bash scripts/services/install.sh   (or: sudo apt-get install -y ${all()})`);
    say(`  ${isRoot ? 'apt-get is not available here' : 'this run is not root, so it cannot install them'}`);
  }
  say(`the suites that need ${all()} will fail, naming what is missing`);
  return missing;
}

// ── 2. servers ──
/** Servers this run started (or adopted from a dead run): name → PID. */
const ours = new Map();

const markerOf = (name) => join(SERVICES_DIR, name, 'started-by');
const alive = (pid) => {
  try { process.kill(pid, 0); return true; } catch (err) { return err.code === 'EPERM'; }
};

/** { state: 'answers' | 'silent' | 'down', pid } from `<service>.sh status`. */
async function status(name) {
  const { code, out } = await service(name, 'status', { capture: true });
  const pid = Number.parseInt(out.trim(), 10) || null;
  return { state: code === 0 ? 'answers' : code === 3 ? 'silent' : 'down', pid };
}

function owner(name) {
  try { return Number.parseInt(readFileSync(markerOf(name), 'utf8'), 10) || null; } catch { return null; }
}

function claim(name, pid) {
  ours.set(name, pid);
  try { writeFileSync(markerOf(name), `${process.pid}\n`); } catch { /* the state dir vanished: stop will say so */ }
}

async function ensureServer({ name, what }, missing) {
  const before = await status(name);
  if (before.state === 'answers') {
    const by = owner(name);
    if (by !== null && by !== process.pid && !alive(by)) {
      say(`${what} (pid ${before.pid}) was left running by an interrupted test run (pid ${by}): ` +
        'using it, stopping it at the end');
      claim(name, before.pid);
    } else {
      say(`${what} is already running (pid ${before.pid}): using it, leaving it running`);
    }
    return;
  }
  if (missing.has(name)) {
    say(`${what} is not running and cannot start without ${missing.get(name).join(' ')}`);
    return;
  }
  say(`starting ${what} (scripts/services/${name}.sh start)`);
  const { code } = await service(name, 'start');
  // Whatever the outcome, a process the attempt left behind is this run's to stop.
  const after = await status(name);
  if (after.pid !== null && after.pid !== before.pid) claim(name, after.pid);
  if (code !== 0 || after.state !== 'answers') {
    say(`${what} did not start (exit ${code}, output above); the suites that need it will fail. ` +
      `By hand: bash scripts/services/${name}.sh start${process.getuid?.() === 0 ? '' : ' (as root)'}`);
  }
}

async function stopOurs() {
  for (const [name, pid] of [...ours].reverse()) {
    const what = SERVERS.find((s) => s.name === name)?.what ?? name;
    const now = await status(name);
    if (now.pid !== pid) {
      const instead = now.pid ? ` (now ${now.pid})` : '';
      say(`${what}: pid ${pid} is no longer the running instance${instead}; leaving it alone`);
      continue;
    }
    const { code } = await service(name, 'stop');
    if (code !== 0) say(`${what}: scripts/services/${name}.sh stop failed (exit ${code}); pid ${pid} may still run`);
  }
  ours.clear();
}

// ── 3. suites ──
function runSuites(filters) {
  return new Promise((resolve) => {
    const args = [join(ROOT, 'scripts/run-tests.mjs'), ...filters];
    // The suites read the servers' state (RT's token, LDAP's CA) from the same directory.
    suites = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    suites.on('close', (code, signal) => { suites = null; resolve(code ?? 128 + (constants.signals[signal] ?? 0)); });
  });
}

let exitCode = 1;
try {
  const missing = await ensurePackages();
  for (const s of SERVERS) if (!interrupted) await ensureServer(s, missing);
  if (!interrupted) exitCode = await runSuites(process.argv.slice(2));
} catch (err) {
  say(`error: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await stopOurs();
}
process.exit(interrupted ? 128 + constants.signals[interrupted] : exitCode);
