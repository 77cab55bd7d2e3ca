/**
 * Per-source mapping from a flat alert row (e.g. the first result row of a Splunk search) to an
 * incident's label, severity, name and CEF artifact fields. Stored as JSON in
 * `SourceRecord.mapping`; validated with `sourceMappingSchema` when a source is configured and
 * again when it is used.
 */
import { z } from 'zod';
import type { Severity } from '../sdk/playbook.js';

export const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);

/** CEF keys are case-sensitive identifiers without spaces; custom keys may use `_`, `.`, `-`. */
export const CEF_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const cefKeySchema = z.string().regex(CEF_KEY_RE, 'must be a CEF key (letters, digits, _ . -; no spaces)');

/** Contains types of one CEF key: 1–20 names of 1–64 characters. */
export const CONTAINS_TYPES = { min: 1, max: 20, nameMax: 64 } as const;
export const containsTypesSchema = z.array(z.string().min(1).max(CONTAINS_TYPES.nameMax)).min(CONTAINS_TYPES.min).max(CONTAINS_TYPES.max);

export const sourceMappingSchema = z.strictObject({
  label: z.union([
    z.string().min(1).max(128),
    z.strictObject({
      fromSearchName: z.record(z.string(), z.string().min(1).max(128)),
      default: z.string().min(1).max(128).optional(),
    }),
  ]),
  severity: z.union([
    severitySchema,
    z.strictObject({ field: z.string().min(1), map: z.record(z.string(), severitySchema), default: severitySchema }),
  ]),
  /** Template: `{search_name}` and `{<result field>}` placeholders. */
  name: z.string().min(1).max(500).optional(),
  /** CEF key → name of the alert field that supplies it. */
  cef: z.record(cefKeySchema, z.string().min(1).max(256)).refine((r) => Object.keys(r).length > 0, 'must map at least one CEF key'),
  /** CEF key → contains types, overriding the defaults. */
  contains: z.record(cefKeySchema, containsTypesSchema).optional(),
});

export type SourceMapping = z.infer<typeof sourceMappingSchema>;

// Contains types of well-known CEF keys (VENDOR-APIS.md §9, SOAR's DEFAULT_CEF_METADATA).
const DEFAULT_CONTAINS: Readonly<Record<string, readonly string[]>> = {
  sourceAddress: ['ip'], destinationAddress: ['ip'], deviceAddress: ['ip'], src: ['ip'], dst: ['ip'], dvc: ['ip'],
  sourceUserName: ['user name'], destinationUserName: ['user name'], suser: ['user name'], duser: ['user name'],
  sourceMacAddress: ['mac address'], destinationMacAddress: ['mac address'], smac: ['mac address'], dmac: ['mac address'],
  sourceHostName: ['host name'], destinationHostName: ['host name'], deviceHostname: ['host name'],
  shost: ['host name'], dhost: ['host name'], dvchost: ['host name'],
  deviceExternalId: ['device id'],
  requestURL: ['url'],
  fileHash: ['hash'],
  sourcePort: ['port'], destinationPort: ['port'], spt: ['port'], dpt: ['port'],
  sourceDnsDomain: ['domain'], destinationDnsDomain: ['domain'], sntdom: ['domain'], dntdom: ['domain'],
  fileName: ['file name'], fname: ['file name'], filePath: ['file path'],
};

/** Default contains types of a CEF key, or undefined for keys without one. */
export function defaultContains(cefKey: string): string[] | undefined {
  const t = DEFAULT_CONTAINS[cefKey];
  return t === undefined ? undefined : [...t];
}

/** Contains types for every key of `cef`: explicit ones first, then the defaults. */
export function containsFor(cef: Record<string, string>, explicit: Record<string, string[]> = {}): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(cef)) {
    const t = explicit[key] ?? defaultContains(key);
    if (t !== undefined) out[key] = [...t];
  }
  return out;
}

export const FOUNDING_LABEL = 'mobile-unauthorized-ip';

