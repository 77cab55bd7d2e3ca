/**
 * Omnissa Workspace ONE UEM (formerly VMware AirWatch): look up devices, and wipe or lock them
 * with MDM v1 device commands. Implements the `mdm` capability. Device ids are UEM's numeric
 * device ids (`Id.Value`).
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities, DeviceRecord } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { VENDOR, ws1Config, ws1Fetch, ws1Json, ws1JsonOrNone, ws1List, ws1Time, type Ws1Config } from './client.js';

/** How far UEM's clock may lag ours when matching a command to the engine's intent. */
const CLOCK_SKEW_MS = 5_000;

/** The part of UEM's device object this app reads. */
interface Ws1Device {
  Id?: { Value?: number } | null;
  DeviceFriendlyName?: string | null;
  DeviceReportedName?: string | null;
  SerialNumber?: string | null;
  MacAddress?: string | null;
  Udid?: string | null;
  Imei?: string | null;
  UserName?: string | null;
  UserEmailAddress?: string | null;
  Platform?: string | null;
  Model?: string | null;
  OperatingSystem?: string | null;
  ComplianceStatus?: string | null;
  EnrollmentStatus?: string | null;
  LastSeen?: string | null;
}

/** One entry of `GET /API/mdm/devices/{id}/commands` (shape [unverified], see the simulator). */
const DeviceCommand = z.object({
  CommandUuid: z.string().optional(),
  CommandName: z.string(),
  Status: z.string(),
  QueuedOn: z.string(),
  CompletedOn: z.string().nullable().optional(),
});
type DeviceCommand = z.infer<typeof DeviceCommand>;

const OS_OF_PLATFORM: Record<string, string> = { Apple: 'iOS', AppleOsX: 'macOS', Android: 'Android', WinRT: 'Windows', WindowsPc: 'Windows' };
const WIPE_COMMAND = { device: 'DeviceWipe', enterprise: 'EnterpriseWipe' } as const;

function present(v: string | null | undefined): v is string {
  return typeof v === 'string' && v !== '';
}

function toRecord(d: Ws1Device): DeviceRecord {
  const r: DeviceRecord = { id: String(d.Id?.Value ?? ''), name: present(d.DeviceFriendlyName) ? d.DeviceFriendlyName : d.DeviceReportedName ?? '' };
  if (present(d.SerialNumber)) r.serialNumber = d.SerialNumber;
  const os = present(d.Platform) ? OS_OF_PLATFORM[d.Platform] ?? d.Platform : undefined;
  if (os !== undefined) r.os = present(d.OperatingSystem) ? `${os} ${d.OperatingSystem}` : os;
  if (present(d.Model)) r.model = d.Model;
  const user = present(d.UserEmailAddress) ? d.UserEmailAddress : d.UserName;
  if (present(user)) r.userPrincipalName = user;
  if (present(d.ComplianceStatus)) r.complianceState = d.ComplianceStatus;
  const seen = ws1Time(d.LastSeen);
  if (seen !== undefined) r.lastSyncAt = seen;
  return r;
}

function deviceId(id: string): string {
  const t = id.trim();
  if (!/^\d+$/.test(t)) throw new TerminalError(`${VENDOR}: device id "${id}" is not a numeric UEM device id`);
  return t;
}

const eq = (a: string | null | undefined, b: string | undefined) => b === undefined || (a ?? '').toLowerCase() === b.toLowerCase();
const mac = (s: string | null | undefined) => (s ?? '').replace(/[:-]/g, '').toLowerCase();

interface Criteria { deviceName?: string; serialNumber?: string; userPrincipalName?: string; macAddress?: string; udid?: string; imei?: string }

function localPart(upn: string): string {
  return upn.includes('@') ? upn.slice(0, upn.indexOf('@')) : upn;
}

/** Every criterion is checked here, whatever the server searched by. */
function matches(d: Ws1Device, c: Criteria): boolean {
  if (c.deviceName !== undefined && !eq(d.DeviceFriendlyName, c.deviceName) && !eq(d.DeviceReportedName, c.deviceName)) return false;
  if (!eq(d.SerialNumber, c.serialNumber) || !eq(d.Udid, c.udid) || !eq(d.Imei, c.imei)) return false;
  if (c.macAddress !== undefined && mac(d.MacAddress) !== mac(c.macAddress)) return false;
  const u = c.userPrincipalName;
  return u === undefined || eq(d.UserEmailAddress, u) || eq(d.UserName, u) || eq(d.UserName, localPart(u));
}

