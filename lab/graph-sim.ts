/**
 * Microsoft Graph simulator: the identity platform's client-credentials token endpoint, Entra ID
 * users and Intune managed devices, on one server. Shapes follow VENDOR-APIS.md §3; details marked
 * [unverified] there (token field list, filter syntax, Intune's error bodies) are best guesses.
 *
 * Test helpers: `wipeCount(id)`, `device(id)`, `user(key)`, `revokeCount(key)`, `expireTokens()`,
 * `setThrottle()`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LabServer, bearer, type LabRequest, type LabResponse } from './lab-server.js';

/** Optional string properties of a seeded user / device (Graph names). */
type UserText = 'givenName' | 'surname' | 'mail' | 'department' | 'jobTitle' | 'officeLocation' | 'mobilePhone';
type DeviceText = 'serialNumber' | 'operatingSystem' | 'osVersion' | 'model' | 'manufacturer' | 'userId' | 'userPrincipalName'
  | 'userDisplayName' | 'complianceState' | 'lastSyncDateTime' | 'enrolledDateTime' | 'imei';

export interface SimUser extends Partial<Record<UserText, string>> {
  id: string;
  userPrincipalName: string;
  displayName: string;
  businessPhones?: string[];
  accountEnabled?: boolean;
}

export interface SimDevice extends Partial<Record<DeviceText, string>> {
  id: string;
  deviceName: string;
}

export interface ThrottleOptions {
  /** Graph requests allowed per window; the next ones get 429. */
  limit: number;
  windowMs: number;
  retryAfterSeconds?: number;
}

export interface GraphSimOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  users: SimUser[];
  devices: SimDevice[];
  /** A wipe's action result goes from "pending" to "done" after this long (default 50 ms). */
  wipeCompletesAfterMs?: number;
  /** Server-side page size of list endpoints (default 100). */
  pageSize?: number;
  /** Token lifetime (default 3599 s, like Entra). */
  tokenLifetimeMs?: number;
  throttle?: ThrottleOptions;
}

export interface WipeRecord {
  at: number;
  keepEnrollmentData: boolean;
  keepUserData: boolean;
}

type Json = Record<string, unknown>;

// Properties v1.0 returns for a user when no $select is given; everything else needs $select.
const USER_DEFAULT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];
const USER_PROPS = new Set([...USER_DEFAULT, 'department', 'accountEnabled', 'signInSessionsValidFromDateTime', 'createdDateTime', 'employeeId', 'companyName', 'usageLocation']);
const USER_WRITABLE: Record<string, 'boolean' | 'string'> = { accountEnabled: 'boolean', displayName: 'string', department: 'string', jobTitle: 'string', officeLocation: 'string', mobilePhone: 'string' };
const DEVICE_FILTERABLE = new Set(['id', 'deviceName', 'serialNumber', 'userPrincipalName', 'userId', 'operatingSystem', 'complianceState', 'imei']);
const WIPE_PARAMS: Record<string, 'boolean' | 'string'> = { keepEnrollmentData: 'boolean', keepUserData: 'boolean', persistEsimDataPlan: 'boolean', macOsUnlockCode: 'string' };

export class GraphSimulator extends LabServer {
  readonly name = 'Microsoft Graph';
  private readonly opts: GraphSimOptions;
  private readonly users = new Map<string, Json>();
  private readonly devices = new Map<string, Json>();
  /** Latest result per action name, per device (Intune keeps one entry per action). */
  private readonly actions = new Map<string, Map<string, number>>();
  private readonly wipes = new Map<string, WipeRecord[]>();
  private readonly revocations = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private throttleHits: number[] = [];
  private throttle: ThrottleOptions | undefined;

  constructor(opts: GraphSimOptions) {
    super();
    this.opts = opts;
    this.throttle = opts.throttle;
    const now = new Date().toISOString();
    for (const u of opts.users) {
      this.users.set(u.id, { businessPhones: [], givenName: null, surname: null, mail: null, jobTitle: null, department: null, officeLocation: null, mobilePhone: null, preferredLanguage: 'en-US', accountEnabled: true, createdDateTime: now, signInSessionsValidFromDateTime: now, ...u });
    }
    for (const d of opts.devices) {
      const owner = opts.users.find((u) => u.userPrincipalName === d.userPrincipalName);
      this.devices.set(d.id, {
        userId: owner?.id ?? null, userDisplayName: owner?.displayName ?? null, emailAddress: owner?.mail ?? '',
        managedDeviceOwnerType: 'company', enrolledDateTime: now, lastSyncDateTime: now, operatingSystem: 'iOS', osVersion: '',
        complianceState: 'compliant', jailBroken: 'False', managementAgent: 'mdm', model: '', manufacturer: '', imei: '', serialNumber: '',
        userPrincipalName: '', azureADRegistered: true, deviceEnrollmentType: 'userEnrollment', isEncrypted: true, isSupervised: false,
        ...d,
      });
    }
  }

