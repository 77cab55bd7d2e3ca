/**
 * Chat webhook simulators (VENDOR-APIS.md §7). In both products the URL is the credential.
 *
 * Slack incoming webhook: `POST /services/T…/B…/<secret>`, JSON (or form `payload=`) with `text`
 * and/or `blocks`. 200 text/plain `ok`; errors are text/plain strings: 400 `invalid_payload` /
 * `no_text` / `invalid_blocks`, 404 `no_service` (unknown or revoked secret), 410
 * `channel_is_archived`, 429 `rate_limited` + Retry-After (≈1 msg/s per hook with a burst).
 *
 * Microsoft Teams:
 * - legacy Office 365 connector `/webhookb2/…`: MessageCard or Adaptive Card wrapper → 200 `1`;
 *   non-JSON → 400 "Bad payload received by generic incoming webhook."; a MessageCard without
 *   text and summary → 400 "Summary or Text is required.". Failures of the Teams backend (card
 *   over 28 KB, removed channel, bad card) come back as **HTTP 200** with
 *   "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error NNN
 *   with ContextId …" (MicrosoftDocs/msteams-docs#400, #1810: by design).
 * - Workflows (Power Automate / Logic Apps request trigger)
 *   `/workflows/<id>/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig=…` → 202 with an
 *   empty body; missing or wrong `sig` → 401 `{"error":{code,message}}`. The flow that posts
 *   the card runs after the 202, so a card that Teams refuses (over 28 KB, not an Adaptive Card)
 *   is recorded as not delivered while the caller still saw 202. Error codes/messages of the
 *   Logic Apps endpoint other than the 202 are best guesses [unverified].
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';

type Json = Record<string, unknown>;

export interface RateLimit {
  /** Sustained messages per second per webhook. */
  perSecond: number;
  /** Messages allowed at once before throttling starts. */
  burst: number;
}

/** Token bucket per webhook; returns the seconds to wait, or 0 when the message may pass. */
class Limiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly limit: RateLimit | undefined) {}
  take(key: string, now = Date.now()): number {
    if (this.limit === undefined) return 0;
    const { perSecond, burst } = this.limit;
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }
}

const text = (status: number, body: string, headers: Record<string, string> = {}): LabResponse =>
  ({ status, body, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });

