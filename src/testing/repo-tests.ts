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
import { join } from 'node:path';
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

/** Runs every test of the repository at `root` against its built playbooks (loaded in `sandbox`). */
export async function runRepositoryTests(sandbox: Sandbox, root: string, builds: PlaybookBuild[]): Promise<RepoTestResult[]> {
  const playbooks = new Map<string, TestPlaybook>();
  for (const b of builds) {
    const loaded = sandbox.load({ hash: b.bundle.hash, code: b.bundle.code });
    playbooks.set(b.playbookId, {
      id: b.playbookId,
      loaded: { config: loaded.config, executor: loaded, hash: b.bundle.hash, identity: 'bundle', source: { repository: 'test', commit: null, path: b.path } },
    });
  }
  const results: RepoTestResult[] = [];
  for (const file of discoverTests(root)) {
    const t0 = performance.now();
    let description: string | null = null;
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
      const playbook = playbooks.get(fixture.playbook);
      if (!playbook) throw new Error(`the repository has no playbook "${fixture.playbook}" (it has: ${[...playbooks.keys()].join(', ') || 'none'})`);
      const { differences } = await checkFixture(playbook, fixture);
      results.push({ file, description, ok: differences.length === 0, problems: differences, ms: performance.now() - t0 });
    } catch (err) {
      results.push({ file, description, ok: false, problems: [(err as Error).message], ms: performance.now() - t0 });
    }
  }
  return results;
}
