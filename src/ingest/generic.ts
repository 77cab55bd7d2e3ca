/**
 * Body of the generic ingest route (`POST /api/v1/incidents`): an already-normalized incident.
 * Objects are strict so a misspelt optional field is reported instead of silently dropped.
 */
import { z } from 'zod';
import type { NewIncident } from '../store/records.js';
import { CEF_KEY_RE, CONTAINS_TYPES, cefKeySchema, containsFor, containsTypesSchema, severitySchema } from './mapping.js';

export const MAX_ARTIFACTS = 500;
export const MAX_CEF_FIELDS = 200;

// Limits shared by the schema and the fast check below.
const L = {
  name: 500, label: 128, description: 20_000, sourceId: 512, tags: 50, tag: 64, cefValue: 8192,
} as const;

const artifactSchema = z.strictObject({
  name: z.string().min(1).max(L.name),
  label: z.string().min(1).max(L.label).optional(),
  cef: z.record(cefKeySchema, z.string().max(L.cefValue))
    .refine((r) => Object.keys(r).length <= MAX_CEF_FIELDS, `at most ${MAX_CEF_FIELDS} CEF fields per artifact`),
  contains: z.record(cefKeySchema, containsTypesSchema).optional(),
});

export const genericIncidentSchema = z.strictObject({
  name: z.string().min(1).max(L.name),
  label: z.string().min(1).max(L.label),
  severity: severitySchema,
  description: z.string().max(L.description).optional(),
  /** The sender's id of the alert; a second delivery with the same id is a duplicate. */
  sourceId: z.string().min(1).max(L.sourceId).optional(),
  tags: z.array(z.string().min(1).max(L.tag)).max(L.tags).optional(),
  artifacts: z.array(artifactSchema).min(1).max(MAX_ARTIFACTS),
});

export type GenericIncidentBody = z.infer<typeof genericIncidentSchema>;

const SEVERITIES: ReadonlySet<unknown> = new Set(severitySchema.options);
const INCIDENT_KEYS: ReadonlySet<string> = new Set(Object.keys(genericIncidentSchema.shape));
const ARTIFACT_KEYS: ReadonlySet<string> = new Set(Object.keys(artifactSchema.shape));

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const str = (v: unknown, min: number, max: number): boolean => typeof v === 'string' && v.length >= min && v.length <= max;
const optStr = (v: unknown, min: number, max: number): boolean => v === undefined || str(v, min, max);
const onlyKeys = (o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean => {
  for (const k of Object.keys(o)) if (!allowed.has(k)) return false;
  return true;
};
// "__proto__" passes the CEF key pattern but zod's record would not copy it as a key: left to zod.
const cefKey = (k: string): boolean => k !== '__proto__' && CEF_KEY_RE.test(k);

/**
 * The body as genericIncidentSchema would return it, when it is plainly valid; null otherwise
 * (then the schema parses it and names every problem). The schema spends most of its time in
 * generic code shared by every schema of the process; this check is the same rules written out
 * for the shape of almost every alert (a test holds it to the schema on thousands of bodies).
 * A valid body parsed from JSON is returned as is: the schema would return an equal copy.
 */
export function plainlyValidGenericIncident(body: unknown): GenericIncidentBody | null {
  if (!isPlainObject(body) || !onlyKeys(body, INCIDENT_KEYS)) return null;
  if (!str(body['name'], 1, L.name) || !str(body['label'], 1, L.label) || !SEVERITIES.has(body['severity'])) return null;
  if (!optStr(body['description'], 0, L.description) || !optStr(body['sourceId'], 1, L.sourceId)) return null;
  const tags = body['tags'];
  if (tags !== undefined) {
    if (!Array.isArray(tags) || tags.length > L.tags) return null;
    for (const t of tags as unknown[]) if (!str(t, 1, L.tag)) return null;
  }
  const artifacts = body['artifacts'];
  if (!Array.isArray(artifacts) || artifacts.length < 1 || artifacts.length > MAX_ARTIFACTS) return null;
  for (const a of artifacts as unknown[]) {
    if (!isPlainObject(a) || !onlyKeys(a, ARTIFACT_KEYS)) return null;
    if (!str(a['name'], 1, L.name) || !optStr(a['label'], 1, L.label)) return null;
    const cef = a['cef'];
    if (!isPlainObject(cef)) return null;
    const keys = Object.keys(cef);
    if (keys.length > MAX_CEF_FIELDS) return null;
    for (const k of keys) if (!cefKey(k) || !str(cef[k], 0, L.cefValue)) return null;
    const contains = a['contains'];
    if (contains !== undefined) {
      if (!isPlainObject(contains)) return null;
      for (const k of Object.keys(contains)) {
        const types = contains[k];
        if (!cefKey(k) || !Array.isArray(types) || types.length < CONTAINS_TYPES.min || types.length > CONTAINS_TYPES.max) return null;
        for (const t of types as unknown[]) if (!str(t, 1, CONTAINS_TYPES.nameMax)) return null;
      }
    }
  }
  return body as GenericIncidentBody;
}

/** `source` is the dedupe namespace of `sourceId`: one per sending credential. */
export function genericToIncident(body: GenericIncidentBody, source: string): NewIncident {
  const incident: NewIncident = {
    name: body.name,
    label: body.label,
    severity: body.severity,
    source,
    artifacts: body.artifacts.map((a) => {
      // Contains types only for keys present in cef; explicit ones override the defaults.
      const art: NewIncident['artifacts'][number] = { name: a.name, cef: a.cef, contains: containsFor(a.cef, a.contains) };
      if (a.label !== undefined) art.label = a.label;
      return art;
    }),
  };
  if (body.description !== undefined) incident.description = body.description;
  if (body.sourceId !== undefined) incident.sourceId = body.sourceId;
  if (body.tags !== undefined) incident.tags = body.tags;
  return incident;
}
