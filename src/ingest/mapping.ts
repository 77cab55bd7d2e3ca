/**
 * Per-source mapping from a flat alert row (e.g. the first result row of a Splunk search) to an
 * incident's label, severity, name and CEF artifact fields. Stored as JSON in
 * `SourceRecord.mapping`; validated with `sourceMappingSchema` when a source is configured and
 * again when it is used.
 */
import type { Severity } from '../sdk/playbook.js';

export {
  CEF_KEY_RE, CONTAINS_TYPES, cefKeySchema, containsTypesSchema, severitySchema, sourceMappingSchema,
  type SourceMapping,
} from '../store/source-mapping.js';
import type { SourceMapping } from '../store/source-mapping.js';

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

/**
 * The label of an alert whose search the mapping does not name (and that has no default): no
 * shipped playbook triggers on it, so unknown input never reaches a destructive playbook by
 * default. The alert is still recorded, not refused: Splunk never retries a refused delivery.
 */
export const UNMAPPED_LABEL = 'splunk-unmapped';
/** Tag of such an incident, so a queue filter finds the searches that still need a mapping. */
export const UNMAPPED_TAG = 'unmapped-search';

/**
 * The product's mapping of a Splunk source (the `splunk` source created on first start): the
 * usual result fields to CEF, severity from `severity`, and no label by search name — every search
 * lands as `splunk-unmapped` until an operator maps it. The demo's founding mapping is lab/'s.
 */
export const DEFAULT_SPLUNK_MAPPING: SourceMapping = {
  label: { fromSearchName: {} },
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
  /** True when the search has no label in the mapping: `label` is then UNMAPPED_LABEL. */
  unmapped: boolean;
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
 * Applies a mapping. A search without a label gets UNMAPPED_LABEL. Mapped fields absent from the
 * row are left out; a row that yields no CEF field at all cannot become a useful incident and is
 * refused.
 */
export function applyMapping(mapping: SourceMapping, row: AlertRow): MappingOutcome {
  let label: string | undefined;
  if (typeof mapping.label === 'string') label = mapping.label;
  else {
    const byName = row.searchName !== null && Object.hasOwn(mapping.label.fromSearchName, row.searchName)
      ? mapping.label.fromSearchName[row.searchName] : undefined;
    label = byName ?? mapping.label.default;
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
    value: {
      label: label ?? UNMAPPED_LABEL, unmapped: label === undefined,
      severity: mapSeverity(mapping.severity, row.fields), name, cef, contains: containsFor(cef, mapping.contains),
    },
  };
}