function seenAt(d: Ws1Device): number {
  const t = Date.parse(ws1Time(d.LastSeen) ?? '');
  return Number.isNaN(t) ? -Infinity : t;
}

async function search(cfg: Ws1Config, params: Record<string, string>, signal: AbortSignal): Promise<Ws1Device[]> {
  return ws1List<Ws1Device>(cfg, '/mdm/devices/search', 'Devices', new URLSearchParams(params), signal);
}

/** Candidates for the criteria: an alternate-id lookup when there is one, else a search. */
async function candidates(cfg: Ws1Config, c: Criteria, signal: AbortSignal): Promise<Ws1Device[]> {
  const alt = ([['Serialnumber', c.serialNumber], ['Macaddress', c.macAddress], ['Udid', c.udid], ['ImeiNumber', c.imei]] as const).find(([, v]) => v !== undefined);
  if (alt !== undefined) {
    const d = await ws1JsonOrNone<Ws1Device>(cfg, `/mdm/devices?searchby=${alt[0]}&id=${encodeURIComponent(alt[1]!)}`, signal);
    return d === undefined ? [] : [d];
  }
  if (c.userPrincipalName !== undefined) {
    // Enrollment user names are the UPN or the directory short name, depending on the tenant.
    const byUpn = await search(cfg, { user: c.userPrincipalName }, signal);
    const local = localPart(c.userPrincipalName);
    return byUpn.length > 0 || local === c.userPrincipalName ? byUpn : search(cfg, { user: local }, signal);
  }
  // The search API has no name filter: page through the devices the account can see.
  return search(cfg, {}, signal);
}

async function commandsOf(cfg: Ws1Config, id: string, signal: AbortSignal): Promise<DeviceCommand[]> {
  const raw = await ws1List<unknown>(cfg, `/mdm/devices/${id}/commands`, 'DeviceCommands', new URLSearchParams(), signal);
  return raw.flatMap((r) => {
    const p = DeviceCommand.safeParse(r);
    return p.success ? [p.data] : [];
  }).sort((a, b) => (ws1Time(b.QueuedOn) ?? '').localeCompare(ws1Time(a.QueuedOn) ?? ''));
}

async function sendCommand(cfg: Ws1Config, id: string, command: string, signal: AbortSignal): Promise<void> {
  const res = await ws1Fetch(cfg, `/mdm/devices/${id}/commands?command=${command}`, signal, 'POST');
  await res.arrayBuffer(); // 202 with an empty body: release the connection
}

const CommandOutput = capabilities.mdm.wipeDevice.output;

