/**
 * The `riposte` command line. User errors (bad arguments, missing data, refused changes) print one
 * line on stderr and exit 1 (or the command's own code); stack traces only with RIPOSTE_DEBUG=1.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CliError } from './open-store.js';
import { terminalSafe } from './format.js';
import { registerServe } from './commands/serve.js';
import { registerDemo } from './commands/demo.js';
import { registerIncidents } from './commands/incidents.js';
import { registerRuns } from './commands/runs.js';
import { registerLists } from './commands/lists.js';
import { registerAudit } from './commands/audit.js';
import { registerPlaybooks } from './commands/playbooks.js';
import { registerCases } from './commands/cases.js';
import { registerAssets } from './commands/assets.js';
import { registerApps } from './commands/apps.js';
import { registerApprovals } from './commands/approvals.js';
import { registerPolicy } from './commands/policy.js';
import { registerPrune } from './commands/prune.js';
import { registerRepos } from './commands/repos.js';
import { registerSchedules } from './commands/schedules.js';

function packageVersion(): string {
  try {
    // dist/src/cli/main.js → package.json at the project root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command('riposte')
    .description('Riposte: open-source SOAR. Durable TypeScript playbooks that respond to alerts end to end.')
    .version(packageVersion())
    .option('--data-dir <dir>', 'data directory (default: $RIPOSTE_DATA_DIR or ./data)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  registerServe(program);
  registerDemo(program);
  registerIncidents(program);
  registerRuns(program);
  registerLists(program);
  registerAudit(program);
  registerPlaybooks(program);
  registerCases(program);
  registerAssets(program);
  registerApps(program);
  registerApprovals(program);
  registerPolicy(program);
  registerPrune(program);
  registerRepos(program);
  registerSchedules(program);
  return program;
}

// Errors of the store and config that describe what the user asked for, not a bug.
const USER_ERROR_NAMES = new Set(['CliError', 'NotFoundError', 'ConflictError', 'ValidationError', 'SecretKeyError', 'AuditKeyError', 'SchemaTooNewError', 'ZodError']);

export function describeError(err: unknown): { message: string; exitCode: number } {
  const e = err instanceof Error ? err : new Error(String(err));
  // Messages may quote the server, a vendor or the user: never let them steer the terminal.
  const oneLine = terminalSafe(e.message.replace(/\s*\n\s*/g, ' ').trim() || e.name);
  if (err instanceof CliError) return { message: oneLine, exitCode: err.exitCode };
  if (USER_ERROR_NAMES.has(e.name)) return { message: oneLine, exitCode: 1 };
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { message: oneLine, exitCode: 1 }; // file system / network
  return { message: `${oneLine} (unexpected error; set RIPOSTE_DEBUG=1 for the stack trace)`, exitCode: 1 };
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (process.env['RIPOSTE_DEBUG'] === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    const { message, exitCode } = describeError(err);
    process.stderr.write(`error: ${message}\n`);
    // Exit now: a half-started server (or an open handle) must not keep the process alive.
    process.exit(exitCode);
  }
}

await main();
