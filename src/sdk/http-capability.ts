/**
 * The `http` capability: any REST API through an asset of an app that implements it (the generic
 * HTTP app, src/apps/http-request/). A playbook says what to send; the asset holds the base URL,
 * credentials, TLS material and the hosts it may reach. GET is read-only; the other methods change
 * something (policy-gated) unless the asset says otherwise (docs/http-app.md).
 */
import { z } from 'zod';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const headerName = z.string().min(1)
  .refine((n) => n.toLowerCase() !== 'set-cookie', 'set-cookie is never returned (session credentials)');
const clientStatus = z.number().int().min(400).max(499).refine((s) => s !== 429, '429 is always retried, not returned');

const common = {
  url: z.string().min(1).max(8192)
    .describe('path under the base URL (e.g. /users/42), or an absolute http(s) URL on an allowed host'),
  query: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional()
    .describe('query parameters, added to the URL (arrays repeat the key)'),
  headers: z.record(z.string(), z.string()).optional()
    .describe('request headers; not the credential header, not framing headers'),
  responseHeaders: z.array(headerName).max(32).optional()
    .describe('response headers to return besides the defaults (content-type, content-length, location, etag, …)'),
  acceptStatus: z.array(clientStatus).max(50).optional()
    .describe('4xx statuses returned as data instead of failing the step (e.g. [404])'),
};

const withoutBody = z.strictObject(common);
const withBody = z.strictObject({
  ...common,
  json: z.unknown().optional().describe('JSON body (content-type application/json unless headers say otherwise)'),
  form: z.record(z.string(), scalar).optional().describe('form body (application/x-www-form-urlencoded)'),
}).refine((i) => i.json === undefined || i.form === undefined, {
  message: 'give json or form, not both', path: ['form'],
});

const output = z.object({
  status: z.number().int(),
  /** The URL that answered (after redirects). */
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  /** Parsed JSON when the content type says JSON, else the text ('' when empty). */
  body: z.unknown(),
});

export const httpCapability = {
  get: { input: withoutBody, output },
  post: { input: withBody, output },
  put: { input: withBody, output },
  patch: { input: withBody, output },
  delete: { input: withBody, output },
} as const;
