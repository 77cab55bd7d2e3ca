/**
 * Jamf Pro device lookups. Mobile devices and computers are separate inventories whose numeric ids
 * overlap, so the app's device id is qualified: `mobile:5` or `computer:12`. A bare Jamf id is
 * accepted too and resolved against both (mobile devices first); a bare id that exists in both is
 * refused where an action would act on it.
 */
import type { DeviceRecord } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { jamfJsonOrNone, jamfList, rsql, VENDOR, type JamfConfig } from './client.js';

export type DeviceKind = 'mobile' | 'computer';

/** A device as this app sees it, whichever inventory it came from. */
export interface JamfDevice {
  kind: DeviceKind;
  jamfId: string;
  managementId: string;
  record: DeviceRecord;
  /** Username and email as Jamf holds them, for matching a user criterion. */
  username: string;
  email: string;
}

type Text = string | null | undefined;

interface MobileSummary { id: string; name?: Text; serialNumber?: Text; managementId?: Text; username?: Text; model?: Text; osVersion?: Text; type?: Text; lastInventoryUpdateDate?: Text }
interface MobileDetail {
  id: string; name?: Text; serialNumber?: Text; managementId?: Text; osVersion?: Text; type?: Text; lastInventoryUpdateTimestamp?: Text;
  location?: { username?: Text; emailAddress?: Text } | null;
  ios?: { model?: Text } | null;
}
interface ComputerInventory {
  id: string;
  general?: { name?: Text; managementId?: Text; lastContactTime?: Text } | null;
  hardware?: { serialNumber?: Text; model?: Text } | null;
  userAndLocation?: { username?: Text; email?: Text } | null;
  operatingSystem?: { name?: Text; version?: Text } | null;
}

const SECTIONS = ['GENERAL', 'HARDWARE', 'USER_AND_LOCATION', 'OPERATING_SYSTEM'];

function present(v: Text): v is string {
  return typeof v === 'string' && v !== '';
}

function record(kind: DeviceKind, id: string, f: { name: Text; serial: Text; os: Text; osVersion: Text; model: Text; user: Text; lastSync: Text }): DeviceRecord {
  const r: DeviceRecord = { id: `${kind}:${id}`, name: f.name ?? '' };
  if (present(f.serial)) r.serialNumber = f.serial;
  if (present(f.os)) r.os = present(f.osVersion) ? `${f.os} ${f.osVersion}` : f.os;
  if (present(f.model)) r.model = f.model;
  if (present(f.user)) r.userPrincipalName = f.user;
  if (present(f.lastSync)) r.lastSyncAt = f.lastSync;
  return r;
}

const OS_NAMES: Record<string, string> = { ios: 'iOS', tvos: 'tvOS', watchos: 'watchOS', visionos: 'visionOS' };

function fromMobileSummary(d: MobileSummary): JamfDevice {
  const os = OS_NAMES[(d.type ?? 'ios').toLowerCase()] ?? d.type;
  return {
    kind: 'mobile', jamfId: d.id, managementId: d.managementId ?? '', username: d.username ?? '', email: '',
    record: record('mobile', d.id, { name: d.name, serial: d.serialNumber, os, osVersion: d.osVersion, model: d.model, user: d.username, lastSync: d.lastInventoryUpdateDate }),
  };
}

function fromMobileDetail(d: MobileDetail): JamfDevice {
  const os = OS_NAMES[(d.type ?? 'ios').toLowerCase()] ?? d.type;
  const username = d.location?.username ?? '';
  const email = d.location?.emailAddress ?? '';
  return {
    kind: 'mobile', jamfId: d.id, managementId: d.managementId ?? '', username, email,
    record: record('mobile', d.id, { name: d.name, serial: d.serialNumber, os, osVersion: d.osVersion, model: d.ios?.model, user: present(email) ? email : username, lastSync: d.lastInventoryUpdateTimestamp }),
  };
}

function fromComputer(c: ComputerInventory): JamfDevice {
  const username = c.userAndLocation?.username ?? '';
  const email = c.userAndLocation?.email ?? '';
  return {
    kind: 'computer', jamfId: c.id, managementId: c.general?.managementId ?? '', username, email,
    record: record('computer', c.id, {
      name: c.general?.name, serial: c.hardware?.serialNumber, os: c.operatingSystem?.name ?? 'macOS', osVersion: c.operatingSystem?.version,
      model: c.hardware?.model, user: present(email) ? email : username, lastSync: c.general?.lastContactTime,
    }),
  };
}

export function parseDeviceId(deviceId: string): { kind?: DeviceKind; id: string } {
  const m = /^(?:(mobile|computer):)?(\d+)$/.exec(deviceId.trim());
  if (!m) throw new TerminalError(`${VENDOR}: device id "${deviceId}" is not mobile:<id>, computer:<id> or a Jamf id`);
  return m[1] === undefined ? { id: m[2]! } : { kind: m[1] as DeviceKind, id: m[2]! };
}

