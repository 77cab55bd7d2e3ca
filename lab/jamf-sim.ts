/**
 * Jamf Pro API simulator: OAuth client-credentials and legacy Basic tokens, computer inventory,
 * mobile devices, and MDM commands (ERASE_DEVICE, DEVICE_LOCK) that are queued and acknowledged
 * asynchronously. Shapes follow VENDOR-APIS.md §8 and developer.jamf.com's reference for
 * `/api/v2/mdm/commands` (201 `[{id, href}]`; GET needs a filter on uuid, clientManagementId,
 * command, status, clientType, dateSent…; commandState PENDING|ACKNOWLEDGED|NOT_NOW|ERROR).
 * Marked [unverified]: the error envelope, the token endpoint's error body, privilege names,
 * filter support on `/api/v2/mobile-devices`, and case-insensitive filters.
 *
 * Test helpers: `eraseCount(managementId)`, `lockCount(managementId)`, `commandsFor(managementId)`,
 * `expireTokens()`, `setPrivileges()`, `failCommandsFor(managementId)`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LabServer, bearer, type LabRequest, type LabResponse } from './lab-server.js';
import { evalRsql, parseRsql, rsqlFields, RsqlError, type RsqlNode } from './jamf-rsql.js';

export interface JamfSimComputer {
  id: string;
  name: string;
  serialNumber: string;
  managementId: string;
  udid?: string;
  model?: string;
  modelIdentifier?: string;
  osVersion?: string;
  username?: string;
  realname?: string;
  email?: string;
  lastContactTime?: string;
}

export interface JamfSimMobileDevice {
  id: string;
  name: string;
  serialNumber: string;
  managementId: string;
  udid?: string;
  model?: string;
  modelIdentifier?: string;
  osVersion?: string;
  username?: string;
  realName?: string;
  email?: string;
  lastInventoryUpdateDate?: string;
  supervised?: boolean;
}

export interface JamfSimOptions {
  /** API client (API Roles and Clients). */
  clientId: string;
  clientSecret: string;
  /** Jamf Pro user accounts for the legacy Basic → token endpoint (they hold every privilege). */
  accounts?: Record<string, string>;
  computers: JamfSimComputer[];
  mobileDevices: JamfSimMobileDevice[];
  /** A command goes PENDING → ACKNOWLEDGED this long after it was sent (default 50 ms). */
  commandAckAfterMs?: number;
  /** Access token lifetime (default 1800 s). */
  tokenLifetimeMs?: number;
}

export interface JamfSimCommand {
  uuid: string;
  managementId: string;
  clientType: 'COMPUTER' | 'MOBILE_DEVICE';
  commandType: string;
  sentAt: number;
  commandData: Record<string, unknown>;
  fails: boolean;
}

type Json = Record<string, unknown>;

/** Privileges of API roles (names as in Jamf Pro's role editor [unverified]). */
export const JAMF_PRIVILEGES = [
  'Read Computers', 'Read Mobile Devices', 'View MDM command information in Jamf Pro API',
  'Send Computer Remote Wipe Command', 'Send Mobile Device Remote Wipe Command',
  'Send Computer Remote Lock Command', 'Send Mobile Device Remote Lock Command',
] as const;

const COMPUTER_SECTIONS = ['GENERAL', 'HARDWARE', 'USER_AND_LOCATION', 'OPERATING_SYSTEM', 'DISK_ENCRYPTION', 'SECURITY', 'STORAGE', 'APPLICATIONS', 'EXTENSION_ATTRIBUTES', 'GROUP_MEMBERSHIPS'];
const COMMAND_FILTER_FIELDS = new Set(['uuid', 'clientManagementId', 'command', 'status', 'clientType', 'dateSent', 'dateCompleted', 'active']);
const MOBILE_FILTER_FIELDS = new Set(['id', 'name', 'serialNumber', 'udid', 'username', 'managementId', 'model']);
const COMMAND_PRIVILEGE: Record<string, Record<'COMPUTER' | 'MOBILE_DEVICE', string>> = {
  ERASE_DEVICE: { COMPUTER: 'Send Computer Remote Wipe Command', MOBILE_DEVICE: 'Send Mobile Device Remote Wipe Command' },
  DEVICE_LOCK: { COMPUTER: 'Send Computer Remote Lock Command', MOBILE_DEVICE: 'Send Mobile Device Remote Lock Command' },
};

