#!/usr/bin/env -S node --no-node-snapshot
// Thin launcher: the CLI is compiled TypeScript under dist/ (built by `npm ci` via the prepare script).
//
// --no-node-snapshot: isolated-vm, which runs playbook code (src/sandbox/), requires it on Node 20.
// The shebang passes it when the file is executed (`riposte …`, `npx riposte …`); started as
// `node bin/riposte.js …` it is missing, so the launcher starts itself again with it, hands the child
// its terminal, forwards the signals an operator or a supervisor sends, and exits with its code.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FLAG = '--no-node-snapshot';
const hasFlag = process.execArgv.includes(FLAG)
  || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(FLAG);

if (hasFlag) {
  await import('../dist/src/cli/main.js');
} else {
  const child = spawn(process.execPath, [FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    // A terminal's Ctrl-C reaches the child through its process group; a signal sent to this PID is passed on.
    process.on(signal, () => { if (child.exitCode === null) child.kill(signal); });
  }
  child.on('error', (err) => {
    process.stderr.write(`error: could not start Node.js with ${FLAG}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('close', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal); // die of the same signal, as the caller expects
      process.kill(process.pid, signal);
    }
    else process.exit(code ?? 1);
  });
}
