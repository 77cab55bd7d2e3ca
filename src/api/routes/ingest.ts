/**
 * Alert ingestion routes. Both answer only after `IngestService.ingest` resolved, i.e. after the
 * incident and its runs are committed durably; any failure before that writes nothing.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { IngestResult } from '../../store/store.js';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { ApiError, formatPath, parseInput, zodDetails } from '../errors.js';
import { actorOf, causeOf, principalOf, requireGenericIngestCredential, requireSplunkSource, type Principal } from '../auth.js';
import { splunkAlertToIncident, splunkWebhookSchema } from '../../ingest/splunk-webhook.js';
import { DEFAULT_SPLUNK_MAPPING, sourceMappingSchema, type SourceMapping } from '../../ingest/mapping.js';
import { genericIncidentSchema, genericToIncident, plainlyValidGenericIncident } from '../../ingest/generic.js';
import {
  DEFAULT_INVALID_VALUES, InvalidArtifactsError, type ArtifactValueProblem,
} from '../../ingest/artifact-validation.js';

/**
 * An invalid typed artifact value refused: 422 with one detail per field, at `pathOf(problem)`.
 * The value itself is never echoed back.
 */
async function refusingInvalid<T>(run: () => Promise<T>, pathOf: (p: ArtifactValueProblem) => string): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof InvalidArtifactsError)) throw err;
    throw new ApiError(422, 'invalid_artifact', `invalid artifact value: ${err.message}; nothing was stored`,
      err.problems.map((p) => ({
        path: pathOf(p), code: 'invalid_value',
        message: `${p.field} is not a valid ${p.types.join(' or ')}: ${p.reason}`,
      })));
  }
}

function sendIngestResult(reply: FastifyReply, r: IngestResult): FastifyReply {
  const incidentId = r.incident.id;
  if (r.created) {
    return reply.code(201).header('location', `${API_PREFIX}/incidents/${incidentId}`)
      .send({ incidentId, created: true, runs: r.runs.map((run) => run.id) });
  }
  return reply.code(200).send({ incidentId, created: false, repeatCount: r.incident.repeatCount });
}

// Validated mappings by the stored mapping object: the source record (and so its mapping object)
// is reused while the credential cache keeps it (auth.ts), and the mapping is read-only.
const validMappings = new WeakMap<object, SourceMapping>();

/** The source's stored mapping; a source configured without one gets the product default (labels no search). */
function mappingOf(p: Principal, log: FastifyInstance['log']): SourceMapping {
  if (p.kind !== 'source') throw new Error('splunk route reached without a source principal');
  if (p.mapping === null || p.mapping === undefined) return DEFAULT_SPLUNK_MAPPING;
  const stored = typeof p.mapping === 'object' ? p.mapping : null;
  const known = stored === null ? undefined : validMappings.get(stored);
  if (known !== undefined) return known;
  const r = sourceMappingSchema.safeParse(p.mapping);
  if (r.success) {
    if (stored !== null) validMappings.set(stored, r.data);
    return r.data;
  }
  // An operator's configuration error, not the sender's: say so without the mapping's content.
  log.error({ source: p.name, issues: zodDetails(r.error.issues) }, 'source mapping is invalid');
  throw new ApiError(500, 'source_misconfigured', `the mapping of source ${p.name} is invalid; see the server log`);
}

export function registerIngestRoutes(app: FastifyInstance, { store, ingest }: ApiDeps): void {
  // Splunk's webhook alert action cannot send headers: the source token is in the query string.
  // Successful answers of both routes go into the access log's periodic summary (access-log.ts).
  app.post(`${API_PREFIX}/ingest/splunk`, { onRequest: requireSplunkSource(store), config: { accessLog: 'summary' } }, async (request, reply) => {
    const p = principalOf(request);
    const body = parseInput(splunkWebhookSchema, request.body, 'body');
    const mapping = mappingOf(p, request.log);
    const out = splunkAlertToIncident(body, mapping, p.name);
    if (!out.ok) {
      throw new ApiError(422, 'unmappable', out.reason,
        out.missingFields.map((f) => ({ path: `result.${f}`, code: 'missing_field', message: 'mapped field is absent or empty' })));
    }
    const policy = mapping.invalidValues ?? DEFAULT_INVALID_VALUES['splunk-webhook'];
    // A refused value is named by the alert field that supplied it (the mapping's CEF source).
    const field = (q: ArtifactValueProblem) => `result.${mapping.cef[q.field] ?? q.field}`;
    return sendIngestResult(reply, await refusingInvalid(
      () => ingest.ingest(out.incident, actorOf(p), causeOf(p), policy), field));
  });

  app.post(`${API_PREFIX}/incidents`, { onRequest: requireGenericIngestCredential(store), config: { accessLog: 'summary' } }, async (request, reply) => {
    const p = principalOf(request);
    const body = plainlyValidGenericIncident(request.body) ?? parseInput(genericIncidentSchema, request.body, 'body');
    // Dedupe namespace of sourceId: the generic source, or the API token that sent it.
    const source = p.kind === 'source' ? p.name : `token:${p.name}`;
    // The generic route refuses invalid values: its sender can correct and resend (docs/ingestion).
    const incident = genericToIncident(body, source);
    const path = (q: ArtifactValueProblem) => formatPath(['artifacts', q.artifact, 'cef', q.field]);
    return sendIngestResult(reply, await refusingInvalid(
      () => ingest.ingest(incident, actorOf(p), causeOf(p), DEFAULT_INVALID_VALUES.generic), path));
  });
}
