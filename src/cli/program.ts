/**
 * The `riposte` program: every command registered, and each checked against its declaration in
 * command-access.ts before it runs (an undeclared command refuses to run).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { requireDeclaredCommand } from './command-access.js';
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
import { registerTokens } from './commands/tokens.js';
import { registerSecrets } from './commands/secrets.js';
import { write, writeErr } from './output.js';

function packageVersion(): string {
  try {
    // dist/src/cli/program.js → package.json at the project root.
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
    .option('--key-file <path>', 'master key file, mode 0600 (default: $RIPOSTE_SECRET_KEY_FILE, else <data dir>/secret.key)')
    .option('--key-command <command>', 'command printing the master key, run without a shell (default: $RIPOSTE_SECRET_KEY_COMMAND)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    // commander quotes what was typed ("unknown option '…'"): through the same guard as our output.
    .configureOutput({ writeOut: write, writeErr });
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
  registerTokens(program);
  registerSecrets(program);
  program.hook('preAction', (_program, action) => requireDeclaredCommand(action));
  return program;
}

