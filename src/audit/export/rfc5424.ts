/**
 * RFC 5424 syslog messages for audit entries, and RFC 6587 octet-counting frames for TCP.
 *
 * Hand-written, not an npm library: the candidates either have no structured data or frame with
 * newlines (syslog-client), or are unmaintained since 2016–2019 (glossy, syslog-pro). The format is
 * a few lines; the tests check it with a real rsyslog, which parses every field back.
 */
import { hostname } from 'node:os';
import type { AuditEntry } from '../../store/records.js';

/** Facility 13 is "log audit" (RFC 5424 table 1); severity 6 is informational. */
export const DEFAULT_FACILITY = 13;
/** An SD-ID needs a private enterprise number; 32473 is the one reserved for documentation (RFC 5612). */
export const DEFAULT_SD_ID = 'riposte@32473';

export interface SyslogFormat {
  facility?: number;
  sdId?: string;
  appName?: string;
  hostname?: string;
}

/** PRINTUSASCII (33–126) only, at most `max` characters; '-' (NILVALUE) when nothing is left. */
function header(value: string, max: number): string {
  const v = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return v === '' ? '-' : v;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): '"', '\' and ']' take a backslash. */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Checks an SD-ID / SD-NAME: 1–32 printable ASCII, none of '=', ' ', ']', '"'. */
export function checkSdName(name: string): string {
  if (!/^[\x21-\x7e]{1,32}$/.test(name) || /[= \]"]/.test(name)) {
    throw new Error(`"${name}" is not a valid RFC 5424 SD-ID: 1 to 32 printable ASCII characters without =, space, ] or "`);
  }
  return name;
}

/**
 * One entry as an RFC 5424 message: MSGID is the action, the structured data names the entry
 * (id, actor, action, target, hash, prevHash, keyId), and MSG is the whole entry as JSON (UTF-8, so
 * it starts with a BOM as §6.4 requires).
 */
export function formatAuditEntry(e: AuditEntry, f: SyslogFormat = {}): string {
  const pri = (f.facility ?? DEFAULT_FACILITY) * 8 + 6;
  const params: [string, string | number | null | undefined][] = [
    ['id', e.id], ['actor', e.actor], ['action', e.action], ['target', e.target],
    ['hash', e.hash], ['prevHash', e.prevHash], ['keyId', e.keyId],
  ];
  const sd = params.filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}="${paramValue(String(v))}"`).join('');
  return `<${pri}>1 ${e.at} ${header(f.hostname ?? hostname(), 255)} ${header(f.appName ?? 'riposte', 48)} ${process.pid} ` +
    `${header(e.action, 32)} [${checkSdName(f.sdId ?? DEFAULT_SD_ID)}${sd}] \ufeff${JSON.stringify(e)}`;
}

/** RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, the message. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}