export const workspaceOneApp = defineApp({
  id: 'omnissa-workspace-one',
  name: 'Workspace ONE UEM',
  vendor: 'Omnissa',
  product: 'Workspace ONE UEM',
  version: '1.0.0',
  description: 'Device lookup, wipe and lock through the Workspace ONE UEM REST API.',
  implements: ['mdm'],
  config: ws1Config,
  secrets: ['tenantCode', 'password', 'clientSecret'],
  actions: (action) => ({
    findDevice: action({
      description: 'Find a device by UEM id, serial number, MAC address, UDID, IMEI, name or user; of several matches, the most recently seen.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: capabilities.mdm.findDevice.input.extend({
        macAddress: z.string().optional(),
        udid: z.string().optional(),
        imei: z.string().optional(),
      }),
      output: capabilities.mdm.findDevice.output.extend({ matchCount: z.number().int().nonnegative(), enrollmentStatus: z.string().optional() }),
      async handler(input, ctx) {
        const c: Criteria = {};
        for (const k of ['deviceName', 'serialNumber', 'userPrincipalName', 'macAddress', 'udid', 'imei'] as const) {
          if (present(input[k])) c[k] = input[k];
        }
        let found: Ws1Device[];
        if (present(input.deviceId)) {
          const d = await ws1JsonOrNone<Ws1Device>(ctx.config, `/mdm/devices/${deviceId(input.deviceId)}`, ctx.signal);
          found = d === undefined ? [] : [d];
        } else if (Object.keys(c).length > 0) {
          found = await candidates(ctx.config, c, ctx.signal);
        } else {
          throw new TerminalError('findDevice needs deviceId, deviceName, serialNumber, userPrincipalName, macAddress, udid or imei');
        }
        const hits = found.filter((d) => matches(d, c));
        if (hits.length === 0) return { found: false, matchCount: 0 };
        const best = hits.reduce((a, b) => (seenAt(b) > seenAt(a) ? b : a));
        if (hits.length > 1) ctx.log('several devices matched; returning the most recently seen', { matchCount: hits.length, deviceId: best.Id?.Value });
        const out = { found: true, device: toRecord(best), matchCount: hits.length };
        return present(best.EnrollmentStatus) ? { ...out, enrollmentStatus: best.EnrollmentStatus } : out;
      },
    }),

    getDevice: action({
      description: 'Get a device by UEM id, with its enrollment status (e.g. DeviceWipePending) and its commands, newest first.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({ deviceId: z.string().min(1) }),
      output: z.object({ device: DeviceRecord, enrollmentStatus: z.string().optional(), commands: z.array(DeviceCommand) }),
      async handler(input, ctx) {
        const id = deviceId(input.deviceId);
        const d = await ws1Json<Ws1Device>(ctx.config, `/mdm/devices/${id}`, ctx.signal);
        if (d === undefined) throw new TerminalError(`${VENDOR}: GET /API/mdm/devices/${id}: empty reply`);
        const commands = await commandsOf(ctx.config, id, ctx.signal);
        return present(d.EnrollmentStatus) ? { device: toRecord(d), enrollmentStatus: d.EnrollmentStatus, commands } : { device: toRecord(d), commands };
      },
    }),

    wipeDevice: action({
      description: 'Wipe a device: a full factory reset (DeviceWipe, default) or removal of corporate data only (EnterpriseWipe). UEM queues the command; the device applies it at its next check-in.',
      kind: 'contain',
      readOnly: false,
      // A second wipe command is a second command: never re-send blindly (see reconcile).
      idempotent: false,
      input: capabilities.mdm.wipeDevice.input.extend({ mode: z.enum(['device', 'enterprise']).default('device') }),
      output: CommandOutput,
      async handler(input, ctx) {
        const id = deviceId(input.deviceId);
        await sendCommand(ctx.config, id, WIPE_COMMAND[input.mode], ctx.signal);
        ctx.log('wipe command queued', { deviceId: id, command: WIPE_COMMAND[input.mode] });
        return { accepted: true, state: 'pending' };
      },
      /**
       * Applied when the device's command list shows this wipe queued at or after the engine's
       * intent (minus clock skew); one someone else sent in that window also counts.
       */
      async reconcile(input, ctx) {
        try {
          const id = deviceId(input.deviceId);
          const d = await ws1JsonOrNone<Ws1Device>(ctx.config, `/mdm/devices/${id}`, ctx.signal);
          if (d === undefined) return { applied: 'unknown', reason: `device ${id} not found` };
          const since = ctx.intentAt.getTime() - CLOCK_SKEW_MS;
          const cmd = (await commandsOf(ctx.config, id, ctx.signal))
            .find((c) => c.CommandName.toLowerCase() === WIPE_COMMAND[input.mode].toLowerCase() && Date.parse(ws1Time(c.QueuedOn) ?? '') >= since);
          if (cmd === undefined) return { applied: false };
          const output = { accepted: true, state: cmd.Status.toLowerCase() };
          return { applied: true, output: cmd.CommandUuid === undefined ? output : { ...output, commandId: cmd.CommandUuid } };
        } catch (err) {
          return { applied: 'unknown', reason: err instanceof Error ? err.message : String(err) };
        }
      },
    }),

    lockDevice: action({
      description: 'Lock a device (MDM Lock command).',
      kind: 'contain',
      readOnly: false,
      // Locking a locked device changes nothing, so a duplicate command is harmless.
      idempotent: true,
      input: z.object({ deviceId: z.string().min(1) }),
      output: CommandOutput,
      async handler(input, ctx) {
        const id = deviceId(input.deviceId);
        await sendCommand(ctx.config, id, 'Lock', ctx.signal);
        ctx.log('lock command queued', { deviceId: id });
        return { accepted: true, state: 'pending' };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const page = await ws1Json<{ Total?: number }>(ctx.config, '/mdm/devices/search?page=0&pagesize=1', ctx.signal);
    return { ok: true, detail: `authenticated; ${page?.Total ?? 0} devices visible` };
  },
});