export class JamfSimulator extends LabServer {
  readonly name = 'Jamf Pro';
  private readonly opts: JamfSimOptions;
  private readonly tokens = new Map<string, { exp: number; apiClient: boolean }>();
  private readonly commands: JamfSimCommand[] = [];
  private readonly failing = new Set<string>();
  private privileges: Set<string> = new Set(JAMF_PRIVILEGES);

  constructor(opts: JamfSimOptions) {
    super();
    this.opts = opts;
  }

  /** The lab organisation (jdoe / asmith, JDOE-IPHONE with the same serial as in Intune). */
  static demoSeed(): JamfSimOptions {
    const ago = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    return {
      clientId: '3f2b8c1a-7d4e-4a9b-b6c5-2e1f0a9d8c7b',
      clientSecret: 'lab-jamf-client-secret',
      accounts: { 'soc-api': 'lab-jamf-password' },
      mobileDevices: [
        { id: '1', name: 'JDOE-IPHONE', serialNumber: 'F2LXK3ABHG7F', managementId: '6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a51', model: 'iPhone 14', modelIdentifier: 'iPhone14,7', osVersion: '17.5.1', username: 'jdoe', realName: 'John Doe', email: 'jdoe@contoso.example', lastInventoryUpdateDate: ago(1), supervised: true },
        { id: '2', name: 'ASMITH-IPAD', serialNumber: 'DMPX72LQH1GC', managementId: '7b2a1d3f-4c5e-4f60-9b0c-1d2e3f4a5b62', model: 'iPad Air (5th generation)', modelIdentifier: 'iPad13,16', osVersion: '17.4', username: 'asmith', realName: 'Alice Smith', email: 'asmith@contoso.example', lastInventoryUpdateDate: ago(3), supervised: true },
      ],
      computers: [
        { id: '1', name: 'JDOE-MBP', serialNumber: 'C02ZK1ABMD6R', managementId: '8c3b2e4a-5d6f-4071-ac1d-2e3f4a5b6c73', model: 'MacBook Pro (14-inch, 2023)', modelIdentifier: 'Mac14,9', osVersion: '14.5', username: 'jdoe', realname: 'John Doe', email: 'jdoe@contoso.example', lastContactTime: ago(4) },
        { id: '2', name: 'ASMITH-MBA', serialNumber: 'FVFHX2Q1Q6L4', managementId: '9d4c3f5b-6e70-4182-bd2e-3f4a5b6c7d84', model: 'MacBook Air (M2, 2022)', modelIdentifier: 'Mac14,2', osVersion: '14.4.1', username: 'asmith', realname: 'Alice Smith', email: 'asmith@contoso.example', lastContactTime: ago(2) },
      ],
    };
  }

  // ---- test helpers ----

  commandsFor(managementId: string, commandType?: string): JamfSimCommand[] {
    return this.commands.filter((c) => c.managementId === managementId && (commandType === undefined || c.commandType === commandType));
  }

  eraseCount(managementId: string): number {
    return this.commandsFor(managementId, 'ERASE_DEVICE').length;
  }

  lockCount(managementId: string): number {
    return this.commandsFor(managementId, 'DEVICE_LOCK').length;
  }

  /** Commands sent to this device from now on end in ERROR instead of ACKNOWLEDGED. */
  failCommandsFor(managementId: string): void {
    this.failing.add(managementId);
  }

  expireTokens(): void {
    for (const t of this.tokens.values()) t.exp = 0;
  }

