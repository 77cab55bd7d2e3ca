/**
 * Body of the generic ingest route (`POST /api/v1/incidents`): an already-normalized incident.
 * Objects are strict so a misspelt optional field is reported instead of silently dropped.
 */
import { z } from 'zod';
import type { NewIncident } from '../store/records.js';
import { cefKeySchema, containsFor, containsTypesSchema, severitySchema } from './mapping.js';

export const MAX_ARTIFACTS = 500;
export const MAX_CEF_FIELDS = 200;

const artifactSchema = z.strictObject({
  name: z.string().min(1).max(500),
  label: z.string().min(1).max(128).optional(),
  cef: z.record(cefKeySchema, z.string().max(8192))
    .refine((r) => Object.keys(r).length <= MAX_CEF_FIELDS, `at most ${MAX_CEF_FIELDS} CEF fields per artifact`),
  contains: z.record(cefKeySchema, containsTypesSchema).optional(),
});

export const genericIncidentSchema = z.strictObject({
  name: z.string().min(1).max(500),
  label: z.string().min(1).max(128),
  severity: severitySchema,
  description: z.string().max(20_000).optional(),
  /** The sender's id of the alert; a second delivery with the same id is a duplicate. */
  sourceId: z.string().min(1).max(512).optional(),
  tags: z.array(z.string().min(1).max(64)).max(50).optional(),
  artifacts: z.array(artifactSchema).min(1).max(MAX_ARTIFACTS),
});

export type GenericIncidentBody = z.infer<typeof genericIncidentSchema>;

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
