/**
 * The process a repository's tests run in (repo-tests.ts `runRepositoryTestsApart`): its own
 * sandbox, its own heap limit, killed when it runs past its budget — a repository's tests are code
 * written by others, and must not share the server's sandbox realms, memory or event loop.
 * Reads `{ root, builds, perTestMs }` as JSON on stdin; writes the results as JSON on stdout.
 */
import { Sandbox } from '../sandbox/sandbox.js';
import type { PlaybookBuild } from '../store/repo-records.js';
import { runRepositoryTests } from './repo-tests.js';

const chunks: Buffer[] = [];
process.stdin.on('data', (c: Buffer) => chunks.push(c));
process.stdin.on('end', () => {
  const { root, builds, perTestMs } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { root: string; builds: PlaybookBuild[]; perTestMs: number };
  const sandbox = new Sandbox();
  runRepositoryTests(sandbox, root, builds, { perTestMs }).then(
    (results) => {
      process.stdout.write(`${JSON.stringify({ results })}\n`, () => process.exit(0));
    },
    (err: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`, () => process.exit(0));
    },
  );
});