  /** Privileges of the API client's role (Basic-account tokens keep every privilege). */
  setPrivileges(privileges: readonly string[] = JAMF_PRIVILEGES): void {
    this.privileges = new Set(privileges);
  }

  // ---- routing ----

  protected handle(req: LabRequest): LabResponse {
    if (req.method === 'POST' && req.path === '/api/oauth/token') return this.oauthToken(req);
    if (req.method === 'POST' && req.path === '/api/v1/auth/token') return this.basicToken(req);
    if (!req.path.startsWith('/api/')) return jerr(404, 'NOT_FOUND', 'Not Found');
    const token = bearer(req.headers);
    const t = token === undefined ? undefined : this.tokens.get(token);
    if (t === undefined || t.exp <= Date.now()) return jerr(401, 'INVALID_TOKEN', 'Unauthorized');
    const can = (p: string) => !t.apiClient || this.privileges.has(p);
    if (req.method === 'POST' && req.path === '/api/v1/auth/invalidate-token') {
      this.tokens.delete(token!);
      return { status: 204 };
    }

    let m: RegExpExecArray | null;
    if (req.method === 'GET' && req.path === '/api/v1/computers-inventory') {
      return can('Read Computers') ? this.listComputers(req) : forbidden();
    }
    if (req.method === 'GET' && (m = /^\/api\/v1\/computers-inventory\/([^/]+)$/.exec(req.path))) {
      if (!can('Read Computers')) return forbidden();
      const c = this.opts.computers.find((x) => x.id === decodeURIComponent(m![1]!));
      const sections = this.sections(req);
      if (!(sections instanceof Set)) return sections;
      return c ? { status: 200, body: computerView(c, sections) } : jerr(404, 'INVALID_ID', `Computer with id ${m[1]} does not exist`, 'id');
    }
    if (req.method === 'GET' && req.path === '/api/v2/mobile-devices') {
      return can('Read Mobile Devices') ? this.listMobile(req) : forbidden();
    }
    if (req.method === 'GET' && (m = /^\/api\/v2\/mobile-devices\/([^/]+)(\/detail)?$/.exec(req.path))) {
      if (!can('Read Mobile Devices')) return forbidden();
      const d = this.opts.mobileDevices.find((x) => x.id === decodeURIComponent(m![1]!));
      if (d === undefined) return jerr(404, 'INVALID_ID', `Mobile device with id ${m[1]} does not exist`, 'id');
      return { status: 200, body: m[2] ? mobileDetail(d) : mobileSummary(d) };
    }
    if (req.path === '/api/v2/mdm/commands') {
      if (req.method === 'GET') return can('View MDM command information in Jamf Pro API') ? this.listCommands(req) : forbidden();
      if (req.method === 'POST') return this.postCommand(req, can);
    }
    return jerr(404, 'NOT_FOUND', `No endpoint ${req.method} ${req.path}`);
  }

  // ---- auth ----

  private issue(apiClient: boolean): { token: string; exp: number } {
    const token = randomBytes(32).toString('base64url');
    const exp = Date.now() + (this.opts.tokenLifetimeMs ?? 1_800_000);
    this.tokens.set(token, { exp, apiClient });
    return { token, exp };
  }

