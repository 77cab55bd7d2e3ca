/** Whether the server is reachable beyond this machine without TLS, and the warning that says so. */
import { isIP } from 'node:net';

/** True for addresses only this machine reaches: localhost, 127.0.0.0/8, ::1 (also IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The warning for listening on `host` without TLS, or null when there is nothing to warn about. */
export function plaintextExposureWarning(host: string, tls: boolean): string | null {
  if (tls || isLoopbackHost(host)) return null;
  return [
    '',
    '!!! WARNING: Riposte is listening on a non-loopback address without TLS. !!!',
    `!!! Anyone on the network path can read API tokens and alerts sent to ${host}. !!!`,
    '!!! Give --tls-cert <file> --tls-key <file>, or put a TLS proxy in front and bind to 127.0.0.1. !!!',
    '',
  ].join('\n');
}
