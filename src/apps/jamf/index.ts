/**
 * Jamf Pro: look up mobile devices and Macs, and send the ERASE_DEVICE and DEVICE_LOCK MDM
 * commands through `/api/v2/mdm/commands`. Implements the `mdm` capability. The API client's role
 * needs Read Mobile Devices, Read Computers, View MDM command information in Jamf Pro API, and the
 * Send … Remote Wipe / Lock Command privileges for the device types it acts on.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities, DeviceRecord } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { jamfConfig, jamfFetch, jamfJson, jamfList, notApplied, readCreated, rsql, type JamfConfig } from './client.js';
import { devicesById, getMobile, matches, resolveDevice, searchComputers, searchMobile, syncedAt, type Criteria, type JamfDevice } from './devices.js';

/** How far Jamf's clock may lag ours when matching a command to the engine's intent. */
const CLOCK_SKEW_MS = 5_000;

const MdmCommand = z.object({
  uuid: z.string(),
  commandType: z.string(),
  commandState: z.string(),
  dateSent: z.string().optional(),
  dateCompleted: z.string().nullable().optional(),
});
type MdmCommand = z.infer<typeof MdmCommand>;

const DeviceType = z.enum(['mobile', 'computer']);
const pin = z.string().regex(/^\d{6}$/, 'pin must be 6 digits');
const CommandOutput = capabilities.mdm.wipeDevice.output;

/** MDM commands of one device, newest first, optionally of one type and sent at or after `since`. */
async function listCommands(cfg: JamfConfig, managementId: string, signal: AbortSignal, type?: string, since?: Date): Promise<MdmCommand[]> {
  const clauses = [`clientManagementId==${rsql(managementId)}`];
  if (type !== undefined) clauses.push(`command==${type}`);
  if (since !== undefined) clauses.push(`dateSent=ge=${since.toISOString()}`);
  const q = new URLSearchParams({ sort: 'dateSent:desc', filter: clauses.join(';') });
  const raw = await jamfList<unknown>(cfg, '/api/v2/mdm/commands', q, signal);
  const cmds = raw.flatMap((r) => {
    const p = MdmCommand.safeParse(r);
    const client = (r as { client?: { managementId?: unknown } } | null)?.client;
    // Re-check what the filter asked for: a server that ignored part of it must not mislead us.
    if (!p.success || (client?.managementId !== undefined && client.managementId !== managementId)) return [];
    if (type !== undefined && p.data.commandType !== type) return [];
    if (since !== undefined && !(Date.parse(p.data.dateSent ?? '') >= since.getTime())) return [];
    return [p.data];
  });
  return cmds.sort((a, b) => Date.parse(b.dateSent ?? '') - Date.parse(a.dateSent ?? ''));
}

/** Queues one command for one device; returns its uuid (undefined if the 201 reply did not carry one). */
async function sendCommand(cfg: JamfConfig, d: JamfDevice, commandData: Record<string, unknown>, signal: AbortSignal): Promise<string | undefined> {
  const res = await jamfFetch(cfg, '/api/v2/mdm/commands', { method: 'POST', body: { clientData: [{ managementId: d.managementId }], commandData }, signal });
  return readCreated(res);
}

function present(v: string | undefined): v is string {
  return v !== undefined && v !== '';
}