  private oauthToken(req: LabRequest): LabResponse {
    if (!String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'Content type must be application/x-www-form-urlencoded' } };
    }
    const f = new URLSearchParams(req.body);
    if (f.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
    // Jamf answers an unknown client or a wrong secret alike [unverified body].
    if (f.get('client_id') !== this.opts.clientId || f.get('client_secret') !== this.opts.clientSecret) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    }
    const { token } = this.issue(true);
    const secs = Math.max(1, Math.round((this.opts.tokenLifetimeMs ?? 1_800_000) / 1000));
    return { status: 200, body: { access_token: token, scope: 'api-role:1', token_type: 'Bearer', expires_in: secs } };
  }

  private basicToken(req: LabRequest): LabResponse {
    const h = req.headers.authorization;
    const creds = typeof h === 'string' && h.startsWith('Basic ') ? Buffer.from(h.slice(6), 'base64').toString('utf8') : '';
    const i = creds.indexOf(':');
    const user = creds.slice(0, i);
    if (i < 0 || this.opts.accounts?.[user] === undefined || this.opts.accounts[user] !== creds.slice(i + 1)) {
      return { status: 401, body: { httpStatus: 401, errors: [] } };
    }
    const { token, exp } = this.issue(false);
    return { status: 200, body: { token, expires: new Date(exp).toISOString() } };
  }

  // ---- inventory ----

  /** Requested sections (GENERAL when none), or a 400 for an unknown one. */
  private sections(req: LabRequest): Set<string> | LabResponse {
    const s = req.query.getAll('section').flatMap((v) => v.split(',')).map((v) => v.trim().toUpperCase()).filter((v) => v !== '');
    const bad = s.find((v) => !COMPUTER_SECTIONS.includes(v));
    if (bad !== undefined) return jerr(400, 'INVALID_FIELD', `Invalid section: ${bad}`, 'section');
    return new Set(s.length === 0 ? ['GENERAL'] : s);
  }

  private listComputers(req: LabRequest): LabResponse {
    const sections = this.sections(req);
    if (!(sections instanceof Set)) return sections;
    const fields = (c: JamfSimComputer): Record<string, string | undefined> => ({
      id: c.id, udid: c.udid, 'general.name': c.name, 'general.managementId': c.managementId, 'general.lastContactTime': c.lastContactTime,
      'hardware.serialNumber': c.serialNumber, 'hardware.model': c.model, 'userAndLocation.username': c.username,
      'userAndLocation.email': c.email, 'userAndLocation.realname': c.realname, 'operatingSystem.version': c.osVersion,
    });
    const known = new Set(Object.keys(fields(this.opts.computers[0] ?? { id: '', name: '', serialNumber: '', managementId: '' })));
    return this.page(req, this.opts.computers, (c, f) => fields(c)[f], known, (c) => computerView(c, sections));
  }

  private listMobile(req: LabRequest): LabResponse {
    const get = (d: JamfSimMobileDevice, f: string) => (mobileSummary(d) as Record<string, unknown>)[f];
    return this.page(req, this.opts.mobileDevices, (d, f) => {
      const v = get(d, f);
      return typeof v === 'string' ? v : undefined;
    }, MOBILE_FILTER_FIELDS, (d) => mobileSummary(d));
  }

  private listCommands(req: LabRequest): LabResponse {
    if ((req.query.get('filter') ?? '').trim() === '') {
      return jerr(400, 'INVALID_FILTER', 'All url must contain minimum one filter field', 'filter');
    }
    const views = this.commands.map((c) => this.commandView(c));
    const field = (v: Json, f: string): string | undefined => {
      const client = v.client as Json;
      const map: Record<string, unknown> = {
        uuid: v.uuid, clientManagementId: client.managementId, clientType: client.clientType, command: v.commandType,
        status: v.commandState, dateSent: v.dateSent, dateCompleted: v.dateCompleted, active: String(v.commandState === 'PENDING'),
      };
      return typeof map[f] === 'string' ? (map[f] as string) : undefined;
    };
    // status==Pending matches PENDING: compared case-insensitively like every string filter here.
    return this.page(req, views, field, COMMAND_FILTER_FIELDS, (v) => v, 'dateSent:asc');
  }

  /** Filter (RSQL), sort and page a collection into Jamf's `{totalCount, results}`. */
  private page<T>(req: LabRequest, items: T[], get: (item: T, field: string) => string | undefined, fields: Set<string>, view: (item: T) => Json, defaultSort = 'id:asc'): LabResponse {
    const page = Number(req.query.get('page') ?? '0');
    const size = Number(req.query.get('page-size') ?? '100');
    if (!Number.isInteger(page) || page < 0) return jerr(400, 'INVALID_FIELD', 'page must be a non-negative integer', 'page');
    if (!Number.isInteger(size) || size < 1 || size > 2000) return jerr(400, 'INVALID_FIELD', 'page-size must be between 1 and 2000', 'page-size');
    let selected = items;
    const filter = req.query.get('filter');
    if (filter !== null && filter.trim() !== '') {
      let node: RsqlNode;
      try {
        node = parseRsql(filter);
      } catch (err) {
        return jerr(400, 'INVALID_RSQL_FILTER', `Invalid RSQL filter: ${(err as RsqlError).message}`, 'filter');
      }
      const bad = rsqlFields(node).find((f) => !fields.has(f));
      if (bad !== undefined) return jerr(400, 'INVALID_RSQL_FILTER_FIELD', `Invalid filter field: ${bad}`, 'filter');
      selected = items.filter((it) => evalRsql(node, (f) => get(it, f) ?? ''));
    }
    const [sortField, dir] = (req.query.get('sort') ?? defaultSort).split(':');
    const key = sortField === 'id' ? (it: T) => (get(it, 'id') ?? '').padStart(12, '0') : (it: T) => get(it, sortField ?? '') ?? '';
    if (sortField !== 'id' && !fields.has(sortField ?? '')) return jerr(400, 'INVALID_FIELD', `Invalid sort field: ${sortField}`, 'sort');
    selected = [...selected].sort((a, b) => key(a).localeCompare(key(b)) * (dir?.toLowerCase() === 'desc' ? -1 : 1));
    return { status: 200, body: { totalCount: selected.length, results: selected.slice(page * size, page * size + size).map(view) } };
  }

  // ---- MDM commands ----

  private postCommand(req: LabRequest, can: (p: string) => boolean): LabResponse {
    let body: { clientData?: unknown; commandData?: unknown };
    try {
      body = JSON.parse(req.body) as typeof body;
    } catch {
      return jerr(400, 'INVALID_JSON', 'Request body is not valid JSON');
    }
    const clients = Array.isArray(body.clientData) ? (body.clientData as unknown[]) : [];
    if (clients.length === 0) return jerr(400, 'INVALID_FIELD', 'clientData must not be empty', 'clientData');
    const data = (body.commandData ?? {}) as Json;
    const type = data.commandType;
    if (typeof type !== 'string' || COMMAND_PRIVILEGE[type] === undefined) {
      return jerr(400, 'INVALID_FIELD', `Unsupported commandType: ${String(type)}`, 'commandData.commandType');
    }
    if (data.pin !== undefined && (typeof data.pin !== 'string' || !/^\d{6}$/.test(data.pin))) {
      return jerr(400, 'INVALID_FIELD', 'pin must be 6 digits', 'commandData.pin');
    }
    const targets: Array<{ managementId: string; clientType: 'COMPUTER' | 'MOBILE_DEVICE' }> = [];
    for (const [i, c] of clients.entries()) {
      const id = (c as Json | null)?.managementId;
      const clientType = this.opts.mobileDevices.some((d) => d.managementId === id) ? 'MOBILE_DEVICE'
        : this.opts.computers.some((d) => d.managementId === id) ? 'COMPUTER' : undefined;
      if (typeof id !== 'string' || clientType === undefined) {
        return jerr(400, 'INVALID_MANAGEMENT_ID', `No client with management id ${String(id)}`, `clientData[${i}].managementId`);
      }
      if (!can(COMMAND_PRIVILEGE[type]![clientType])) return forbidden();
      targets.push({ managementId: id, clientType });
    }
    const origin = typeof req.headers.host === 'string' ? `http://${req.headers.host}` : this.url;
    const created = targets.map((t) => {
      const cmd: JamfSimCommand = { uuid: randomUUID(), ...t, commandType: type, sentAt: Date.now(), commandData: data, fails: this.failing.has(t.managementId) };
      this.commands.push(cmd);
      return { id: cmd.uuid, href: `${origin}/api/v2/mdm/commands?filter=uuid%3D%3D%22${cmd.uuid}%22` };
    });
    return { status: 201, body: created };
  }

  /** State is computed on read: the device "answers" commandAckAfterMs after the command was sent. */
  private commandView(c: JamfSimCommand): Json {
    const doneAt = c.sentAt + (this.opts.commandAckAfterMs ?? 50);
    const done = Date.now() >= doneAt;
    const state = !done ? 'PENDING' : c.fails ? 'ERROR' : 'ACKNOWLEDGED';
    const v: Json = {
      uuid: c.uuid, dateSent: new Date(c.sentAt).toISOString(), dateCompleted: done ? new Date(doneAt).toISOString() : null,
      client: { managementId: c.managementId, clientType: c.clientType }, commandState: state, commandType: c.commandType,
    };
    if (state === 'ERROR') v.commandError = { errorCode: 12021, errorDomain: 'MCMDMErrorDomain', errorLocalizedDescription: 'The device refused the command.', errorEnglishDescription: 'The device refused the command.' };
    return v;
  }
}