  /** A small org matching the other simulators' demo data (jdoe / asmith, JDOE-IPHONE, …). */
  static demoSeed(): GraphSimOptions {
    const ago = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const jdoe = '4b0f6c1e-2a7d-4e59-9c3b-7d18e2f05a11';
    const asmith = '7c2e9a4d-5b1f-4d8e-a6c0-3f91b7d2e845';
    const bwong = 'd3a85f27-9e6c-4b02-8f4a-1c6e0b9d7a33';
    return {
      tenantId: 'a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b',
      clientId: 'e7f1a2b3-6c4d-4e8f-9a0b-1c2d3e4f5a6b',
      clientSecret: 'lab-graph-client-secret',
      users: [
        { id: jdoe, userPrincipalName: 'jdoe@contoso.example', displayName: 'John Doe', givenName: 'John', surname: 'Doe', mail: 'jdoe@contoso.example', department: 'Finance', jobTitle: 'Financial Analyst', officeLocation: 'Seattle', businessPhones: ['+1 206 555 0134'] },
        { id: asmith, userPrincipalName: 'asmith@contoso.example', displayName: 'Alice Smith', givenName: 'Alice', surname: 'Smith', mail: 'asmith@contoso.example', department: 'Engineering', jobTitle: 'Site Reliability Engineer', officeLocation: 'Dublin' },
        { id: bwong, userPrincipalName: 'bwong@contoso.example', displayName: 'Brian Wong', givenName: 'Brian', surname: 'Wong', mail: 'bwong@contoso.example', department: 'Sales', jobTitle: 'Account Executive', officeLocation: 'Singapore' },
      ],
      devices: [
        { id: '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f', deviceName: 'JDOE-IPHONE', serialNumber: 'F2LXK3ABHG7F', operatingSystem: 'iOS', osVersion: '17.5.1', model: 'iPhone 14', manufacturer: 'Apple', userPrincipalName: 'jdoe@contoso.example', lastSyncDateTime: ago(1), imei: '356728112345678' },
        { id: '2d4e6f80-1a3b-4c5d-9e7f-8a9b0c1d2e3f', deviceName: 'JDOE-LT01', serialNumber: 'PF3A9K2L', operatingSystem: 'Windows', osVersion: '10.0.22631.3737', model: 'ThinkPad T14 Gen 4', manufacturer: 'LENOVO', userPrincipalName: 'jdoe@contoso.example', lastSyncDateTime: ago(5) },
        { id: '5e8a1c3b-7d2f-4a6e-b9c0-4d1e2f3a5b6c', deviceName: 'ASMITH-PIXEL', serialNumber: '3A281FDH200ABC', operatingSystem: 'Android', osVersion: '14', model: 'Pixel 8', manufacturer: 'Google', userPrincipalName: 'asmith@contoso.example', lastSyncDateTime: ago(2), imei: '353918101234567' },
        { id: 'b6c7d8e9-0f1a-4b2c-8d3e-5f6a7b8c9d0e', deviceName: 'BWONG-GALAXY', serialNumber: 'R58T12ABCDE', operatingSystem: 'Android', osVersion: '14', model: 'SM-S918B', manufacturer: 'samsung', userPrincipalName: 'bwong@contoso.example', lastSyncDateTime: ago(30), complianceState: 'noncompliant' },
      ],
    };
  }

  // ---- test helpers ----

  wipeCount(deviceId: string): number {
    return this.wipes.get(deviceId)?.length ?? 0;
  }

  wipeRecords(deviceId: string): WipeRecord[] {
    return [...(this.wipes.get(deviceId) ?? [])];
  }

  /** The device as Graph would return it now (with deviceActionResults), or undefined. */
  device(id: string): Json | undefined {
    const d = this.devices.get(id);
    return d === undefined ? undefined : this.deviceView(d);
  }

  user(key: string): Json | undefined {
    const u = this.findUser(key);
    return u === undefined ? undefined : { ...u };
  }

  revokeCount(key: string): number {
    const u = this.findUser(key);
    return u === undefined ? 0 : this.revocations.get(String(u.id)) ?? 0;
  }

  /** Make every issued token expired, as if the client's cached token outlived its validity. */
  expireTokens(): void {
    for (const t of this.tokens.keys()) this.tokens.set(t, 0);
  }

