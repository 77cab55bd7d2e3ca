/**
 * The one HTTP error type of the API and the handlers that turn every failure into the same JSON
 * shape: `{ "error": { "code", "message", "details"? } }`. Client errors name what is wrong;
 * anything unexpected becomes a generic 500 whose cause is logged server-side only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { SECURITY_HEADERS } from './security-headers.js';

export interface ErrorDetail {
  /** Where the problem is, e.g. `artifacts[0].cef.sourceAddress`; `(root)` for the whole value. */
  path: string;
  code: string;
  message: string;
  /** What the detail is about, for a client to act on (a matching run, a pending approval). */
  subject?: Record<string, unknown>;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[] };
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined && this.details.length > 0) error.details = this.details;
    return { error };
  }
}

export const INTERNAL_ERROR_BODY: ErrorBody = { error: { code: 'internal', message: 'internal error' } };

/** `a.b[0].c`; keys that are not identifiers are quoted so the path stays unambiguous. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

// Shorter, input-free messages than zod's defaults; values are never echoed back.
const errorMap = (iss: { code?: string; input?: unknown; expected?: string }): string | undefined => {
  if (iss.code === 'invalid_type') {
    return iss.input === undefined ? 'required' : `expected ${iss.expected ?? 'another type'}, got ${typeName(iss.input)}`;
  }
  return undefined;
};

export type InputPart = 'body' | 'query' | 'params';

const PART_CODE: Record<InputPart, string> = { body: 'invalid_body', query: 'invalid_query', params: 'invalid_params' };

export function zodDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((i) =>
    // One detail per unknown key, at the key's own path.
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: formatPath([...i.path, k]), code: 'unknown_field', message: 'unknown field' }))
      : [{ path: formatPath(i.path), code: i.code, message: i.message }]);
}

/** Validates one part of a request; a failure is a 400 listing every issue by path. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.output<S> {
  const r = schema.safeParse(value, { error: errorMap });
  if (r.success) return r.data;
  const details = zodDetails(r.error.issues);
  const summary = details.slice(0, 5).map((d) => `${d.path}: ${d.message}`).join('; ');
  const more = details.length > 5 ? `; and ${details.length - 5} more` : '';
  throw new ApiError(400, PART_CODE[part], `invalid request ${part}: ${summary}${more}`, details);
}

/** Fastify's own client errors (body parsing, limits) mapped to our codes. */
function fromFastifyError(err: FastifyError): ApiError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY': // also prototype-poisoning keys (__proto__, constructor.prototype)
      return new ApiError(400, 'invalid_json', 'request body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'request body is empty but content-type is application/json');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'content-type must be application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'body_too_large', 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'bad_request', 'content-length does not match the body');
  }
  // Any other Fastify client error: keep its status, name it by its code only (messages may
  // quote the request).
  if (typeof err.code === 'string' && err.code.startsWith('FST_') && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(err.statusCode, 'bad_request', `bad request (${err.code})`);
  }
  return null;
}

/**
 * The store's user-facing errors (SQLite store: NotFoundError, ConflictError, ValidationError),
 * matched by name because the Store contract does not export error classes. Their messages are
 * written for users. Routes check existence first; this covers races and store-side validation.
 */
function fromStoreError(err: Error): ApiError | null {
  switch (err.name) {
    case 'NotFoundError': return new ApiError(404, 'not_found', err.message);
    case 'ConflictError': return new ApiError(409, 'conflict', err.message);
    case 'ValidationError': return new ApiError(400, 'invalid_request', err.message);
  }
  return null;
}

/** A path without its query string: the query can carry secrets (Splunk's `?token=`). */
export function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Compiles a route pattern (`/a/:id/b`) to a matcher for concrete paths. */
function routeMatcher(pattern: string): RegExp {
  const src = pattern.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return new RegExp(`^${src}$`);
}

/**
 * Errors Fastify raises before routing (malformed URL encoding, over-long path parameter), which
 * bypass the error handler. Pass as the `frameworkErrors` option. The path is not echoed.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // Raised outside any route, so the onSend hook that adds the security headers does not run.
  void reply.headers(SECURITY_HEADERS);
  const e = err.code === 'FST_ERR_BAD_URL' ? new ApiError(400, 'bad_request', 'the URL is not validly encoded')
    : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new ApiError(414, 'uri_too_long', 'a path parameter is too long')
    : null;
  if (e === null) {
    request.log.error({ err }, 'framework error');
    void reply.code(500).type('application/json').send(INTERNAL_ERROR_BODY);
    return;
  }
  request.log.info({ code: e.code, statusCode: e.statusCode }, e.message);
  void reply.code(e.statusCode).type('application/json').send(e.toBody());
}

/**
 * Installs the error handler, a JSON 404 and 405 (the path exists with other methods). Must run
 * before routes are added: it watches route registration to know each path's methods.
 */
export function installErrorHandling(app: FastifyInstance): void {
  const routes: Array<{ re: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ re: routeMatcher(route.url), methods: methods.map(String) });
  });

  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiErr = err instanceof ApiError ? err : (fromFastifyError(err) ?? fromStoreError(err));
    if (apiErr !== null) {
      if (apiErr.statusCode >= 500) request.log.error({ err }, 'request failed');
      else request.log.info({ code: apiErr.code, statusCode: apiErr.statusCode }, apiErr.message);
      if (apiErr.headers) void reply.headers(apiErr.headers);
      return reply.code(apiErr.statusCode).type('application/json').send(apiErr.toBody());
    }
    request.log.error({ err }, 'unexpected error');
    return reply.code(500).type('application/json').send(INTERNAL_ERROR_BODY);
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOnly(request.url);
    const allowed = new Set<string>();
    for (const r of routes) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      const e = new ApiError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}; allowed: ${allow}`);
      return reply.code(405).header('allow', allow).type('application/json').send(e.toBody());
    }
    const e = new ApiError(404, 'not_found', `no route ${request.method} ${path}`);
    return reply.code(404).type('application/json').send(e.toBody());
  });
}
