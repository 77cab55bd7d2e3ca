/**
 * The HTTP API under `/api/v1`. `buildApiServer` returns a ready-to-listen Fastify instance; the
 * caller decides where to listen (tests use `app.inject()`).
 *
 * Secrets in URLs: the Splunk webhook's source token is a query parameter, so the request
 * serializer of the logger redacts secret-looking query parameters, and no error message or log
 * line of ours includes a query string.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import type { IngestService } from '../ingest/ingest-service.js';
import { frameworkErrorHandler, installErrorHandling } from './errors.js';
import { installAuth } from './auth.js';
import type { FailureLimits } from './auth-limits.js';
import { installRouteAccess } from './route-access.js';
import { installAccessLog } from './access-log.js';
import { API_PREFIX, type ApiDeps } from './deps.js';
import { registerIngestRoutes } from './routes/ingest.js';
import { registerIncidentRoutes } from './routes/incidents.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerListRoutes } from './routes/lists.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerCaseRoutes } from './routes/cases.js';
import { redactUrl } from './redact-url.js';
import { installSecurityHeaders } from './security-headers.js';
import { checkTimeouts, clientErrorHandler, DEFAULT_HTTP_TIMEOUTS, httpServerFactory, type HttpTimeouts } from './http-server.js';

export interface ApiServerOptions {
  store: Store;
  ingest: IngestService;
  /**
   * false (default), true, pino options (level, stream, …) or a pino logger instance. Either way
   * the request serializer is ours (it redacts secrets in the URL).
   */
  logger?: boolean | object;
  /** Largest accepted request body; default 1 MiB. */
  bodyLimitBytes?: number;
  /** How long a client may take (slow clients are cut off with a 408); defaults in http-server.ts. */
  timeouts?: Partial<HttpTimeouts>;
  /** More routes (e.g. the console's static files), added after the API's. */
  extraRoutes?: (app: FastifyInstance) => void;
  /** Limits on failed authentication (auth-limits.ts); default 20 failures per minute. */
  authFailureLimits?: Partial<FailureLimits>;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;


interface LoggableRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remoteAddress?: string; remotePort?: number };
}

// Receives Fastify's request object (or a raw IncomingMessage): same fields as Fastify's default
// serializer, with the URL redacted.
function serializeRequest(req: LoggableRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
    host: req.host ?? req.headers?.['host'],
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

interface ChildableLogger {
  child(bindings: object, options?: object): unknown;
  info(...args: unknown[]): void;
}

function isLogger(v: unknown): v is ChildableLogger {
  return typeof v === 'object' && v !== null
    && typeof (v as ChildableLogger).child === 'function' && typeof (v as ChildableLogger).info === 'function';
}

/** Fastify logger settings: a pino instance becomes `loggerInstance`, anything else pino options. */
function loggerSettings(logger: boolean | object | undefined): { logger: boolean | object } | { loggerInstance: FastifyBaseLogger } {
  if (logger === undefined || logger === false) return { logger: false };
  // A child's serializers override the parent's, so the redaction holds for a shared logger too.
  if (isLogger(logger)) return { loggerInstance: logger.child({}, { serializers: { req: serializeRequest } }) as FastifyBaseLogger };
  const base = (logger === true ? {} : logger) as { serializers?: Record<string, unknown> };
  return { logger: { level: 'info', ...base, serializers: { ...base.serializers, req: serializeRequest } } };
}

export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  const logging = loggerSettings(opts.logger);
  const timeouts = checkTimeouts({ ...DEFAULT_HTTP_TIMEOUTS, ...opts.timeouts });
  const app = Fastify({
    ...logging,
    serverFactory: httpServerFactory(timeouts, opts.tls),
    clientErrorHandler,
    // One line per request from our own hook (access-log.ts) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    // Longer than any valid id or name, so zod names the parameter; beyond this, 414.
    routerOptions: { maxParamLength: 500 },
    frameworkErrors: frameworkErrorHandler,
  });

  // JSON only: without this, Fastify would hand text/plain bodies to the routes as strings.
  app.removeContentTypeParser('text/plain');

  installErrorHandling(app);
  installSecurityHeaders(app);
  installAuth(app, opts.authFailureLimits);
  // Before any route: every route is checked against its declaration in the route table.
  installRouteAccess(app);
  if (!('logger' in logging && logging.logger === false)) installAccessLog(app);

  const deps: ApiDeps = { store: opts.store, ingest: opts.ingest };
  app.get(`${API_PREFIX}/health`, async () => ({ status: 'ok' }));
  registerIngestRoutes(app, deps);
  registerIncidentRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerListRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerCaseRoutes(app, deps);
  opts.extraRoutes?.(app);
  // Not readied here, so callers may still register plugins before listen()/inject().
  return app;
}
