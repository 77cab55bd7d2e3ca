/**
 * Microsoft Intune (through Microsoft Graph v1.0): look up managed devices and wipe them.
 * Implements the `mdm` capability. Needs the application permissions
 * DeviceManagementManagedDevices.Read.All and, for wipe, …PrivilegedOperations.All.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities, DeviceRecord } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { graphConfig, graphFetch, graphJson, graphList, isNotFound, odataString, type GraphConfig } from '../graph/graph-client.js';

const DEVICES = '/v1.0/deviceManagement/managedDevices';

/** How far the vendor's clock may lag ours when matching a wipe to the engine's intent. */
const CLOCK_SKEW_MS = 5_000;

/** Graph's deviceActionResult (sub-types add fields, which are kept). */
const DeviceActionResult = z.looseObject({
  actionName: z.string(),
  actionState: z.string(),
  startDateTime: z.string().optional(),
  lastUpdatedDateTime: z.string().optional(),
});
type DeviceActionResult = z.infer<typeof DeviceActionResult>;

/** The part of Graph's managedDevice this app reads. Graph sends null or '' for unknown values. */
interface ManagedDevice {
  id: string;
  deviceName?: string | null;
  serialNumber?: string | null;
  operatingSystem?: string | null;
  osVersion?: string | null;
  model?: string | null;
  userPrincipalName?: string | null;
  complianceState?: string | null;
  lastSyncDateTime?: string | null;
  deviceActionResults?: unknown[] | null;
}

type Criterion = 'deviceName' | 'serialNumber' | 'userPrincipalName';

function devicePath(id: string): string {
  return `${DEVICES}/${encodeURIComponent(id)}`;
}

function present(v: string | null | undefined): v is string {
  return typeof v === 'string' && v !== '';
}

function toDeviceRecord(d: ManagedDevice): DeviceRecord {
  const rec: DeviceRecord = { id: d.id, name: d.deviceName ?? '' };
  if (present(d.serialNumber)) rec.serialNumber = d.serialNumber;
  if (present(d.operatingSystem)) rec.os = present(d.osVersion) ? `${d.operatingSystem} ${d.osVersion}` : d.operatingSystem;
  if (present(d.model)) rec.model = d.model;
  if (present(d.userPrincipalName)) rec.userPrincipalName = d.userPrincipalName;
  if (present(d.complianceState)) rec.complianceState = d.complianceState;
  if (present(d.lastSyncDateTime)) rec.lastSyncAt = d.lastSyncDateTime;
  return rec;
}

/** Well-formed action results only (entries without a name or state are skipped). */
function actionResults(d: ManagedDevice): DeviceActionResult[] {
  return (d.deviceActionResults ?? []).flatMap((r) => {
    const p = DeviceActionResult.safeParse(r);
    return p.success ? [p.data] : [];
  });
}

function syncedAt(d: ManagedDevice): number {
  const t = Date.parse(d.lastSyncDateTime ?? '');
  return Number.isNaN(t) ? -Infinity : t;
}