export const jamfApp = defineApp({
  id: 'jamf-pro',
  name: 'Jamf Pro',
  vendor: 'Jamf',
  product: 'Jamf Pro',
  version: '1.0.0',
  description: 'Apple device lookup, remote erase and lock through the Jamf Pro API.',
  implements: ['mdm'],
  config: jamfConfig,
  secrets: ['clientSecret'],
  actions: (action) => ({
    findDevice: action({
      description: 'Find a mobile device or Mac by id, name, serial number or user. Mobile devices are searched first; Macs only when no mobile device matches. Of several matches, the most recently seen one.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: capabilities.mdm.findDevice.input,
      output: capabilities.mdm.findDevice.output.extend({
        matchCount: z.number().int().nonnegative(),
        deviceType: DeviceType.optional(),
        managementId: z.string().optional(),
      }),
      async handler(input, ctx) {
        const c: Criteria = {};
        if (present(input.deviceName)) c.deviceName = input.deviceName;
        if (present(input.serialNumber)) c.serialNumber = input.serialNumber;
        if (present(input.userPrincipalName)) c.userPrincipalName = input.userPrincipalName;
        let found: JamfDevice[];
        if (present(input.deviceId)) {
          found = (await devicesById(ctx.config, input.deviceId, ctx.signal)).filter((d) => matches(d, c));
        } else if (Object.keys(c).length > 0) {
          found = await searchMobile(ctx.config, c, ctx.signal);
          if (found.length === 0) found = await searchComputers(ctx.config, c, ctx.signal);
        } else {
          throw new TerminalError('findDevice needs deviceId, deviceName, serialNumber or userPrincipalName');
        }
        if (found.length === 0) return { found: false, matchCount: 0 };
        let best = found.reduce((a, b) => (syncedAt(b) > syncedAt(a) ? b : a));
        if (found.length > 1) ctx.log('several devices matched; returning the most recently seen', { matchCount: found.length, deviceId: best.record.id });
        // The mobile listing has no email: read the detail record of the one returned.
        if (best.kind === 'mobile' && best.email === '') best = (await getMobile(ctx.config, best.jamfId, ctx.signal)) ?? best;
        const out = { found: true, device: best.record, deviceType: best.kind, matchCount: found.length };
        return best.managementId === '' ? out : { ...out, managementId: best.managementId };
      },
    }),

    getDevice: action({
      description: 'Get a device (mobile:<id>, computer:<id> or a Jamf id) with its MDM commands, newest first.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({ deviceId: z.string().min(1) }),
      output: z.object({ device: DeviceRecord, deviceType: DeviceType, managementId: z.string(), commands: z.array(MdmCommand) }),
      async handler(input, ctx) {
        const d = await resolveDevice(ctx.config, input.deviceId, ctx.signal);
        const commands = await listCommands(ctx.config, d.managementId, ctx.signal);
        return { device: d.record, deviceType: d.kind, managementId: d.managementId, commands };
      },
    }),

    wipeDevice: action({
      description: 'Erase a device (MDM EraseDevice). Jamf queues the command; the device applies it at its next check-in. Macs without a T2/Apple silicon chip need the 6-digit Find My pin.',
      kind: 'contain',
      readOnly: false,
      // A second ERASE_DEVICE is a second command: never re-send blindly (see reconcile).
      idempotent: false,
      input: capabilities.mdm.wipeDevice.input.extend({ pin: pin.optional() }),
      output: CommandOutput,
      async handler(input, ctx) {
        // Looking the device up sends nothing: whatever fails there, the erase was not applied.
        const d = await resolveDevice(ctx.config, input.deviceId, ctx.signal).catch((err: unknown) => { throw notApplied(err); });
        const commandData: Record<string, unknown> = { commandType: 'ERASE_DEVICE' };
        if (input.pin !== undefined) commandData.pin = input.pin;
        const commandId = await sendCommand(ctx.config, d, commandData, ctx.signal);
        ctx.log('erase command queued', { deviceId: d.record.id, commandId });
        return commandId === undefined ? { accepted: true, state: 'pending' } : { accepted: true, commandId, state: 'pending' };
      },
      /**
       * Applied when Jamf lists an ERASE_DEVICE for the device sent at or after the engine's intent
       * (minus clock skew). One someone else sent in that window also counts: the device is being
       * erased either way.
       */
      async reconcile(input, ctx) {
        try {
          const found = await devicesById(ctx.config, input.deviceId, ctx.signal);
          if (found.length !== 1 || found[0]!.managementId === '') {
            return { applied: 'unknown', reason: `${input.deviceId} does not name exactly one managed device (${found.length} found)` };
          }
          const since = new Date(ctx.intentAt.getTime() - CLOCK_SKEW_MS);
          const [latest] = await listCommands(ctx.config, found[0]!.managementId, ctx.signal, 'ERASE_DEVICE', since);
          if (latest === undefined) return { applied: false };
          return { applied: true, output: { accepted: true, commandId: latest.uuid, state: latest.commandState.toLowerCase() } };
        } catch (err) {
          return { applied: 'unknown', reason: err instanceof Error ? err.message : String(err) };
        }
      },
    }),

    lockDevice: action({
      description: 'Lock a device (MDM DeviceLock), optionally showing a message and phone number; Macs take a 6-digit unlock pin.',
      kind: 'contain',
      readOnly: false,
      // Locking a locked device changes nothing, so a duplicate command is harmless.
      idempotent: true,
      input: z.object({
        deviceId: z.string().min(1),
        message: z.string().max(500).optional(),
        phoneNumber: z.string().max(50).optional(),
        pin: pin.optional(),
      }),
      output: CommandOutput,
      async handler(input, ctx) {
        const d = await resolveDevice(ctx.config, input.deviceId, ctx.signal).catch((err: unknown) => { throw notApplied(err); });
        const commandData: Record<string, unknown> = { commandType: 'DEVICE_LOCK' };
        for (const k of ['message', 'phoneNumber', 'pin'] as const) if (input[k] !== undefined) commandData[k] = input[k];
        const commandId = await sendCommand(ctx.config, d, commandData, ctx.signal);
        ctx.log('lock command queued', { deviceId: d.record.id, commandId });
        return commandId === undefined ? { accepted: true, state: 'pending' } : { accepted: true, commandId, state: 'pending' };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const page = await jamfJson<{ totalCount?: number }>(ctx.config, '/api/v2/mobile-devices?page=0&page-size=1', { signal: ctx.signal });
    return { ok: true, detail: `token obtained; ${page?.totalCount ?? 0} mobile devices readable` };
  },
});