export async function getMobile(cfg: JamfConfig, id: string, signal: AbortSignal): Promise<JamfDevice | undefined> {
  const d = await jamfJsonOrNone<MobileDetail>(cfg, `/api/v2/mobile-devices/${encodeURIComponent(id)}/detail`, signal);
  return d === undefined ? undefined : fromMobileDetail(d);
}

export async function getComputer(cfg: JamfConfig, id: string, signal: AbortSignal): Promise<JamfDevice | undefined> {
  const q = new URLSearchParams(SECTIONS.map((s) => ['section', s]));
  const c = await jamfJsonOrNone<ComputerInventory>(cfg, `/api/v1/computers-inventory/${encodeURIComponent(id)}?${q.toString()}`, signal);
  return c === undefined ? undefined : fromComputer(c);
}

/** Every device a (qualified or bare) id names: at most one per inventory. */
export async function devicesById(cfg: JamfConfig, deviceId: string, signal: AbortSignal): Promise<JamfDevice[]> {
  const { kind, id } = parseDeviceId(deviceId);
  const out: JamfDevice[] = [];
  if (kind !== 'computer') {
    const m = await getMobile(cfg, id, signal);
    if (m) out.push(m);
  }
  if (kind !== 'mobile') {
    const c = await getComputer(cfg, id, signal);
    if (c) out.push(c);
  }
  return out;
}

/** The one device an action should act on; TerminalError when there is none or the id is ambiguous. */
export async function resolveDevice(cfg: JamfConfig, deviceId: string, signal: AbortSignal): Promise<JamfDevice> {
  const found = await devicesById(cfg, deviceId, signal);
  if (found.length === 0) throw new TerminalError(`${VENDOR}: no mobile device or computer with id ${deviceId}`, { status: 404 });
  if (found.length > 1) throw new TerminalError(`${VENDOR}: id ${deviceId} names both a mobile device and a computer; use mobile:${found[0]!.jamfId} or computer:${found[0]!.jamfId}`);
  const d = found[0]!;
  if (d.managementId === '') throw new TerminalError(`${VENDOR}: ${d.record.id} has no managementId (not MDM-managed)`);
  return d;
}

export interface Criteria {
  deviceName?: string | undefined;
  serialNumber?: string | undefined;
  userPrincipalName?: string | undefined;
}

const eq = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();

/** A directory user may be held in Jamf as the UPN, as its local part (short name), or by email. */
function userNames(upn: string): string[] {
  const local = upn.includes('@') ? upn.slice(0, upn.indexOf('@')) : upn;
  return local === upn ? [upn] : [upn, local];
}

/** True when the device satisfies every given criterion (checked here whatever the server filtered). */
export function matches(d: JamfDevice, c: Criteria): boolean {
  if (!eq(d.record.name, c.deviceName) || !eq(d.record.serialNumber ?? '', c.serialNumber)) return false;
  if (c.userPrincipalName === undefined) return true;
  const names = userNames(c.userPrincipalName);
  return eq(d.email, c.userPrincipalName) || names.some((n) => eq(d.username, n));
}

function filterOf(c: Criteria, fields: { name: string; serial: string; user: string[] }): string {
  const parts: string[] = [];
  if (c.deviceName !== undefined) parts.push(`${fields.name}==${rsql(c.deviceName)}`);
  if (c.serialNumber !== undefined) parts.push(`${fields.serial}==${rsql(c.serialNumber)}`);
  if (c.userPrincipalName !== undefined) {
    const ors = userNames(c.userPrincipalName).flatMap((n) => fields.user.map((f) => `${f}==${rsql(n)}`));
    parts.push(ors.length === 1 ? ors[0]! : `(${ors.join(',')})`);
  }
  return parts.join(';');
}

/**
 * Mobile devices matching the criteria. The server-side filter only narrows the listing (whether
 * `/api/v2/mobile-devices` honours `filter` is [unverified]); `matches` decides.
 */
export async function searchMobile(cfg: JamfConfig, c: Criteria, signal: AbortSignal): Promise<JamfDevice[]> {
  const filter = filterOf(c, { name: 'name', serial: 'serialNumber', user: ['username'] });
  const q = new URLSearchParams({ sort: 'id:asc', filter });
  const list = await jamfList<MobileSummary>(cfg, '/api/v2/mobile-devices', q, signal);
  return list.map(fromMobileSummary).filter((d) => matches(d, c));
}

export async function searchComputers(cfg: JamfConfig, c: Criteria, signal: AbortSignal): Promise<JamfDevice[]> {
  const filter = filterOf(c, { name: 'general.name', serial: 'hardware.serialNumber', user: ['userAndLocation.username', 'userAndLocation.email'] });
  const q = new URLSearchParams([...SECTIONS.map((s) => ['section', s]), ['sort', 'id:asc'], ['filter', filter]]);
  const list = await jamfList<ComputerInventory>(cfg, '/api/v1/computers-inventory', q, signal);
  return list.map(fromComputer).filter((d) => matches(d, c));
}

export function syncedAt(d: JamfDevice): number {
  const t = Date.parse(d.record.lastSyncAt ?? '');
  return Number.isNaN(t) ? -Infinity : t;
}
