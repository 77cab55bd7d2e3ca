/**
 * The fields of an app's zod object schemas (asset configuration, action inputs) in words, read
 * from zod 4's JSON Schema export rather than zod internals: name, type, required or default,
 * description. Used by `riposte apps show` and to type `--config key=value` in `riposte assets add`.
 */
import { z } from 'zod';

export interface FieldInfo {
  name: string;
  /** Human-readable type: `string`, `integer`, `boolean`, `low|medium`, `string[]`, `string (uri)`, … */
  type: string;
  /** JSON types the field accepts (`string`, `number`, `integer`, `boolean`, `array`, `object`, `null`). */
  jsonTypes: string[];
  required: boolean;
  hasDefault: boolean;
  default?: unknown;
  description?: string;
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  default?: unknown;
};

/** The JSON Schema of what a caller passes (defaults make fields optional); null when zod cannot export it. */
export function inputJsonSchema(schema: z.ZodType): JsonSchema | null {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return null;
  }
}

function jsonTypesOf(s: JsonSchema): string[] {
  if (s.anyOf ?? s.oneOf) return [...new Set((s.anyOf ?? s.oneOf)!.flatMap(jsonTypesOf))];
  if (s.enum !== undefined) return [...new Set(s.enum.map((v) => (v === null ? 'null' : typeof v)))];
  if (s.const !== undefined) return [s.const === null ? 'null' : typeof s.const];
  if (Array.isArray(s.type)) return s.type;
  return s.type !== undefined ? [s.type] : [];
}

export function typeName(s: JsonSchema): string {
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(typeName))].join('|');
  if (s.enum !== undefined) return s.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('|');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const types = Array.isArray(s.type) ? s.type : s.type !== undefined ? [s.type] : [];
  if (types.length === 0) return 'any';
  return types.map((t) => {
    if (t === 'array') return `${s.items ? typeName(s.items) : 'any'}[]`;
    if (t === 'string' && s.format !== undefined) return `string (${s.format})`;
    return t;
  }).join('|');
}

/** Fields of an object schema in declaration order; [] when it is not an object. */
export function objectFields(schema: z.ZodType): FieldInfo[] {
  const js = inputJsonSchema(schema);
  if (!js?.properties) return [];
  const required = new Set(js.required ?? []);
  return Object.entries(js.properties).map(([name, p]) => {
    const f: FieldInfo = { name, type: typeName(p), jsonTypes: jsonTypesOf(p), required: required.has(name), hasDefault: 'default' in p };
    if ('default' in p) f.default = p.default;
    if (typeof p.description === 'string') f.description = p.description;
    return f;
  });
}

/** `required`, `optional` or `default: <value>`. */
export function presence(f: FieldInfo): string {
  if (f.required) return 'required';
  return f.hasDefault ? `default ${JSON.stringify(f.default)}` : 'optional';
}
