/**
 * Capabilities are vendor-neutral action contracts. An app that `implements: ['mdm']` provides
 * the actions below with inputs and outputs compatible with these schemas, so a playbook written
 * against the capability runs on Intune, Jamf or Workspace ONE by configuration alone
 * (the playbook's role binding names the asset).
 */
import { z } from 'zod';

export const DeviceRecord = z.object({
  id: z.string(),
  name: z.string(),
  serialNumber: z.string().optional(),
  os: z.string().optional(),
  model: z.string().optional(),
  userPrincipalName: z.string().optional(),
  complianceState: z.string().optional(),
  lastSyncAt: z.string().optional(),
});
export type DeviceRecord = z.infer<typeof DeviceRecord>;

export const UserRecord = z.object({
  id: z.string(),
  userName: z.string(),
  displayName: z.string().optional(),
  email: z.string().optional(),
  department: z.string().optional(),
  jobTitle: z.string().optional(),
  manager: z.string().optional(),
  enabled: z.boolean().optional(),
});
export type UserRecord = z.infer<typeof UserRecord>;

export const capabilities = {
  mdm: {
    findDevice: {
      input: z.object({
        deviceId: z.string().optional(),
        deviceName: z.string().optional(),
        serialNumber: z.string().optional(),
        userPrincipalName: z.string().optional(),
      }),
      output: z.object({ found: z.boolean(), device: DeviceRecord.optional() }),
    },
    wipeDevice: {
      input: z.object({ deviceId: z.string() }),
      output: z.object({ accepted: z.boolean(), commandId: z.string().optional(), state: z.string().optional() }),
    },
  },
  directory: {
    getUser: {
      input: z.object({ user: z.string() }),
      output: z.object({ found: z.boolean(), user: UserRecord.optional() }),
    },
  },
  firewall: {
    blockIp: {
      input: z.object({ ip: z.string(), comment: z.string().optional(), ttlSeconds: z.number().int().positive().optional() }),
      output: z.object({ blocked: z.boolean(), ip: z.string(), detail: z.string().optional() }),
    },
    unblockIp: {
      input: z.object({ ip: z.string() }),
      output: z.object({ unblocked: z.boolean(), ip: z.string(), detail: z.string().optional() }),
    },
  },
  ticketing: {
    createTicket: {
      input: z.object({
        summary: z.string().min(1),
        description: z.string(),
        priority: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
        labels: z.array(z.string()).default([]),
        /** Stable key: a replay with the same key finds the ticket instead of opening another. */
        dedupeKey: z.string().min(1),
      }),
      output: z.object({ id: z.string(), key: z.string(), url: z.string().optional(), created: z.boolean() }),
    },
  },
} as const;

export type CapabilityName = keyof typeof capabilities;
type Caps = typeof capabilities;

/** The typed client a playbook gets for a capability role. */
export type CapabilityClient<N extends CapabilityName> = {
  [K in keyof Caps[N]]: Caps[N][K] extends { input: infer I extends z.ZodType; output: infer O extends z.ZodType }
    ? (input: z.input<I>) => Promise<z.output<O>>
    : never;
};
