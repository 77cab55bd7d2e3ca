/**
 * PAN-OS User-ID tag registration (`type=user-id`), which populates dynamic address groups whose
 * filter matches the tag without a commit. Registering a tag an IP already has, or unregistering
 * one it lacks, is reported as an error whose message ends "already exists, ignore" or
 * "does not exist, ignore unreg"; both mean the IP is already in the wanted state (pan-os-python
 * treats them the same way). One IP per request, so the suffix check covers the whole reply.
 */
import { TerminalError } from '../../sdk/errors.js';
import { escapeXml, childElements, firstChild, textOf } from './xml.js';
import type { PanosClient } from './client.js';

/** Longest tag timeout PAN-OS accepts: 30 days. */
export const MAX_TAG_TIMEOUT_SECONDS = 2_592_000;
/** Page size of `show object registered-ip` (PAN-OS 8.0+ pages with limit/start-point). */
export const REGISTERED_PAGE_SIZE = 500;
/** Upper bound on pages read, against a firewall that ignores start-point. */
const MAX_PAGES = 2000;

const ALREADY_REGISTERED = 'already exists, ignore';
const NOT_REGISTERED = 'does not exist, ignore unreg';

/** Refuses a timeout PAN-OS would reject, before anything is sent. */
export function checkTimeout(ttlSeconds: number | undefined): void {
  if (ttlSeconds !== undefined && ttlSeconds > MAX_TAG_TIMEOUT_SECONDS) {
    throw new TerminalError(`PAN-OS: ttlSeconds ${ttlSeconds} exceeds the User-ID tag timeout maximum of ${MAX_TAG_TIMEOUT_SECONDS} s (30 days)`,
      { applied: 'no' });
  }
}

function uidMessage(op: 'register' | 'unregister', ip: string, tag: string, timeout?: number): string {
  const t = timeout === undefined ? '' : ` timeout="${timeout}"`;
  return `<uid-message><version>2.0</version><type>update</type><payload><${op}><entry ip="${escapeXml(ip)}"><tag>` +
    `<member${t}>${escapeXml(tag)}</member></tag></entry></${op}></payload></uid-message>`;
}

/** Sends one uid-message; true when the firewall answered with the "nothing to do" message. */
async function send(c: PanosClient, vsys: string, op: 'register' | 'unregister', ip: string, tag: string, timeout?: number): Promise<boolean> {
  try {
    await c.call({ type: 'user-id', vsys, cmd: uidMessage(op, ip, tag, timeout) }, `user-id ${op}`);
    return false;
  } catch (err) {
    if (err instanceof TerminalError && err.message.endsWith(op === 'register' ? ALREADY_REGISTERED : NOT_REGISTERED)) return true;
    throw err;
  }
}

/** Registers `tag` on `ip` (timeout in seconds, none = until unregistered). */
export async function registerTag(c: PanosClient, vsys: string, ip: string, tag: string, timeout?: number): Promise<{ alreadyRegistered: boolean }> {
  checkTimeout(timeout);
  return { alreadyRegistered: await send(c, vsys, 'register', ip, tag, timeout) };
}

export async function unregisterTag(c: PanosClient, vsys: string, ip: string, tag: string): Promise<{ wasRegistered: boolean }> {
  return { wasRegistered: !(await send(c, vsys, 'unregister', ip, tag)) };
}

/** IPs carrying `tag`, read page by page. */
export async function registeredIps(c: PanosClient, vsys: string, tag: string): Promise<string[]> {
  const ips: string[] = [];
  for (let page = 0, start = 1; page < MAX_PAGES; page++) {
    const cmd = `<show><object><registered-ip><limit>${REGISTERED_PAGE_SIZE}</limit><start-point>${start}</start-point>` +
      `<tag><entry name="${escapeXml(tag)}"/></tag></registered-ip></object></show>`;
    const r = await c.call({ type: 'op', vsys, cmd }, 'show registered-ip');
    const entries = childElements(firstChild(r, 'result') ?? r, 'entry');
    for (const e of entries) {
      const tags = childElements(firstChild(e, 'tag') ?? e, 'member').map((m) => textOf(m).trim());
      // Filter here too: the tag filter is the firewall's, this makes the answer ours.
      if (e.attrs.ip !== undefined && tags.includes(tag)) ips.push(e.attrs.ip);
    }
    if (entries.length < REGISTERED_PAGE_SIZE) return [...new Set(ips)];
    start += entries.length;
  }
  throw new TerminalError(`PAN-OS show registered-ip: more than ${MAX_PAGES} pages for tag ${tag}; the firewall may ignore start-point`, { applied: 'no' });
}
