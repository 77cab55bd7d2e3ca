/** `riposte serve`: the server (API, engine and, with --lab, the vendor simulators) in this process. */
import type { Command } from 'commander';
import { serveConfig, type ServeConfig } from '../../config.js';
import { auditConfig } from '../../audit/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { credentialsPath } from '../../server/credentials.js';
import { LabUnavailableError } from '../../server/lab-loader.js';
import { plaintextExposureWarning } from '../../server/exposure.js';
import { CliError, dataDirOf, keyFlagsOf } from '../open-store.js';
import { terminalSafe } from '../terminal-text.js';
import { write, writeErr } from '../output.js';

function port(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new CliError(`${name} must be a port number (0-65535), got "${raw}"`);
  return n;
}

/** Why the server could not start, in words; a busy port names the address. */
function startError(err: unknown, config: ServeConfig): Error {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const msg = e instanceof Error ? e.message : String(err);
  if (err instanceof LabUnavailableError) return new CliError(msg);
  if (msg.startsWith('could not start the lab simulators')) {
    return new CliError(`${msg}. Choose other ports with --lab-port <first port> (the lab uses three consecutive ports)`);
  }
  if (e.code === 'EADDRINUSE') {
    return new CliError(`cannot listen on ${config.host}:${config.port}: the address is already in use (another Riposte?). Stop it or choose another port with --port`);
  }
  // server.ts already words listen failures for people; keep its message, minus the stack.
  if (/already in use|cannot listen on|^cannot read the TLS|^TLS certificate/.test(msg)) return new CliError(msg);
  if (e.code === 'EACCES') return new CliError(`cannot listen on ${config.host}:${config.port}: permission denied (ports below 1024 need privileges)`);
  if (e.code === 'EADDRNOTAVAIL') return new CliError(`cannot listen on ${config.host}:${config.port}: no such local address`);
  return e instanceof Error ? e : new Error(msg);
}

export function registerServe(program: Command): void {
  program.command('serve')
    .description('run the Riposte server: HTTP API, playbook engine and (with --lab) the vendor simulators')
    .option('--host <host>', 'address to listen on (default: $RIPOSTE_HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $RIPOSTE_PORT or 8080)')
    .option('--lab', 'start the lab vendor simulators and bind the demo to them (a clone only: not in the package)')
    .option('--lab-port <port>', 'first of three consecutive lab ports (default: $RIPOSTE_LAB_PORT or 8081; 0 = random)')
    .option('--sqlite-sync <mode>', "'full' (fsync every commit, default) or 'normal' (survives crashes, not power loss)")
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain); needs --tls-key ($RIPOSTE_TLS_CERT)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert ($RIPOSTE_TLS_KEY)')
    .option('--audit-checkpoint-file <path>', 'signed audit checkpoints, JSON lines (default: <data dir>/audit-checkpoints.jsonl)')
    .option('--audit-checkpoint-every <n>', 'write a checkpoint every n audit entries (default 1000)')
    .option('--audit-checkpoint-minutes <m>', 'and every m minutes with new entries (default 5)')
    .option('--audit-syslog <tcp://host:port>', 'stream the audit log to a syslog receiver (RFC 5424, octet-counted TCP)')
    .option('--audit-hec-url <url>', 'stream the audit log to Splunk HEC (token in RIPOSTE_AUDIT_HEC_TOKEN[_FILE])')
    .action(async (opts: {
      host?: string; port?: string; lab?: boolean; labPort?: string; sqliteSync?: string; tlsCert?: string; tlsKey?: string;
      auditCheckpointFile?: string; auditCheckpointEvery?: string; auditCheckpointMinutes?: string; auditSyslog?: string;
      auditHecUrl?: string;
    }, cmd: Command) => {
      const flags: Partial<ServeConfig> = { dataDir: dataDirOf(cmd), ...keyFlagsOf(cmd) };
      if (opts.host !== undefined) flags.host = opts.host;
      if (opts.port !== undefined) flags.port = port('--port', opts.port);
      if (opts.lab) flags.lab = true;
      if (opts.labPort !== undefined) flags.labPort = port('--lab-port', opts.labPort);
      if (opts.sqliteSync !== undefined) {
        if (opts.sqliteSync !== 'full' && opts.sqliteSync !== 'normal') throw new CliError(`--sqlite-sync must be "full" or "normal", got "${opts.sqliteSync}"`);
        flags.sqliteSync = opts.sqliteSync;
      }
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw new CliError('TLS needs both a certificate and its key: give --tls-cert <file> and --tls-key <file>');
      }
      if (opts.tlsCert !== undefined && opts.tlsKey !== undefined) flags.tls = { certFile: opts.tlsCert, keyFile: opts.tlsKey };
      let config: ServeConfig;
      try {
        flags.audit = auditConfig(flags.dataDir!, {
          checkpointFile: opts.auditCheckpointFile, checkpointEvery: opts.auditCheckpointEvery,
          checkpointMinutes: opts.auditCheckpointMinutes, syslog: opts.auditSyslog, hecUrl: opts.auditHecUrl,
        });
        config = serveConfig(flags);
      } catch (err) {
        throw new CliError((err as Error).message);
      }

      let server: RunningServer;
      try {
        server = await startServer(config);
      } catch (err) {
        throw startError(err, config);
      }

      // Handlers first: whoever reads the banner may signal at once.
      let stopping = false;
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) {
          writeErr(`${signal} again: exiting without waiting for running steps\n`);
          process.exit(1);
        }
        stopping = true;
        writeErr(`${signal}: stopping Riposte (running steps finish first)…\n`);
        server.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            writeErr(`error while stopping: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
      // Playbook code runs in this process (until the sandboxed runner): a promise it leaves
      // rejected without a handler must not take the server and every other run down with it.
      process.on('unhandledRejection', (reason) => {
        const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
        writeErr(`unhandled rejection (a playbook's promise left rejected?): ${terminalSafe(message)}\n`);
      });

      // On stderr, before the banner: whoever starts it this way sees it even with stdout redirected.
      const exposed = plaintextExposureWarning(config.host, config.tls !== undefined);
      if (exposed) writeErr(`${exposed}\n`);
      const credFile = credentialsPath(config.dataDir);
      const lines = [
        '',
        `Riposte is running at ${server.url}`,
        `  data dir      ${config.dataDir}`,
        server.credentialsCreated
          ? `  credentials   created now: ${credFile} (mode 0600; admin API token and ingest tokens)`
          : `  credentials   ${credFile} (mode 0600)`,
        `  Splunk webhook URL  ${server.url}/api/v1/ingest/splunk?token=<token from credentials.json>`,
      ];
      if (server.lab) {
        lines.push('  lab simulators', ...server.lab.simulators.map((s) => `    ${s.name.padEnd(36)}${s.url}`));
      }
      lines.push('', 'Fire the demo alert: npx riposte demo (again for the repeat-offender path)', 'Stop with Ctrl-C.', '');
      write(lines.join('\n'));
    });
}