  setThrottle(t: ThrottleOptions | undefined): void {
    this.throttle = t;
    this.throttleHits = [];
  }

  // ---- routing ----

  protected handle(req: LabRequest): LabResponse {
    const tok = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.path);
    if (tok && req.method === 'POST') return this.token(decodeURIComponent(tok[1]!), req);
    if (!req.path.startsWith('/v1.0/')) return this.gerr(req, 400, 'BadRequest', 'Invalid version.');

    const token = bearer(req.headers);
    const exp = token === undefined ? undefined : this.tokens.get(token);
    if (token === undefined || token === '') return this.unauthorized(req, 'Access token is empty.');
    if (exp === undefined) return this.unauthorized(req, 'IDX14100: JWT is not well formed, there are no dots (.).');
    if (exp <= Date.now()) return this.unauthorized(req, 'Access token has expired or is not yet valid.');

    const t = this.throttle;
    if (t !== undefined) {
      const now = Date.now();
      this.throttleHits = this.throttleHits.filter((at) => at > now - t.windowMs);
      if (this.throttleHits.length >= t.limit) {
        return this.gerr(req, 429, 'TooManyRequests', 'Too many requests.', { 'retry-after': String(t.retryAfterSeconds ?? 1) });
      }
      this.throttleHits.push(now);
    }

