/**
 * The lab is not part of the product: the published package leaves it out, nothing shipped
 * imports it statically, and an installed copy of the package (exactly the files `npm pack`
 * ships, in a temp directory) refuses `serve --lab` with one clear line while plain `serve` runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT, removeDir, tempDir } from './fixture.js';

/** The paths `npm pack` would ship (scripts are skipped: the build already ran). */
function packedFiles(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>;
  return out[0]!.files.map((f) => f.path);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs the installed copy's CLI; resolves when it exits, or when stdout matches `readyOn` (then `pid` is set). */
interface Child { done: Promise<Exit>; ready: Promise<void>; pid: number }

function riposte(cwd: string, args: string[], readyOn?: RegExp): Child {
  const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_SECRET_KEY: '', NO_COLOR: '1', RIPOSTE_LOG_LEVEL: 'warn' };
  for (const k of ['RIPOSTE_DEBUG', 'RIPOSTE_LAB', 'RIPOSTE_DATA_DIR']) delete env[k];
  const child = spawn(process.execPath, ['bin/riposte.js', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((res) => { signalReady = res; });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (readyOn?.test(stdout)) signalReady();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<Exit>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
  return { done, ready, pid: child.pid! };
}

describe('the lab stays out of the product', () => {
  let files: string[];
  let install: string;
  before(() => {
    files = packedFiles();
    install = tempDir();
    for (const f of files) {
      mkdirSync(dirname(join(install, f)), { recursive: true });
      cpSync(join(ROOT, f), join(install, f));
    }
    // The dependencies an `npm install` would bring (the clone's; dev ones are not used by plain serve).
    symlinkSync(join(ROOT, 'node_modules'), join(install, 'node_modules'), 'dir');
  });
  after(() => removeDir(install));

  it('npm pack ships the product, the loader and no lab', () => {
    assert.ok(files.includes('dist/src/server/lab-loader.js'), 'the loader ships');
    assert.ok(files.includes('dist/src/cli/main.js'));
    assert.deepEqual(files.filter((f) => /(^|\/)lab\//.test(f)), [], 'no file of lab/ or dist/lab/');
  });

  it('nothing shipped imports the lab statically', () => {
    const shipped = walk(join(ROOT, 'dist/src')).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
    const lab = resolve(ROOT, 'dist/lab');
    const offenders: string[] = [];
    for (const file of shipped) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), m[1]!);
        if (target === lab || target.startsWith(`${lab}/`)) offenders.push(`${relative(ROOT, file)} → ${m[1]!}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('an installed package refuses serve --lab in one line naming what is missing, and writes nothing', async () => {
    const data = join(install, 'data-lab');
    const r = await riposte(install, ['serve', '--lab', '--port', '0', '--lab-port', '0', '--data-dir', data]).done;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr,
      /--lab needs the lab simulators, which this installation does not include \(.*dist\/lab\/index\.js is missing\)/);
    assert.match(r.stderr, /or serve without --lab/);
    assert.equal(existsSync(data), false, 'the data directory is not created');
  });

  it('an installed package serves without --lab', async () => {
    const data = join(install, 'data-plain');
    const ready = /Riposte is running at [^]*Stop with Ctrl-C\./;
    const p = riposte(install, ['serve', '--port', '0', '--data-dir', data], ready);
    const early = await Promise.race([p.ready.then(() => null), p.done]);
    if (early !== null) assert.fail(`serve exited before it was ready (${early.code}): ${early.stdout}${early.stderr}`);
    process.kill(p.pid, 'SIGTERM');
    const r = await p.done;
    assert.equal(r.code, 0, `${String(r.signal)} ${r.stdout} ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /lab simulators/);
    assert.ok(existsSync(join(data, 'credentials.json')));
  });
});
