/** Process configuration: flags override environment variables, which override defaults. */
import { resolve } from 'node:path';
import { checkTimeouts, DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from './common/http-timeouts.js';
import { auditConfig, type AuditConfig } from './audit/config.js';

export interface ServeConfig {
  /** Where the SQLite database, the secret key and the bootstrap credentials live. */
  dataDir: string;
  host: string;
  port: number;
  /** Start the lab vendor simulators in-process and point the demo assets at them. */
  lab: boolean;
  /** First port of the lab simulators (graph, pan-os, jira on consecutive ports); 0 = random. */
  labPort: number;
  /** 'full' fsyncs every commit (default); 'normal' survives process crashes but not power loss. */
  sqliteSync: 'full' | 'normal';
  logLevel: string;
  engineConcurrency: number;
  /** Serve HTTPS with these PEM files (--tls-cert/--tls-key, RIPOSTE_TLS_CERT/RIPOSTE_TLS_KEY). */
  tls?: { certFile: string; keyFile: string };
  /**
   * Failed authentications per address (and per token) and window before 429
   * (RIPOSTE_AUTH_MAX_FAILURES, default 20, 0 = no limit; RIPOSTE_AUTH_FAILURE_WINDOW_S, default 60).
   */
  authFailures: { maxFailures: number; windowMs: number };
  /** How long an API client may take over a request, its headers, an idle keep-alive connection. */
  httpTimeouts: HttpTimeouts;
  /** `--key-file` / `--key-command`: the master key's source (master-key.ts; the environment is read there). */
  keyFile?: string;
  keyCommand?: string;
  /** E-mail for approval requests and prompts (RIPOSTE_SMTP_URL, RIPOSTE_MAIL_FROM, RIPOSTE_PUBLIC_URL). */
  mail?: { smtpUrl: string; from: string; publicUrl: string };
  /** Audit checkpoints and the SIEM stream (src/audit/config.ts; RIPOSTE_AUDIT_* variables). */
  audit: AuditConfig;
}

function int(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 65535) throw new Error(`${name} must be an integer between ${min} and 65535, got "${raw}"`);
  return n;
}

function tlsFiles(flags: Partial<ServeConfig>, env: NodeJS.ProcessEnv): ServeConfig['tls'] {
  const cert = flags.tls?.certFile ?? (env.RIPOSTE_TLS_CERT || undefined);
  const key = flags.tls?.keyFile ?? (env.RIPOSTE_TLS_KEY || undefined);
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new Error('TLS needs both a certificate and its key: give --tls-cert <file> and --tls-key <file>');
  }
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

function millis(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive number of milliseconds, got "${raw}"`);
  return n;
}

export function serveConfig(flags: Partial<ServeConfig> = {}, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const sync = flags.sqliteSync ?? env.RIPOSTE_SQLITE_SYNC ?? 'full';
  if (sync !== 'full' && sync !== 'normal') throw new Error(`RIPOSTE_SQLITE_SYNC must be "full" or "normal", got "${sync}"`);
  const config: ServeConfig = {
    dataDir: resolve(flags.dataDir ?? env.RIPOSTE_DATA_DIR ?? 'data'),
    host: flags.host ?? env.RIPOSTE_HOST ?? '127.0.0.1',
    port: flags.port ?? int('RIPOSTE_PORT', env.RIPOSTE_PORT, 8080),
    lab: flags.lab ?? env.RIPOSTE_LAB === '1',
    labPort: flags.labPort ?? int('RIPOSTE_LAB_PORT', env.RIPOSTE_LAB_PORT, 8081),
    sqliteSync: sync,
    logLevel: flags.logLevel ?? env.RIPOSTE_LOG_LEVEL ?? 'info',
    engineConcurrency: flags.engineConcurrency ?? int('RIPOSTE_ENGINE_CONCURRENCY', env.RIPOSTE_ENGINE_CONCURRENCY, 64),
    authFailures: flags.authFailures ?? {
      maxFailures: int('RIPOSTE_AUTH_MAX_FAILURES', env.RIPOSTE_AUTH_MAX_FAILURES, 20),
      windowMs: 1000 * int('RIPOSTE_AUTH_FAILURE_WINDOW_S', env.RIPOSTE_AUTH_FAILURE_WINDOW_S, 60, 1),
    },
    httpTimeouts: flags.httpTimeouts ?? checkTimeouts({
      requestMs: millis('RIPOSTE_REQUEST_TIMEOUT_MS', env.RIPOSTE_REQUEST_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUTS.requestMs),
      headersMs: millis('RIPOSTE_HEADERS_TIMEOUT_MS', env.RIPOSTE_HEADERS_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUTS.headersMs),
      keepAliveMs: millis('RIPOSTE_KEEPALIVE_TIMEOUT_MS', env.RIPOSTE_KEEPALIVE_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUTS.keepAliveMs),
    }),
    audit: flags.audit ?? auditConfig(resolve(flags.dataDir ?? env.RIPOSTE_DATA_DIR ?? 'data'), {}, env),
  };
  const tls = tlsFiles(flags, env);
  if (tls) config.tls = tls;
  if (flags.keyFile !== undefined) config.keyFile = flags.keyFile;
  if (flags.keyCommand !== undefined) config.keyCommand = flags.keyCommand;
  const smtpUrl = flags.mail?.smtpUrl ?? env.RIPOSTE_SMTP_URL;
  if (smtpUrl) {
    config.mail = {
      smtpUrl,
      from: flags.mail?.from ?? env.RIPOSTE_MAIL_FROM ?? 'riposte@localhost',
      publicUrl: (flags.mail?.publicUrl ?? env.RIPOSTE_PUBLIC_URL ?? `${tls ? 'https' : 'http'}://${config.host}:${config.port}`).replace(/\/+$/, ''),
    };
  }
  return config;
}