function computerView(c: JamfSimComputer, sections: Set<string>): Json {
  const all: Record<string, [string, Json]> = {
    GENERAL: ['general', { name: c.name, lastIpAddress: null, lastContactTime: c.lastContactTime ?? null, platform: 'Mac', managementId: c.managementId, remoteManagement: { managed: true }, supervised: false, mdmCapable: { capable: true } }],
    HARDWARE: ['hardware', { make: 'Apple', model: c.model ?? null, modelIdentifier: c.modelIdentifier ?? null, serialNumber: c.serialNumber }],
    USER_AND_LOCATION: ['userAndLocation', { username: c.username ?? null, realname: c.realname ?? null, email: c.email ?? null, position: null, phone: null }],
    OPERATING_SYSTEM: ['operatingSystem', { name: 'macOS', version: c.osVersion ?? null, build: null }],
  };
  const out: Json = { id: c.id, udid: c.udid ?? null };
  // Sections that were not asked for come back null.
  for (const s of COMPUTER_SECTIONS) {
    const [key, value] = all[s] ?? [s.toLowerCase().replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase()), {}];
    out[key] = sections.has(s) ? value : null;
  }
  return out;
}

function mobileSummary(d: JamfSimMobileDevice): Json {
  return {
    id: d.id, name: d.name, serialNumber: d.serialNumber, wifiMacAddress: null, udid: d.udid ?? null, phoneNumber: null,
    model: d.model ?? null, modelIdentifier: d.modelIdentifier ?? null, username: d.username ?? null, type: 'ios',
    managementId: d.managementId, osVersion: d.osVersion ?? null, lastInventoryUpdateDate: d.lastInventoryUpdateDate ?? null,
  };
}

function mobileDetail(d: JamfSimMobileDevice): Json {
  return {
    id: d.id, name: d.name, serialNumber: d.serialNumber, udid: d.udid ?? null, wifiMacAddress: null, osVersion: d.osVersion ?? null,
    type: 'ios', managementId: d.managementId, managed: true, supervised: d.supervised ?? false,
    lastInventoryUpdateTimestamp: d.lastInventoryUpdateDate ?? null,
    location: { username: d.username ?? null, realName: d.realName ?? null, emailAddress: d.email ?? null, position: null, phoneNumber: null },
    ios: { model: d.model ?? null, modelIdentifier: d.modelIdentifier ?? null, capacityMb: 128_000, availableMb: 64_000 },
  };
}

/** Jamf Pro API error envelope `{httpStatus, errors:[{code, description, id, field}]}` [unverified]. */
function jerr(status: number, code: string, description: string, field: string | null = null): LabResponse {
  return { status, body: { httpStatus: status, errors: [{ code, description, id: '0', field }] } };
}

function forbidden(): LabResponse {
  return jerr(403, 'INVALID_PRIVILEGE', 'Forbidden');
}
