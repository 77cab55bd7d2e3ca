/**
 * The `riposte` command line. User errors (bad arguments, missing data, refused changes) print one
 * line on stderr and exit 1 (or the command's own code); stack traces only with RIPOSTE_DEBUG=1.
 */
import { CliError } from './open-store.js';
import { terminalSafe } from './format.js';
import { buildProgram } from './program.js';
import { writeErr } from './output.js';

export { buildProgram };

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
    if (process.env['RIPOSTE_DEBUG'] === '1' && err instanceof Error && err.stack) writeErr(`${err.stack}\n`);
    const { message, exitCode } = describeError(err);
    writeErr(`error: ${message}\n`);
    // Exit now: a half-started server (or an open handle) must not keep the process alive.
    process.exit(exitCode);
  }
}

await main();
