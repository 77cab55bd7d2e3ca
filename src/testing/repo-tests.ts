/**
 * A playbook repository's own tests: the declarative ones, `tests/*.test.json` — each a fixture
 * (`{ playbook, description?, scenario, expect }`, fixture.ts), written by hand or exported from a
 * real run. `riposte playbooks test` runs them, and a sync that requires tests runs them before it
 * activates a commit.
 *
 * Why declarative: the server syncs repositories written by others. Their playbook code runs only
 * in the sandbox; a test written as code would run in the server's process with the server's
 * reach. A JSON test is data, and the playbook it drives runs in the sandbox like in production.
 * (Tests written with `riposte/testing` in JavaScript are for the authors' own machines and CI.)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlaybookBuild } from '../store/repo-records.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { checkFixture, parseFixture } from './fixture.js';
import type { TestPlaybook } from './runner.js';

export const TESTS_DIR = 'tests';
const MAX_TESTS = 500;
const MAX_TEST_BYTES = 1024 * 1024;

export interface RepoTestResult {
  /** The test's file, relative to the repository's root. */
  file: string;
  description: string | null;
  /** The playbook it tests (null when the file could not be read). */
  playbook: string | null;
  ok: boolean;
  /** Why it failed: the first difference first, or the error. */
  problems: string[];
  ms: number;
}

/** The test files of the repository at `root`, relative to it, sorted. */
export function discoverTests(root: string): string[] {
  const dir = join(root, TESTS_DIR);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.json')).sort().map((f) => `${TESTS_DIR}/${f}`);
  if (files.length > MAX_TESTS) throw new Error(`more than ${MAX_TESTS} tests in ${TESTS_DIR}/`);
  return files;
}

/** How long one test may take, and all of a repository's tests together (they run in a process of their own). */
export const TEST_LIMITS = { perTestMs: 10_000, totalMs: 120_000, heapMb: 512 };

/**
 * `runRepositoryTests` in a child process of its own (repo-tests-child.ts): its own sandbox and
 * heap limit, killed after `totalMs` — what a sync and `riposte playbooks test` use, since a
 * repository's tests (and the playbooks they drive) are code and data written by others.
 */
export function runRepositoryTestsApart(root: string, builds: PlaybookBuild[], limits = TEST_LIMITS): Promise<RepoTestResult[]> {
  const entry = fileURLToPath(new URL('./repo-tests-child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', `--max-old-space-size=${limits.heapMb}`, entry], {
      stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env['PATH'] ?? '' },
    });
    let out = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limits.totalMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (out.length < 16 * 1024 * 1024) out += d; });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killed) return reject(new Error(`the repository's tests ran longer than ${limits.totalMs / 1000} s in all and were stopped`));
      let answer: { results?: RepoTestResult[]; error?: string };
      try {
        answer = JSON.parse(out) as typeof answer;
      } catch {
        return reject(new Error(`the repository's tests stopped without a result (${signal ?? `exit code ${code}`}; out of memory?)`));
      }
      if (answer.error !== undefined || !answer.results) return reject(new Error(answer.error ?? 'no results'));
      resolve(answer.results);
    });
    child.stdin.end(JSON.stringify({ root, builds, perTestMs: limits.perTestMs }));
  });
}

/** Runs every test of the repository at `root` against its built playbooks (loaded in `sandbox`), each within `perTestMs`. */
export async function runRepositoryTests(
  sandbox: Sandbox, root: string, builds: PlaybookBuild[], opts: { perTestMs?: number } = {},
): Promise<RepoTestResult[]> {
  const perTestMs = opts.perTestMs ?? TEST_LIMITS.perTestMs;
  const playbooks = new Map<string, TestPlaybook>();
  for (const b of builds) {
    const loaded = sandbox.load({ hash: b.bundle.hash, code: b.bundle.code }).loaded({ repository: 'test', commit: null, path: b.path });
    playbooks.set(b.playbookId, { id: b.playbookId, loaded });
  }
  const results: RepoTestResult[] = [];
  for (const file of discoverTests(root)) {
    const t0 = performance.now();
    let description: string | null = null;
    let tested: string | null = null;
    try {
      const path = join(root, file);
      if (statSync(path).size > MAX_TEST_BYTES) throw new Error(`larger than ${MAX_TEST_BYTES} bytes`);
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new Error(`not valid JSON (${(err as Error).message})`);
      }
      const fixture = parseFixture(raw, 'test');
      description = fixture.description ?? null;
      tested = fixture.playbook;
      const playbook = playbooks.get(fixture.playbook);
      if (!playbook) throw new Error(`the repository has no playbook "${fixture.playbook}" (it has: ${[...playbooks.keys()].join(', ') || 'none'})`);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the test ran longer than ${perTestMs / 1000} s and was stopped`)), perTestMs);
      });
      const { differences } = await Promise.race([checkFixture(playbook, fixture), late]).finally(() => clearTimeout(timer));
      results.push({ file, description, playbook: tested, ok: differences.length === 0, problems: differences, ms: performance.now() - t0 });
    } catch (err) {
      results.push({ file, description, playbook: tested, ok: false, problems: [(err as Error).message], ms: performance.now() - t0 });
    }
  }
  return results;
}