/** Mapping of the founding scenario: "a mobile device reached an unauthorized IP" from Splunk. */
export const DEFAULT_SPLUNK_MAPPING: SourceMapping = {
  label: {
    fromSearchName: {
      'Mobile device reached unauthorized IP': FOUNDING_LABEL,
      // The rsyslog → webhook shim of the lab uses this wording.
      'Mobile device to unauthorized IP': FOUNDING_LABEL,
    },
    default: FOUNDING_LABEL,
  },
  severity: {
    field: 'severity',
    // Words, and CEF's 0–10 scale (0–3 low, 4–6 medium, 7–8 high, 9–10 very high).
    map: {
      low: 'low', medium: 'medium', high: 'high', critical: 'critical', 'very-high': 'critical', informational: 'low', info: 'low',
      '0': 'low', '1': 'low', '2': 'low', '3': 'low', '4': 'medium', '5': 'medium', '6': 'medium',
      '7': 'high', '8': 'high', '9': 'critical', '10': 'critical',
    },
    default: 'high',
  },
  name: '{search_name}: {user} on {device_name} → {dest_ip}',
  cef: {
    destinationAddress: 'dest_ip',
    sourceAddress: 'src_ip',
    sourceUserName: 'user',
    deviceExternalId: 'device_id',
    deviceHostname: 'device_name',
    sourceMacAddress: 'src_mac',
    destinationPort: 'dest_port',
  },
};

/** An alert row as the mapping sees it. */
export interface AlertRow {
  /** Name of the search or rule that fired (Splunk `search_name`; may be null). */
  searchName: string | null;
  fields: Readonly<Record<string, string>>;
}

export interface MappedAlert {
  label: string;
  severity: Severity;
  /** Undefined when the mapping has no name template or it rendered empty. */
  name: string | undefined;
  cef: Record<string, string>;
  contains: Record<string, string[]>;
}

export type MappingOutcome =
  | { ok: true; value: MappedAlert }
  | { ok: false; reason: string; missingFields: string[] };

function fieldValue(fields: Readonly<Record<string, string>>, name: string): string | undefined {
  if (!Object.hasOwn(fields, name)) return undefined;
  const v = fields[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

function mapSeverity(m: SourceMapping['severity'], fields: Readonly<Record<string, string>>): Severity {
  if (typeof m === 'string') return m;
  const raw = fieldValue(fields, m.field);
  if (raw === undefined) return m.default;
  if (Object.hasOwn(m.map, raw)) return m.map[raw] ?? m.default;
  const lower = raw.trim().toLowerCase();
  for (const [k, v] of Object.entries(m.map)) if (k.toLowerCase() === lower) return v;
  return m.default;
}

function renderName(template: string, row: AlertRow): string {
  // Missing fields render empty; whitespace left behind is collapsed.
  const s = template.replace(/\{([^{}]+)\}/g, (_m, key: string) =>
    key === 'search_name' ? (row.searchName ?? '') : (fieldValue(row.fields, key) ?? ''));
  return s.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/**
 * Applies a mapping. Mapped fields absent from the row are simply left out; a row that yields no
 * CEF field at all, or no label, cannot become a useful incident and is refused.
 */
export function applyMapping(mapping: SourceMapping, row: AlertRow): MappingOutcome {
  let label: string | undefined;
  if (typeof mapping.label === 'string') label = mapping.label;
  else {
    const byName = row.searchName !== null && Object.hasOwn(mapping.label.fromSearchName, row.searchName)
      ? mapping.label.fromSearchName[row.searchName] : undefined;
    label = byName ?? mapping.label.default;
  }
  if (label === undefined) {
    return { ok: false, reason: `no label is mapped for search_name ${JSON.stringify(row.searchName)} and the mapping has no default label`, missingFields: [] };
  }

  const cef: Record<string, string> = {};
  const missing: string[] = [];
  for (const [cefKey, field] of Object.entries(mapping.cef)) {
    const v = fieldValue(row.fields, field);
    if (v === undefined) missing.push(field);
    else cef[cefKey] = v;
  }
  if (Object.keys(cef).length === 0) {
    return { ok: false, reason: `the alert has none of the mapped fields: ${missing.join(', ')}`, missingFields: missing };
  }

  const name = mapping.name === undefined ? undefined : renderName(mapping.name, row) || undefined;
  return {
    ok: true,
    value: { label, severity: mapSeverity(mapping.severity, row.fields), name, cef, contains: containsFor(cef, mapping.contains) },
  };
}