    let segs: string[];
    try {
      segs = req.path.slice('/v1.0/'.length).split('/').map(decodeURIComponent);
    } catch {
      return this.gerr(req, 400, 'BadRequest', 'Bad Request - Invalid URL');
    }
    // /users('$odd@upn') is the documented form for UPNs starting with '$'.
    const paren = /^users\('(.*)'\)$/.exec(segs[0] ?? '');
    if (paren) segs = ['users', paren[1]!.replace(/''/g, "'"), ...segs.slice(1)];
    const route = `${req.method} ${segs.map((s, i) => (i === 1 ? '{}' : s)).join('/')}`;
    switch (route) {
      case 'GET users': {
        const sel = this.selected(req);
        return 'error' in sel ? sel.error : this.list(req, 'users', [...this.users.values()].map((u) => pick(u, sel.props)));
      }
      case 'GET users/{}': return this.getUser(req, segs[1]!);
      case 'PATCH users/{}': return this.patchUser(req, segs[1]!);
      case 'POST users/{}/revokeSignInSessions': return this.revoke(req, segs[1]!);
    }
    if (segs[0] === 'deviceManagement' && segs[1] === 'managedDevices') {
      if (segs.length === 2 && req.method === 'GET') return this.listDevices(req);
      const d = segs[2] === undefined ? undefined : this.devices.get(segs[2]);
      if (segs.length === 3 && req.method === 'GET') return d ? { status: 200, body: { '@odata.context': `${this.origin(req)}/v1.0/$metadata#deviceManagement/managedDevices/$entity`, ...this.deviceView(d) } } : this.deviceNotFound(req);
      if (segs.length === 4 && segs[3] === 'wipe' && req.method === 'POST') return d ? this.wipe(req, d) : this.deviceNotFound(req);
    }
    return this.gerr(req, 400, 'BadRequest', `Resource not found for the segment '${segs[segs.length - 1] ?? ''}'.`);
  }

  // ---- token endpoint ----

  private token(tenant: string, req: LabRequest): LabResponse {
    const f = new URLSearchParams(req.body);
    if (tenant.toLowerCase() !== this.opts.tenantId.toLowerCase()) {
      return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    const grant = f.get('grant_type');
    if (!String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded') || grant === null) {
      return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    }
    if (grant !== 'client_credentials') return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
    const clientId = f.get('client_id') ?? '';
    if (clientId !== this.opts.clientId) {
      return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
    }
    if (f.get('client_secret') !== this.opts.clientSecret) {
      return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    }
    const scope = f.get('scope') ?? '';
    if (!scope.endsWith('/.default')) {
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const lifetime = this.opts.tokenLifetimeMs ?? 3_599_000;
    const accessToken = randomBytes(32).toString('base64url');
    this.tokens.set(accessToken, Date.now() + lifetime);
    const secs = Math.max(1, Math.round(lifetime / 1000));
    return { status: 200, body: { token_type: 'Bearer', expires_in: secs, ext_expires_in: secs, access_token: accessToken } };
  }

  // ---- users ----

  private findUser(key: string): Json | undefined {
    const k = key.toLowerCase();
    return this.users.get(key) ?? [...this.users.values()].find((u) => String(u.userPrincipalName).toLowerCase() === k);
  }

  /** User properties to return per $select (the default set without it), or the refusal. */
  private selected(req: LabRequest): { props: string[] } | { error: LabResponse } {
    const sel = req.query.get('$select');
    const props = sel === null ? USER_DEFAULT : sel.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = props.find((p) => !USER_PROPS.has(p));
    if (bad !== undefined) return { error: this.gerr(req, 400, 'BadRequest', `Could not find a property named '${bad}' on type 'microsoft.graph.user'.`) };
    return { props };
  }

  private getUser(req: LabRequest, key: string): LabResponse {
    const u = this.findUser(key);
    if (u === undefined) return this.userNotFound(req, key);
    const sel = this.selected(req);
    if ('error' in sel) return sel.error;
    const ctx = req.query.get('$select') === null ? '' : `(${sel.props.join(',')})`;
    return { status: 200, body: { '@odata.context': `${this.origin(req)}/v1.0/$metadata#users${ctx}/$entity`, ...pick(u, sel.props) } };
  }

  private patchUser(req: LabRequest, key: string): LabResponse {
    const u = this.findUser(key);
    if (u === undefined) return this.userNotFound(req, key);
    const patch = parseObject(req.body);
    if (patch === undefined) return this.gerr(req, 400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
    for (const [k, v] of Object.entries(patch)) {
      if (USER_WRITABLE[k] === undefined) return this.gerr(req, 400, 'Request_BadRequest', `Invalid property '${k}'.`);
      if (typeof v !== USER_WRITABLE[k]) return this.gerr(req, 400, 'Request_BadRequest', `Invalid value specified for property '${k}' of resource 'User'.`);
    }
    Object.assign(u, patch);
    return { status: 204 };
  }

  private revoke(req: LabRequest, key: string): LabResponse {
    const u = this.findUser(key);
    if (u === undefined) return this.userNotFound(req, key);
    u.signInSessionsValidFromDateTime = new Date().toISOString();
    this.revocations.set(String(u.id), (this.revocations.get(String(u.id)) ?? 0) + 1);
    return { status: 200, body: { '@odata.context': `${this.origin(req)}/v1.0/$metadata#Edm.Boolean`, value: true } };
  }

  private userNotFound(req: LabRequest, key: string): LabResponse {
    return this.gerr(req, 404, 'Request_ResourceNotFound', `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
  }

  // ---- managed devices ----

  private deviceView(d: Json): Json {
    const wait = this.opts.wipeCompletesAfterMs ?? 50;
    const results = [...(this.actions.get(String(d.id)) ?? new Map<string, number>())].map(([actionName, start]) => {
      // Computed on read: the action is "done" once the configured delay has passed.
      const done = Date.now() - start >= wait;
      return { actionName, actionState: done ? 'done' : 'pending', startDateTime: new Date(start).toISOString(), lastUpdatedDateTime: new Date(done ? start + wait : start).toISOString() };
    });
    return { ...d, deviceActionResults: results };
  }

  private listDevices(req: LabRequest): LabResponse {
    const filter = req.query.get('$filter');
    let devices = [...this.devices.values()];
    if (filter !== null) {
      const clauses = parseFilter(filter);
      if (clauses === undefined) return this.gerr(req, 400, 'BadRequest', `Invalid filter clause: ${filter}`);
      const bad = clauses.find(([p]) => !DEVICE_FILTERABLE.has(p));
      if (bad !== undefined) return this.gerr(req, 400, 'BadRequest', `Could not find a property named '${bad[0]}' on type 'microsoft.graph.managedDevice'.`);
      // String eq is treated as case-insensitive, like Intune's SQL-backed filters [unverified].
      devices = devices.filter((d) => clauses.every(([p, v]) => String(d[p] ?? '').toLowerCase() === v.toLowerCase()));
    }
    return this.list(req, 'deviceManagement/managedDevices', devices.map((d) => this.deviceView(d)));
  }

  private wipe(req: LabRequest, d: Json): LabResponse {
    const body = req.body.trim() === '' ? {} : parseObject(req.body);
    if (body === undefined) return this.gerr(req, 400, 'BadRequest', 'Unable to read JSON request payload.');
    for (const [k, v] of Object.entries(body)) {
      if (WIPE_PARAMS[k] === undefined) return this.gerr(req, 400, 'BadRequest', `The parameter '${k}' in the request payload is not a valid parameter for the operation 'wipe'.`);
      if (v !== null && typeof v !== WIPE_PARAMS[k]) return this.gerr(req, 400, 'BadRequest', `Invalid value for parameter '${k}'.`);
    }
    const id = String(d.id);
    const now = Date.now();
    const recs = this.wipes.get(id) ?? [];
    recs.push({ at: now, keepEnrollmentData: body.keepEnrollmentData === true, keepUserData: body.keepUserData === true });
    this.wipes.set(id, recs);
    const acts = this.actions.get(id) ?? new Map<string, number>();
    acts.set('wipe', now);
    this.actions.set(id, acts);
    return { status: 204 };
  }

  private deviceNotFound(req: LabRequest): LabResponse {
    // Intune wraps its own JSON error document in error.message [unverified, from captured replies].
    const message = JSON.stringify({
      _version: 3,
      Message: `An error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: ${randomUUID()} - Url: https://fef.msua06.manage.microsoft.com${req.path}`,
      CustomApiErrorPhrase: '', RetryAfter: null, ErrorSourceService: '', HttpHeaders: '{}',
    });
    return this.gerr(req, 404, 'ResourceNotFound', message);
  }

  // ---- shared ----

  /** One page of a collection, with an absolute @odata.nextLink carrying a $skiptoken. */
  private list(req: LabRequest, entitySet: string, items: Json[]): LabResponse {
    const topRaw = req.query.get('$top');
    const top = topRaw === null ? undefined : Number(topRaw);
    if (top !== undefined && (!Number.isInteger(top) || top < 1 || top > 999)) return this.gerr(req, 400, 'BadRequest', `Invalid $top value '${topRaw}'.`);
    const size = Math.min(top ?? Infinity, this.opts.pageSize ?? 100);
    const skip = req.query.get('$skiptoken');
    const offset = skip === null ? 0 : Number(Buffer.from(skip, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(offset) || offset < 0) return this.gerr(req, 400, 'BadRequest', 'Invalid $skiptoken.');
    const body: Json = { '@odata.context': `${this.origin(req)}/v1.0/$metadata#${entitySet}`, value: items.slice(offset, offset + size) };
    if (offset + size < items.length) {
      const q: string[] = [];
      for (const k of ['$filter', '$select', '$top']) {
        const v = req.query.get(k);
        if (v !== null) q.push(`${k}=${encodeURIComponent(v)}`);
      }
      q.push(`$skiptoken=${Buffer.from(`offset:${offset + size}`).toString('base64url')}`);
      body['@odata.nextLink'] = `${this.origin(req)}${req.path}?${q.join('&')}`;
    }
    return { status: 200, body };
  }

  private origin(req: LabRequest): string {
    const host = req.headers.host;
    return typeof host === 'string' && host !== '' ? `http://${host}` : this.url;
  }

  private unauthorized(req: LabRequest, message: string): LabResponse {
    return this.gerr(req, 401, 'InvalidAuthenticationToken', message, { 'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"' });
  }

  /** Graph's error envelope: {"error":{"code","message","innerError":{date, request-id, client-request-id}}}. */
  private gerr(req: LabRequest, status: number, code: string, message: string, headers: Record<string, string> = {}): LabResponse {
    const requestId = randomUUID();
    const h = req.headers['client-request-id'];
    const clientRequestId = typeof h === 'string' ? h : requestId;
    const innerError = { date: new Date().toISOString().slice(0, 19), 'request-id': requestId, 'client-request-id': clientRequestId };
    return { status, headers: { 'request-id': requestId, 'client-request-id': clientRequestId, ...headers }, body: { error: { code, message, innerError } } };
  }
}

/** Token endpoint error body (AADSTS code in error_description and error_codes). */
function aadError(status: number, error: string, code: number, text: string): LabResponse {
  const trace = randomUUID();
  const corr = randomUUID();
  const ts = `${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`;
  return {
    status,
    body: {
      error, error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${corr}\r\nTimestamp: ${ts}`,
      error_codes: [code], timestamp: ts, trace_id: trace, correlation_id: corr, error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

/** `prop eq 'value' [and prop eq 'value' …]`; undefined when the filter is anything else. */
function parseFilter(filter: string): Array<[string, string]> | undefined {
  const re = /\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*/y;
  const out: Array<[string, string]> = [];
  let pos = 0;
  for (;;) {
    re.lastIndex = pos;
    const m = re.exec(filter);
    if (!m) return undefined;
    out.push([m[1]!, m[2]!.replace(/''/g, "'")]);
    pos = re.lastIndex;
    if (pos === filter.length) return out;
    const and = /and\s+/iy;
    and.lastIndex = pos;
    if (!and.exec(filter)) return undefined;
    pos = and.lastIndex;
  }
}

function parseObject(body: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Selected properties; Graph returns null for a selected property that has no value. */
function pick(o: Json, props: string[]): Json {
  return Object.fromEntries(props.map((p) => [p, o[p] ?? null]));
}
