/**
 * The audit trail's configuration (checkpoints and the SIEM stream), from `riposte serve` flags and
 * environment variables. The HEC token is read from the environment or a file only, never from a
 * flag (a flag is visible to every local user in the process list), and never logged.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkSdName } from './export/rfc5424.js';

export interface AuditConfig {
  /** Signed checkpoints, one JSON line each (outside the database; see checkpointer.ts). */
  checkpointFile: string;
  checkpointEveryEntries: number;
  checkpointEveryMs: number;
  syslog?: { host: string; port: number; sdId?: string };
  hec?: { url: string; token: string; index?: string };
}

export interface AuditFlags {
  checkpointFile?: string;
  checkpointEvery?: string;
  checkpointMinutes?: string;
  syslog?: string;
  hecUrl?: string;
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(n > 0)) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

/** `tcp://host:port` (the only transport: RFC 6587 octet counting needs a stream). */
export function parseSyslogTarget(raw: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`audit syslog target must look like tcp://host:port, got "${raw}"`);
  }
  const port = Number(u.port);
  if (u.protocol !== 'tcp:' || u.hostname === '' || !Number.isInteger(port) || port < 1 || (u.pathname !== '' && u.pathname !== '/')) {
    throw new Error(`audit syslog target must look like tcp://host:port, got "${raw}"`);
  }
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

export function auditConfig(dataDir: string, flags: AuditFlags = {}, env: NodeJS.ProcessEnv = process.env): AuditConfig {
  const config: AuditConfig = {
    checkpointFile: resolve(flags.checkpointFile ?? env.RIPOSTE_AUDIT_CHECKPOINT_FILE ?? join(dataDir, 'audit-checkpoints.jsonl')),
    checkpointEveryEntries: Math.ceil(positive('audit checkpoint entries', flags.checkpointEvery ?? env.RIPOSTE_AUDIT_CHECKPOINT_ENTRIES, 1000)),
    checkpointEveryMs: positive('audit checkpoint minutes', flags.checkpointMinutes ?? env.RIPOSTE_AUDIT_CHECKPOINT_MINUTES, 5) * 60_000,
  };
  const syslog = flags.syslog ?? env.RIPOSTE_AUDIT_SYSLOG;
  if (syslog) {
    const sdId = env.RIPOSTE_AUDIT_SYSLOG_SD_ID;
    config.syslog = { ...parseSyslogTarget(syslog), ...(sdId ? { sdId: checkSdName(sdId) } : {}) };
  }
  const hecUrl = flags.hecUrl ?? env.RIPOSTE_AUDIT_HEC_URL;
  if (hecUrl) {
    const tokenFile = env.RIPOSTE_AUDIT_HEC_TOKEN_FILE;
    const token = (tokenFile ? readFileSync(tokenFile, 'utf8') : env.RIPOSTE_AUDIT_HEC_TOKEN ?? '').trim();
    if (token === '') throw new Error('an audit HEC URL needs its token in RIPOSTE_AUDIT_HEC_TOKEN or RIPOSTE_AUDIT_HEC_TOKEN_FILE');
    const index = env.RIPOSTE_AUDIT_HEC_INDEX;
    config.hec = { url: hecUrl, token, ...(index ? { index } : {}) };
  }
  return config;
}
