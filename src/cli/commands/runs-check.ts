/**
 * `riposte runs export <id> --fixture|--journal` and `riposte runs replay <id>|--file … --dir|--commit`:
 * a real run checked against code. With a run id both read the data directory (like `runs show`:
 * whoever may read it — the server's operator; without the database and its key they are refused)
 * and write nothing to it; `replay --file` reads an exported run instead (a repository's CI).
 * Nothing is sent to any vendor: the export reads, the replay runs the new code against the
 * recording with a host that performs nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writePrivateFileExclusive } from '../../store/file-modes.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildForCli } from '../build-repository.js';
import { exportCommit, listTree, resolveSha } from '../../repos/git.js';
import { checkTree } from '../../repos/tree.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import type { RunRecord } from '../../store/records.js';
import { fixtureOfRun } from '../../testing/fixture.js';
import { parseRecordedRun, recordedRun, replayRun, type RecordedRun } from '../../testing/replay.js';
import { ScenarioError } from '../../testing/scenario.js';
import { CliError, dataDirOf, printJson, withStore } from '../open-store.js';
import { terminalSafe } from '../format.js';
import { findRun } from './runs.js';
import { print } from '../output.js';

export function registerRunChecks(runs: Command): void {
  runs.command('export')
    .description('a finished run as a test fixture (--fixture), or with its journal for `runs replay --file` (--journal)')
    .argument('<runId>', 'run id or a unique prefix')
    .option('--fixture', 'a fixture: its incident, what every vendor answered, the path it took (a test for `playbooks test`)')
    .option('--journal', "the run and its journal: replayed against new code anywhere, e.g. in a playbook repository's CI")
    .option('--out <file>', 'write it to this file (never over an existing one) instead of standard output')
    .action(async (runId: string, opts: { fixture?: boolean; journal?: boolean; out?: string }, cmd: Command) => {
      if (Boolean(opts.fixture) === Boolean(opts.journal)) throw new CliError('give exactly one of --fixture or --journal');
      const exported = await withStore(cmd, async (store) => {
        const run = await findRun(store, runId);
        if (opts.journal) return recordedRun(run, await store.loadJournal(run.id));
        try {
          return await fixtureOfRun(store, store.policyStore(), run);
        } catch (err) {
          if (err instanceof ScenarioError) throw new CliError(err.message);
          throw err;
        }
      });
      if (opts.out === undefined) return printJson(exported);
      try {
        // A run's export carries incident data: owner-only, like the database.
        writePrivateFileExclusive(resolve(opts.out), `${JSON.stringify(exported, null, 2)}\n`);
      } catch (err) {
        throw new CliError(`cannot write ${terminalSafe(resolve(opts.out))}: ${terminalSafe((err as Error).message)}`);
      }
      print(`wrote ${terminalSafe(resolve(opts.out))}`);
    });

  runs.command('replay')
    .description("re-execute new playbook code against a run's recorded journal (nothing is sent) and report where it diverges")
    .argument('[runId]', 'run id or a unique prefix (from the data directory)')
    .option('--file <path>', 'instead of a run id: a run exported with `riposte runs export <run> --journal` (no data directory needed)')
    .option('--dir <path>', 'the new code: a checkout of the playbook repository')
    .option('--commit <sha>', "the new code: a commit of the run's repository (fetched by the server's last sync)")
    .option('--json', 'machine-readable JSON')
    .action(async (runId: string | undefined, opts: { file?: string; dir?: string; commit?: string; json?: boolean }, cmd: Command) => {
      if ((opts.dir === undefined) === (opts.commit === undefined)) throw new CliError('give exactly one of --dir <path> or --commit <sha>');
      if ((runId === undefined) === (opts.file === undefined)) throw new CliError('give exactly one of a run id or --file <recorded run>');
      if (opts.file !== undefined && opts.commit !== undefined) throw new CliError('--commit needs the server\'s mirror: with --file, replay a checkout (--dir)');
      const { run, journal } = opts.file !== undefined ? readRecorded(opts.file) : await withStore(cmd, async (store) => {
        const r = await findRun(store, runId!);
        return { run: r, journal: await store.loadJournal(r.id) };
      });
      const work = opts.commit !== undefined ? await checkout(run, opts.commit, dataDirOf(cmd)) : null;
      const root = work ?? resolve(opts.dir!);
      const sandbox = new Sandbox();
      try {
        // A commit exported from the mirror had its tree checked already.
        const builds = await buildForCli(sandbox, root, 'the new code does not build, nothing was replayed', { localDirectory: work === null });
        const build = builds.find((b) => b.playbookId === run.playbookId);
        if (!build) throw new CliError(`the new code has no playbook "${run.playbookId}" (it has: ${builds.map((b) => b.playbookId).join(', ') || 'none'})`);
        let report;
        try {
          report = await replayRun(run, journal, sandbox.load({ hash: build.bundle.hash, code: build.bundle.code }).loaded());
        } catch (err) {
          throw new CliError(terminalSafe((err as Error).message));
        }
        if (opts.json) printJson({ runId: run.id, playbookId: run.playbookId, recordedHash: run.playbookHash, newHash: build.bundle.hash, ...report });
        else if (report.same) {
          print(terminalSafe(`same: the new code (${build.bundle.hash}) takes the recorded path of run ${run.id} (${report.steps} steps) and ends ${report.status}, as the run did`));
        } else {
          print(`diverges: ${terminalSafe(report.divergence!)}`);
        }
        if (!report.same) process.exitCode = 1;
      } finally {
        sandbox.close();
        if (work) rmSync(work, { recursive: true, force: true });
      }
    });
}

/** A run exported with `--journal`, read and checked. */
function readRecorded(file: string): RecordedRun {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${terminalSafe(file)} as JSON: ${terminalSafe((err as Error).message)}`);
  }
  try {
    return parseRecordedRun(raw);
  } catch (err) {
    throw new CliError(`${terminalSafe(file)}: ${terminalSafe((err as Error).message)}`);
  }
}

/** The commit of the run's repository, exported from the server's mirror into a fresh directory. */
async function checkout(run: RunRecord, sha: string, dataDir: string): Promise<string> {
  if (!/^[0-9a-f]{7,40}$/.test(sha)) throw new CliError(`--commit must be a commit's hexadecimal id (7 to 40 characters), got "${terminalSafe(sha)}"`);
  const repo = run.origin?.repository;
  if (!repo || run.origin?.commit === null) throw new CliError(`run ${run.id}'s code did not come from a Git repository: use --dir`);
  const mirror = join(dataDir, 'repos', `${repo}.git`);
  let commit: string;
  try {
    commit = await resolveSha(mirror, sha);
    checkTree(await listTree(mirror, commit));
  } catch (err) {
    throw new CliError(`commit ${sha} is not in the mirror of repository "${repo}" (sync it first): ${terminalSafe((err as Error).message)}`);
  }
  const work = mkdtempSync(join(tmpdir(), 'riposte-replay-'));
  try {
    await exportCommit(mirror, commit, work);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return work;
}
