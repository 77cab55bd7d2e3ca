/** Process configuration: flags override environment variables, which override defaults. */
import { resolve } from 'node:path';
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
  /** E-mail for approval requests and prompts (RIPOSTE_SMTP_URL, RIPOSTE_MAIL_FROM, RIPOSTE_PUBLIC_URL). */
  mail?: { smtpUrl: string; from: string; publicUrl: string };
  /** Audit checkpoints and the SIEM stream (src/audit/config.ts; RIPOSTE_AUDIT_* variables). */
  audit: AuditConfig;
}

function int(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be an integer between 0 and 65535, got "${raw}"`);
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
    audit: flags.audit ?? auditConfig(resolve(flags.dataDir ?? env.RIPOSTE_DATA_DIR ?? 'data'), {}, env),
  };
  const smtpUrl = flags.mail?.smtpUrl ?? env.RIPOSTE_SMTP_URL;
  if (smtpUrl) {
    config.mail = {
      smtpUrl,
      from: flags.mail?.from ?? env.RIPOSTE_MAIL_FROM ?? 'riposte@localhost',
      publicUrl: (flags.mail?.publicUrl ?? env.RIPOSTE_PUBLIC_URL ?? `http://${config.host}:${config.port}`).replace(/\/+$/, ''),
    };
  }
  return config;
}
