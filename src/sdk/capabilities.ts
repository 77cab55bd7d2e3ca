/**
 * Capabilities are vendor-neutral action contracts. An app that `implements: ['mdm']` provides
 * the actions below with inputs and outputs compatible with these schemas, so a playbook written
 * against the capability runs on Intune, Jamf or Workspace ONE by configuration alone
 * (the playbook's role binding names the asset). `defineApp` checks the compatibility when the
 * app is defined (see `capabilityProblems`).
 */
import { z } from 'zod';
import { SEVERITIES } from '../common/domain.js';
import { httpCapability } from './http-capability.js';

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
  /** Send a message to people: a chat channel (Slack, Teams) or the mailboxes an e-mail asset names. */
  notify: {
    sendMessage: {
      input: z.object({
        /** Plain text: each app escapes what its channel would read as markup or mentions. */
        text: z.string().min(1).max(20_000),
        title: z.string().min(1).max(200).optional(),
        /** An incident's severity, shown with the message. */
        severity: z.enum(SEVERITIES).optional(),
        /** A link shown with the message, e.g. to the incident. */
        link: z.url({ protocol: /^https?$/ }).max(2000).optional(),
      }),
      output: z.object({
        /** The channel accepted the message (a webhook's 2xx, the relay's acceptance). */
        delivered: z.boolean(),
        /** The vendor's id of the message, when it gives one (e-mail: the Message-ID). */
        messageId: z.string().optional(),
      }),
    },
  },
  /** Work an alert in the SIEM that raised it (Splunk ES: a notable event). */
  siem: {
    updateAlert: {
      input: z.object({
        /** The SIEM's id of the alert (Splunk ES: the notable's event_id). */
        alertId: z.string().min(1),
        status: z.enum(['new', 'in_progress', 'pending', 'resolved', 'closed']).optional(),
        severity: z.enum(['informational', ...SEVERITIES]).optional(),
        owner: z.string().min(1).optional(),
        comment: z.string().min(1).max(10_000).optional(),
      }),
      output: z.object({ updated: z.boolean(), alertId: z.string(), detail: z.string().optional() }),
    },
  },
  /** Any REST API (the generic HTTP app): GET, POST, PUT, PATCH, DELETE under the asset's base URL. */
  http: httpCapability,
} as const;

export type CapabilityName = keyof typeof capabilities;
type Caps = typeof capabilities;

/** The typed client a playbook gets for a capability role. */
export type CapabilityClient<N extends CapabilityName> = {
  [K in keyof Caps[N]]: Caps[N][K] extends { input: infer I extends z.ZodType; output: infer O extends z.ZodType }
    ? (input: z.input<I>) => Promise<z.output<O>>
    : never;
};

/**
 * Why an app's actions do not fit a capability it claims, one line each (empty: they fit). Each
 * action of the capability must exist, accept every input field of the capability and require no
 * other, and return every output field of the capability. Schemas that are not plain objects are
 * not compared field by field.
 */
export function capabilityProblems(
  capability: string,
  actions: Readonly<Record<string, { input: z.ZodType; output: z.ZodType }>>,
): string[] {
  if (!Object.hasOwn(capabilities, capability)) {
    return [`unknown capability "${capability}" (known: ${Object.keys(capabilities).join(', ')})`];
  }
  const problems: string[] = [];
  for (const [name, contract] of Object.entries(capabilities[capability as CapabilityName])) {
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    if (!action) {
      problems.push(`implements ${capability} but has no action ${name}`);
      continue;
    }
    const c = contract as { input: z.ZodType; output: z.ZodType };
    const at = `${capability}.${name}`;
    const input = fields(action.input), cIn = fields(c.input), output = fields(action.output), cOut = fields(c.output);
    if (input && cIn) {
      for (const k of Object.keys(cIn)) if (!(k in input)) problems.push(`${at}: input has no field ${k}`);
      for (const [k, f] of Object.entries(input)) {
        if (!(k in cIn) && !f.safeParse(undefined).success) {
          problems.push(`${at}: input requires ${k}, which the capability does not pass`);
        }
      }
    }
    if (output && cOut) {
      for (const k of Object.keys(cOut)) if (!(k in output)) problems.push(`${at}: output has no field ${k}`);
    }
  }
  return problems;
}

function fields(schema: z.ZodType): Record<string, z.ZodType> | null {
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : null;
}