function parseJson(body: string): Json | undefined {
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- Slack

export interface SlackHook {
  team: string;
  bot: string;
  secret: string;
  archived: boolean;
  revoked: boolean;
}

export interface SlackMessage {
  at: number;
  /** `T…/B…` of the webhook (the secret is not recorded here). */
  hook: string;
  payload: Json;
}

export class SlackWebhookSimulator extends LabServer {
  readonly name = 'Slack incoming webhooks';
  readonly messages: SlackMessage[] = [];
  private readonly hooks = new Map<string, SlackHook>();
  private readonly limiter: Limiter;

  constructor(opts: { rateLimit?: RateLimit } = {}) {
    super();
    this.limiter = new Limiter(opts.rateLimit);
  }

  /** Creates an incoming webhook; returns its full URL (start the server first). */
  addWebhook(): { url: string; hook: SlackHook } {
    const id = () => randomBytes(5).toString('hex').toUpperCase();
    const hook: SlackHook = { team: `T${id()}`, bot: `B${id()}`, secret: randomBytes(12).toString('base64url').replace(/[-_]/g, 'x'), archived: false, revoked: false };
    this.hooks.set(hook.secret, hook);
    return { url: `${this.url}/services/${hook.team}/${hook.bot}/${hook.secret}`, hook };
  }

  archiveChannel(hook: SlackHook): void {
    hook.archived = true;
  }

  revoke(hook: SlackHook): void {
    hook.revoked = true;
  }

  protected handle(req: LabRequest): LabResponse {
    const m = /^\/services\/(T[A-Z0-9]+)\/(B[A-Z0-9]+)\/([A-Za-z0-9]+)$/.exec(req.path);
    const hook = m ? this.hooks.get(m[3]!) : undefined;
    if (!m || hook === undefined || hook.revoked || hook.team !== m[1] || hook.bot !== m[2]) return text(404, 'no_service');
    if (req.method !== 'POST') return text(405, 'invalid_method');
    const ctype = String(req.headers['content-type'] ?? '');
    let payload: Json | undefined;
    if (ctype.startsWith('application/x-www-form-urlencoded')) {
      const p = new URLSearchParams(req.body).get('payload');
      payload = p === null ? undefined : parseJson(p);
    } else {
      payload = parseJson(req.body);
    }
    if (payload === undefined) return text(400, 'invalid_payload');
    const hasText = typeof payload.text === 'string' && payload.text.trim() !== '';
    if (payload.blocks !== undefined) {
      const blocks = payload.blocks;
      if (!Array.isArray(blocks) || blocks.length > 50 || blocks.some((b) => typeof b !== 'object' || b === null || typeof (b as Json).type !== 'string')) {
        return text(400, 'invalid_blocks');
      }
    }
    if (!hasText && !(Array.isArray(payload.blocks) && payload.blocks.length > 0)) return text(400, 'no_text');
    if (hook.archived) return text(410, 'channel_is_archived');
    const wait = this.limiter.take(hook.secret);
    if (wait > 0) return text(429, 'rate_limited', { 'retry-after': String(wait) });
    this.messages.push({ at: Date.now(), hook: `${hook.team}/${hook.bot}`, payload });
    return text(200, 'ok');
  }
}

// ---------------------------------------------------------------- Teams

export const TEAMS_MAX_BYTES = 28 * 1024;

export interface TeamsMessage {
  at: number;
  endpoint: 'connector' | 'workflow';
  /** Connector or workflow id (no signature). */
  hook: string;
  payload: Json;
  /** False when Teams refused the card after the webhook accepted the request. */
  delivered: boolean;
  failure?: string;
}

interface Connector {
  id: string;
  channelRemoved: boolean;
}

function deliveryFailed(status: number): LabResponse {
  const cv = randomBytes(16).toString('base64').replace(/=+$/, '');
  return text(200, `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error ${status} with ContextId tcid=0,server=msgapi-lab,cv=${cv}.0..`);
}

const logicError = (status: number, code: string, message: string): LabResponse => ({ status, body: { error: { code, message } } });

/** Why a message payload is not a Teams Adaptive Card wrapper, or undefined when it is one. */
export function adaptiveCardProblem(p: Json): string | undefined {
  if (!Array.isArray(p.attachments) || p.attachments.length === 0) return 'attachments must be a non-empty array';
  for (const a of p.attachments as unknown[]) {
    const att = a as Json | null;
    if (att === null || typeof att !== 'object' || att.contentType !== 'application/vnd.microsoft.card.adaptive') return 'attachment contentType must be application/vnd.microsoft.card.adaptive';
    const c = att.content as Json | null | undefined;
    if (c === null || typeof c !== 'object' || c.type !== 'AdaptiveCard' || typeof c.version !== 'string' || !Array.isArray(c.body)) return 'attachment content must be an AdaptiveCard with a version and a body';
  }
  return undefined;
}

export class TeamsWebhookSimulator extends LabServer {
  readonly name = 'Microsoft Teams webhooks';
  readonly messages: TeamsMessage[] = [];
  private readonly connectors = new Map<string, Connector>();
  private readonly workflows = new Map<string, string>();
  private readonly limiter: Limiter;

  constructor(opts: { rateLimit?: RateLimit } = {}) {
    super();
    this.limiter = new Limiter(opts.rateLimit);
  }

  /** A legacy Office 365 connector URL (`/webhookb2/<group>@<tenant>/IncomingWebhook/<hex>/<user>`). */
  addConnector(): { url: string; id: string } {
    const id = `${randomUUID()}@${randomUUID()}/IncomingWebhook/${randomBytes(16).toString('hex')}/${randomUUID()}`;
    this.connectors.set(id, { id, channelRemoved: false });
    return { url: `${this.url}/webhookb2/${id}`, id };
  }

  /** The channel behind a connector was deleted: posts still get HTTP 200, with an embedded 404. */
  removeChannel(id: string): void {
    const c = this.connectors.get(id);
    if (c) c.channelRemoved = true;
  }

  /** A Workflows ("When a Teams webhook request is received") trigger URL with its SAS signature. */
  addWorkflow(): { url: string; id: string; sig: string } {
    const id = randomBytes(16).toString('hex');
    const sig = randomBytes(32).toString('base64url');
    this.workflows.set(id, sig);
    const q = new URLSearchParams({ 'api-version': '2016-06-01', sp: '/triggers/manual/run', sv: '1.0', sig });
    return { url: `${this.url}/workflows/${id}/triggers/manual/paths/invoke?${q}`, id, sig };
  }

  protected handle(req: LabRequest): LabResponse {
    if (req.path.startsWith('/webhookb2/')) return this.connector(req);
    const wf = /^\/workflows\/([0-9a-f]+)\/triggers\/manual\/paths\/invoke$/.exec(req.path);
    if (wf) return this.workflow(req, wf[1]!);
    return text(404, 'Not Found');
  }

  private connector(req: LabRequest): LabResponse {
    const id = req.path.slice('/webhookb2/'.length);
    const c = this.connectors.get(id);
    if (c === undefined) return text(404, 'Not Found'); // [unverified] shape for an unknown connector
    if (req.method !== 'POST') return text(405, 'Method Not Allowed');
    const payload = parseJson(req.body);
    if (payload === undefined) return text(400, 'Bad payload received by generic incoming webhook.');
    const isAdaptive = payload.attachments !== undefined;
    if (!isAdaptive) {
      const hasText = (k: string) => typeof payload[k] === 'string' && (payload[k] as string).trim() !== '';
      if (!hasText('text') && !hasText('summary')) return text(400, 'Summary or Text is required.');
    }
    const wait = this.limiter.take(id);
    if (wait > 0) return text(429, 'Too Many Requests', { 'retry-after': String(wait) });
    // From here on Teams itself answers, and the connector wraps its failures in HTTP 200.
    const record = (delivered: boolean, failure?: string) => {
      const m: TeamsMessage = { at: Date.now(), endpoint: 'connector', hook: id, payload, delivered };
      if (failure !== undefined) m.failure = failure;
      this.messages.push(m);
    };
    const [status, failure] = c.channelRemoved ? [404, 'channel removed']
      : Buffer.byteLength(req.body) > TEAMS_MAX_BYTES ? [413, 'message too large']
      : [400, isAdaptive ? adaptiveCardProblem(payload) : undefined];
    record(failure === undefined, failure);
    return failure === undefined ? text(200, '1') : deliveryFailed(status);
  }

  private workflow(req: LabRequest, id: string): LabResponse {
    if (req.method !== 'POST') return logicError(405, 'TriggerRequestMethodNotValid', `The HTTP method for this request is not valid: expected 'Post' and actual '${req.method}'.`);
    if (!req.query.get('api-version')) return logicError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    const sig = req.query.get('sig');
    if (sig === null || !req.query.get('sp') || !req.query.get('sv')) {
      return logicError(401, 'DirectApiAuthorizationRequired', 'The request must be authenticated only by Shared Access scheme.');
    }
    const expected = this.workflows.get(id);
    if (expected === undefined) return logicError(404, 'WorkflowNotFound', `The workflow '${id}' could not be found.`);
    if (sig !== expected) return logicError(401, 'DirectApiInvalidAuthorizationSignature', 'The provided authorization signature is not valid for the workflow trigger.');
    const payload = parseJson(req.body);
    if (payload === undefined || (payload.attachments !== undefined && !Array.isArray(payload.attachments))) {
      return logicError(400, 'TriggerInputSchemaMismatch', "The input body for trigger 'manual' of type 'Request' did not match its schema definition.");
    }
    const wait = this.limiter.take(id);
    if (wait > 0) return { ...logicError(429, 'WorkflowRequestsThrottled', 'The workflow has exceeded its trigger rate limit.'), headers: { 'retry-after': String(wait) } };
    // The run that posts the card happens after the 202: its failures never reach the caller.
    const problem = Buffer.byteLength(req.body) > TEAMS_MAX_BYTES ? 'message too large' : adaptiveCardProblem(payload);
    const m: TeamsMessage = { at: Date.now(), endpoint: 'workflow', hook: id, payload, delivered: problem === undefined };
    if (problem !== undefined) m.failure = problem;
    this.messages.push(m);
    return { status: 202, body: '' };
  }
}
