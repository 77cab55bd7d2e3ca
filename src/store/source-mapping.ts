/**
 * The shape of a source's mapping (label, severity, name template, CEF fields), as the store keeps
 * it in `SourceRecord.mapping` and validates it on `setSourceMapping`. Applying a mapping to an
 * alert is ingest's business (src/ingest/mapping.ts); the schema lives here so the store need not
 * import a layer above it.
 */
import { z } from 'zod';

export const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);

/** CEF keys are case-sensitive identifiers without spaces; custom keys may use `_`, `.`, `-`. */
export const CEF_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const cefKeySchema = z.string().regex(CEF_KEY_RE, 'must be a CEF key (letters, digits, _ . -; no spaces)');

/** Contains types of one CEF key: 1–20 names of 1–64 characters. */
export const CONTAINS_TYPES = { min: 1, max: 20, nameMax: 64 } as const;
export const containsTypesSchema = z.array(z.string().min(1).max(CONTAINS_TYPES.nameMax))
  .min(CONTAINS_TYPES.min).max(CONTAINS_TYPES.max);

export const sourceMappingSchema = z.strictObject({
  /**
   * A fixed label, or labels by search name. A search `fromSearchName` does not name gets `default`
   * or, without one, the neutral `splunk-unmapped` (src/ingest/mapping.ts).
   */
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
  cef: z.record(cefKeySchema, z.string().min(1).max(256))
    .refine((r) => Object.keys(r).length > 0, 'must map at least one CEF key'),
  /** CEF key → contains types, overriding the defaults. */
  contains: z.record(cefKeySchema, containsTypesSchema).optional(),
  /**
   * An alert whose typed CEF value is invalid (`src_ip=not-an-ip`): `refuse` it (422, nothing
   * stored; Splunk will not resend it) or store it with the value as `untrusted` text (default).
   */
  invalidValues: z.enum(['refuse', 'untrusted']).optional(),
});

export type SourceMapping = z.infer<typeof sourceMappingSchema>;