/** The device, or undefined when Graph answers 404. */
async function fetchDevice(cfg: GraphConfig, id: string, signal: AbortSignal): Promise<ManagedDevice | undefined> {
  try {
    return await graphJson<ManagedDevice>(cfg, devicePath(id), { signal });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export const intuneApp = defineApp({
  id: 'microsoft-intune',
  name: 'Microsoft Intune',
  vendor: 'Microsoft',
  product: 'Intune',
  version: '1.0.0',
  description: 'Managed device lookup and remote wipe through Microsoft Graph.',
  implements: ['mdm'],
  config: graphConfig,
  secrets: ['clientSecret'],
  actions: (action) => ({
    findDevice: action({
      description: 'Find a managed device by id, name, serial number or user; when several match, the most recently synced one.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: capabilities.mdm.findDevice.input,
      output: capabilities.mdm.findDevice.output.extend({ matchCount: z.number().int().nonnegative() }),
      async handler(input, ctx) {
        const criteria = (['deviceName', 'serialNumber', 'userPrincipalName'] as const)
          .flatMap((k): Array<[Criterion, string]> => (present(input[k]) ? [[k, input[k]]] : []));
        let candidates: ManagedDevice[];
        if (present(input.deviceId)) {
          const d = await fetchDevice(ctx.config, input.deviceId, ctx.signal);
          candidates = d === undefined ? [] : [d];
        } else if (criteria.length > 0) {
          const filter = criteria.map(([k, v]) => `${k} eq ${odataString(v)}`).join(' and ');
          candidates = await graphList<ManagedDevice>(ctx.config, `${DEVICES}?$filter=${encodeURIComponent(filter)}`, ctx.signal);
        } else {
          throw new TerminalError('findDevice needs deviceId, deviceName, serialNumber or userPrincipalName');
        }
        // Re-check every criterion here: a deviceId lookup must honour the others too.
        const matches = candidates.filter((d) => criteria.every(([k, v]) => (d[k] ?? '').toLowerCase() === v.toLowerCase()));
        if (matches.length === 0) return { found: false, matchCount: 0 };
        const newest = matches.reduce((a, b) => (syncedAt(b) > syncedAt(a) ? b : a));
        if (matches.length > 1) ctx.log('several devices matched; returning the most recently synced', { matchCount: matches.length, deviceId: newest.id });
        return { found: true, device: toDeviceRecord(newest), matchCount: matches.length };
      },
    }),

    getDevice: action({
      description: 'Get a managed device by Intune id, with the state of its remote actions (wipe, retire, lock…).',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({ deviceId: z.string().min(1) }),
      output: z.object({ device: DeviceRecord, deviceActionResults: z.array(DeviceActionResult) }),
      async handler(input, ctx) {
        const d = await graphJson<ManagedDevice>(ctx.config, devicePath(input.deviceId), { signal: ctx.signal });
        return { device: toDeviceRecord(d), deviceActionResults: actionResults(d) };
      },
    }),

    wipeDevice: action({
      description: 'Factory-reset a managed device. Intune queues the command; the device applies it at its next check-in.',
      kind: 'contain',
      readOnly: false,
      // A second wipe command is a second command: never re-send blindly (see reconcile).
      idempotent: false,
      input: capabilities.mdm.wipeDevice.input.extend({
        keepEnrollmentData: z.boolean().default(false),
        keepUserData: z.boolean().default(false),
      }),
      output: capabilities.mdm.wipeDevice.output,
      async handler(input, ctx) {
        const res = await graphFetch(ctx.config, `${devicePath(input.deviceId)}/wipe`, {
          method: 'POST',
          body: { keepEnrollmentData: input.keepEnrollmentData, keepUserData: input.keepUserData },
          signal: ctx.signal,
        });
        await res.arrayBuffer(); // 204: nothing to read, but release the connection
        ctx.log('wipe command accepted', { deviceId: input.deviceId, status: res.status });
        return { accepted: true, state: 'pending' };
      },
      /**
       * Applied when the device shows a wipe started at or after the engine's intent (minus clock
       * skew). A wipe someone else sent in that window would also count: acceptable, the device is
       * being wiped either way.
       */
      async reconcile(input, ctx) {
        try {
          const d = await fetchDevice(ctx.config, input.deviceId, ctx.signal);
          if (d === undefined) return { applied: 'unknown', reason: `device ${input.deviceId} not found (a completed wipe may have removed it)` };
          const since = ctx.intentAt.getTime() - CLOCK_SKEW_MS;
          const wipe = actionResults(d).find((r) => r.actionName.toLowerCase() === 'wipe' && Date.parse(r.startDateTime ?? '') >= since);
          if (wipe === undefined) return { applied: false };
          return { applied: true, output: { accepted: true, state: wipe.actionState } };
        } catch (err) {
          return { applied: 'unknown', reason: err instanceof Error ? err.message : String(err) };
        }
      },
    }),
  }),

  async testConnectivity(ctx) {
    await graphJson<unknown>(ctx.config, `${DEVICES}?$top=1`, { signal: ctx.signal });
    return { ok: true, detail: 'token obtained; managedDevices readable' };
  },
});
