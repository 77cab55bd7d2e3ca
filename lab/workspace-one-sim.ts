/**
 * Workspace ONE UEM (Omnissa, formerly VMware AirWatch) REST API simulator, MDM v1 device
 * endpoints: lookup by alternate id, paged search, device by id, and device commands (DeviceWipe,
 * EnterpriseWipe, Lock, …) answered 202 with an empty body and applied asynchronously.
 * Shapes follow VENDOR-APIS.md §8 and the UEM API's generated client docs (search: 0-based `page`,
 * `pagesize` capped at 500; EnrollmentStatus Enrolled / EnterpriseWipePending / DeviceWipePending /
 * Unenrolled). [unverified]: the error messages, 204 for an empty search, the 404 body of a lookup,
 * whether OAuth callers must still send aw-tenant-code (here they must), and the whole of
 * `GET /API/mdm/devices/{id}/commands`, which this simulator defines as
 * `{DeviceCommands:[{CommandUuid, CommandName, Status: Pending|Completed, QueuedOn, CompletedOn}], Page, PageSize, Total}`.
 *
 * Test helpers: `wipeCount(id)`, `enterpriseWipeCount(id)`, `lockCount(id)`, `commandsFor(id)`,
 * `expireTokens()`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LabServer, bearer, type LabRequest, type LabResponse } from './lab-server.js';

export interface Ws1SimDevice {
  id: number;
  friendlyName: string;
  serialNumber: string;
  udid: string;
  reportedName?: string;
  macAddress?: string;
  imei?: string;
  userName?: string;
  userEmail?: string;
  /** Apple, AppleOsX, Android, WinRT… */
  platform?: string;
  model?: string;
  osVersion?: string;
  lastSeen?: string;
  complianceStatus?: string;
  enrollmentStatus?: string;
}

export interface Ws1SimOptions {
  /** The REST API key sent as aw-tenant-code. */
  tenantCode: string;
  /** Admin accounts for Basic auth. */
  accounts: Record<string, string>;
  /** OAuth clients of the token endpoint served at /connect/token. */
  oauthClients?: Record<string, string>;
  devices: Ws1SimDevice[];
  /** A queued command completes this long after it was sent (default 50 ms). */
  commandCompletesAfterMs?: number;
  tokenLifetimeMs?: number;
}

export interface Ws1SimCommand {
  uuid: string;
  deviceId: number;
  name: string;
  queuedAt: number;
}

type Json = Record<string, unknown>;

const COMMANDS = new Set(['DeviceWipe', 'EnterpriseWipe', 'Lock', 'SyncDevice', 'DeviceQuery', 'ClearPasscode', 'SoftReset', 'Shutdown']);
const SEARCHBY: Record<string, (d: Ws1SimDevice) => string | undefined> = {
  serialnumber: (d) => d.serialNumber, macaddress: (d) => d.macAddress, udid: (d) => d.udid, imeinumber: (d) => d.imei, deviceid: (d) => String(d.id),
};
const PLATFORM_IDS: Record<string, number> = { Apple: 2, Android: 5, AppleOsX: 10, WinRT: 12 };
const MAX_PAGE_SIZE = 500;
const NOT_FOUND_OR_UNENROLLED = 'Devices provided in the input could not be found or not enrolled or user does not have access.';

/** UEM's v1 timestamps carry no zone (UTC in SaaS tenants [unverified]). */
export function ws1Date(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '');
}

export class WorkspaceOneSimulator extends LabServer {
  readonly name = 'Workspace ONE UEM';
  private readonly opts: Ws1SimOptions;
  private readonly tokens = new Map<string, number>();
  private readonly commands: Ws1SimCommand[] = [];

  constructor(opts: Ws1SimOptions) {
    super();
    this.opts = opts;
  }

  /** The lab organisation, with the same people, device names and serials as the Intune seed. */
  static demoSeed(): Ws1SimOptions {
    const ago = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    return {
      tenantCode: 'lab-ws1-tenant-code',
      accounts: { 'soc-api': 'lab-ws1-password' },
      oauthClients: { 'riposte-lab': 'lab-ws1-client-secret' },
      devices: [
        { id: 15, friendlyName: 'JDOE-IPHONE', serialNumber: 'F2LXK3ABHG7F', udid: '00008110-001A2B3C4D5E801E', macAddress: 'A4C3F0851B2C', imei: '356728112345678', userName: 'jdoe', userEmail: 'jdoe@contoso.example', platform: 'Apple', model: 'iPhone 14', osVersion: '17.5.1', lastSeen: ago(1) },
        { id: 16, friendlyName: 'ASMITH-PIXEL', serialNumber: '3A281FDH200ABC', udid: 'c7d4a1f0e2b3948576a1b2c3d4e5f607', macAddress: '5C8D4E21A9F0', imei: '353918101234567', userName: 'asmith', userEmail: 'asmith@contoso.example', platform: 'Android', model: 'Pixel 8', osVersion: '14', lastSeen: ago(2) },
        { id: 17, friendlyName: 'JDOE-LT01', serialNumber: 'PF3A9K2L', udid: '4C4C4544-0051-3010-8052-B4C04F4B3232', macAddress: '8C8CAA112233', userName: 'jdoe', userEmail: 'jdoe@contoso.example', platform: 'WinRT', model: 'ThinkPad T14 Gen 4', osVersion: '10.0.22631', lastSeen: ago(5) },
        { id: 18, friendlyName: 'BWONG-GALAXY', serialNumber: 'R58T12ABCDE', udid: '9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b', macAddress: 'F0EE10A1B2C3', userName: 'bwong', userEmail: 'bwong@contoso.example', platform: 'Android', model: 'SM-S918B', osVersion: '14', lastSeen: ago(30), complianceStatus: 'NonCompliant' },
      ],
    };
  }

  // ---- test helpers ----

  commandsFor(deviceId: number, name?: string): Ws1SimCommand[] {
    return this.commands.filter((c) => c.deviceId === deviceId && (name === undefined || c.name === name));
  }

  wipeCount(deviceId: number): number {
    return this.commandsFor(deviceId, 'DeviceWipe').length;
  }

  enterpriseWipeCount(deviceId: number): number {
    return this.commandsFor(deviceId, 'EnterpriseWipe').length;
  }

  lockCount(deviceId: number): number {
    return this.commandsFor(deviceId, 'Lock').length;
  }

  expireTokens(): void {
    for (const t of this.tokens.keys()) this.tokens.set(t, 0);
  }

  /** The device as the API returns it now. */
  device(id: number): Json | undefined {
    const d = this.opts.devices.find((x) => x.id === id);
    return d === undefined ? undefined : this.view(d);
  }

  // ---- routing ----

  protected handle(req: LabRequest): LabResponse {
    if (req.method === 'POST' && req.path === '/connect/token') return this.token(req);
    if (!req.path.toLowerCase().startsWith('/api/')) return werr(404, 404, 'Resource not found.');
    const denied = this.authenticate(req);
    if (denied) return denied;
    const out = this.route(req, req.path.slice('/api/mdm/'.length).split('/'));
    const accept = String(req.headers.accept ?? '');
    // Without Accept: application/json, UEM answers in XML.
    if (out.body !== undefined && typeof out.body === 'object' && !accept.includes('json')) {
      return { status: out.status, headers: { 'content-type': 'application/xml; charset=utf-8' }, body: toXml(out.status < 400 ? 'Device' : 'Error', out.body as Json) };
    }
    return out;
  }

  private authenticate(req: LabRequest): LabResponse | undefined {
    if (req.headers['aw-tenant-code'] !== this.opts.tenantCode) return werr(401, 1013, 'Invalid tenant code.');
    const token = bearer(req.headers);
    if (token !== undefined) {
      const exp = this.tokens.get(token);
      return exp !== undefined && exp > Date.now() ? undefined : werr(401, 1005, 'Invalid or expired access token.');
    }
    const h = req.headers.authorization;
    const creds = typeof h === 'string' && h.startsWith('Basic ') ? Buffer.from(h.slice(6), 'base64').toString('utf8') : '';
    const i = creds.indexOf(':');
    const user = creds.slice(0, i);
    if (i < 0 || this.opts.accounts[user] === undefined || this.opts.accounts[user] !== creds.slice(i + 1)) {
      return werr(401, 1005, 'User credentials are invalid.');
    }
    return undefined;
  }

  private route(req: LabRequest, segs: string[]): LabResponse {
    if (!req.path.toLowerCase().startsWith('/api/mdm/devices')) return werr(404, 404, 'Resource not found.');
    const [first, second, third] = [segs[0]?.toLowerCase(), segs[1], segs[2]?.toLowerCase()];
    if (first !== 'devices') return werr(404, 404, 'Resource not found.');
    if (req.method === 'GET' && second === undefined) return this.lookup(req);
    if (req.method === 'GET' && second?.toLowerCase() === 'search' && third === undefined) return this.search(req);
    if (second === undefined || !/^\d+$/.test(second)) return werr(400, 400, 'The request is invalid.');
    const d = this.opts.devices.find((x) => x.id === Number(second));
    if (req.method === 'GET' && third === undefined) return d ? { status: 200, body: this.view(d) } : werr(404, 404, 'Device not found.');
    if (third === 'commands' && req.method === 'POST') return this.command(req, d);
    if (third === 'commands' && req.method === 'GET') return d ? this.listCommands(req, d) : werr(404, 404, 'Device not found.');
    return werr(404, 404, 'Resource not found.');
  }

  // ---- auth ----

  private token(req: LabRequest): LabResponse {
    const f = new URLSearchParams(req.body);
    if (f.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
    const id = f.get('client_id') ?? '';
    if (this.opts.oauthClients?.[id] === undefined || this.opts.oauthClients[id] !== f.get('client_secret')) {
      return { status: 400, body: { error: 'invalid_client' } };
    }
    const token = randomBytes(32).toString('base64url');
    const lifetime = this.opts.tokenLifetimeMs ?? 3_600_000;
    this.tokens.set(token, Date.now() + lifetime);
    return { status: 200, body: { access_token: token, expires_in: Math.max(1, Math.round(lifetime / 1000)), token_type: 'Bearer', scope: 'api' } };
  }

  // ---- devices ----

  private lookup(req: LabRequest): LabResponse {
    const by = (req.query.get('searchby') ?? req.query.get('searchBy') ?? '').toLowerCase();
    const id = req.query.get('id') ?? '';
    const get = SEARCHBY[by];
    if (get === undefined || id === '') return werr(400, 400, 'searchby must be one of Macaddress, Udid, Serialnumber, ImeiNumber, DeviceId, and id is required.');
    const norm = (s: string) => (by === 'macaddress' ? s.replace(/[:-]/g, '') : s).toLowerCase();
    const d = this.opts.devices.find((x) => norm(get(x) ?? '') === norm(id));
    return d ? { status: 200, body: this.view(d) } : werr(404, 404, 'Device not found.');
  }

  private search(req: LabRequest): LabResponse {
    const user = req.query.get('user');
    const model = req.query.get('model');
    const platform = req.query.get('platform');
    const page = Number(req.query.get('page') ?? '0');
    const size = Math.min(Number(req.query.get('pagesize') ?? String(MAX_PAGE_SIZE)), MAX_PAGE_SIZE);
    if (!Number.isInteger(page) || page < 0 || !Number.isInteger(size) || size < 1) return werr(400, 400, 'Invalid page or pagesize.');
    const eq = (a: string | undefined, b: string | null) => b === null || b === '' || (a ?? '').toLowerCase() === b.toLowerCase();
    const all = this.opts.devices.filter((d) => eq(d.userName, user) && eq(d.model, model) && eq(d.platform, platform)).sort((a, b) => a.id - b.id);
    // UEM answers 204 No Content, not an empty list, when nothing matches [3p scripts].
    if (all.length === 0) return { status: 204 };
    return { status: 200, body: { Devices: all.slice(page * size, page * size + size).map((d) => this.view(d)), Page: page, PageSize: size, Total: all.length } };
  }

  private view(d: Ws1SimDevice): Json {
    const uid = 1000 + d.id;
    return {
      Id: { Value: d.id }, Uuid: uuidFor(`device-${d.id}`), Udid: d.udid, SerialNumber: d.serialNumber, MacAddress: d.macAddress ?? '', Imei: d.imei ?? '',
      EasId: '', AssetNumber: d.udid, DeviceFriendlyName: d.friendlyName, DeviceReportedName: d.reportedName ?? d.friendlyName,
      LocationGroupId: { Id: { Value: 570 }, Name: 'Contoso', Uuid: uuidFor('og-570') }, LocationGroupName: 'Contoso',
      UserId: { Id: { Value: uid }, Name: d.userName ?? '', Uuid: uuidFor(`user-${uid}`) }, UserName: d.userName ?? '', UserEmailAddress: d.userEmail ?? '',
      Ownership: 'C', PlatformId: { Id: { Value: PLATFORM_IDS[d.platform ?? ''] ?? 0 }, Name: d.platform ?? '' }, Platform: d.platform ?? '',
      ModelId: { Id: { Value: 1 }, Name: d.model ?? '' }, Model: d.model ?? '', OperatingSystem: d.osVersion ?? '', PhoneNumber: '',
      LastSeen: d.lastSeen === undefined ? null : ws1Date(Date.parse(d.lastSeen)), EnrollmentStatus: this.enrollmentStatus(d),
      ComplianceStatus: d.complianceStatus ?? 'Compliant', CompromisedStatus: false, IsSupervised: d.platform === 'Apple',
      DataProtectionStatus: 0, IsDeviceDNDEnabled: false, IsDeviceLocatorEnabled: false, IsCloudBackupEnabled: false,
    };
  }

  /** Computed on read: a wipe is pending until it completes, then the device is unenrolled. */
  private enrollmentStatus(d: Ws1SimDevice): string {
    const wipe = this.commands.filter((c) => c.deviceId === d.id && (c.name === 'DeviceWipe' || c.name === 'EnterpriseWipe')).at(-1);
    if (wipe === undefined) return d.enrollmentStatus ?? 'Enrolled';
    if (!this.completed(wipe)) return `${wipe.name}Pending`;
    return 'Unenrolled';
  }

  private completed(c: Ws1SimCommand): boolean {
    return Date.now() >= c.queuedAt + (this.opts.commandCompletesAfterMs ?? 50);
  }

  private command(req: LabRequest, d: Ws1SimDevice | undefined): LabResponse {
    const name = req.query.get('command') ?? '';
    const canonical = [...COMMANDS].find((c) => c.toLowerCase() === name.toLowerCase());
    if (canonical === undefined) return werr(400, 400, `Invalid command '${name}'.`);
    if (d === undefined || this.enrollmentStatus(d) === 'Unenrolled') return werr(404, 404, NOT_FOUND_OR_UNENROLLED);
    this.commands.push({ uuid: randomUUID(), deviceId: d.id, name: canonical, queuedAt: Date.now() });
    return { status: 202 };
  }

  private listCommands(req: LabRequest, d: Ws1SimDevice): LabResponse {
    const page = Number(req.query.get('page') ?? '0');
    const size = Math.min(Number(req.query.get('pagesize') ?? String(MAX_PAGE_SIZE)), MAX_PAGE_SIZE);
    if (!Number.isInteger(page) || page < 0 || !Number.isInteger(size) || size < 1) return werr(400, 400, 'Invalid page or pagesize.');
    const all = this.commandsFor(d.id).sort((a, b) => b.queuedAt - a.queuedAt).map((c) => {
      const done = this.completed(c);
      const doneAt = c.queuedAt + (this.opts.commandCompletesAfterMs ?? 50);
      return { CommandUuid: c.uuid, CommandName: c.name, Status: done ? 'Completed' : 'Pending', QueuedOn: ws1Date(c.queuedAt), CompletedOn: done ? ws1Date(doneAt) : null };
    });
    return { status: 200, body: { DeviceCommands: all.slice(page * size, page * size + size), Page: page, PageSize: size, Total: all.length } };
  }
}

/** UEM's error body `{errorCode, message, activityId}`. */
function werr(status: number, errorCode: number, message: string): LabResponse {
  return { status, body: { errorCode, message, activityId: randomUUID() } };
}

function uuidFor(seed: string): string {
  const h = Buffer.from(seed.padEnd(16, '#').slice(0, 16)).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function toXml(root: string, body: Json): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const node = (k: string, v: unknown): string => {
    if (v === null || v === undefined) return `<${k} />`;
    if (Array.isArray(v)) return `<${k}>${v.map((x) => node('Item', x)).join('')}</${k}>`;
    if (typeof v === 'object') return `<${k}>${Object.entries(v as Json).map(([kk, vv]) => node(kk, vv)).join('')}</${k}>`;
    return `<${k}>${esc(String(v))}</${k}>`;
  };
  return `<?xml version="1.0" encoding="utf-8"?>${node(root, body).replace(`<${root}>`, `<${root} xmlns="http://www.air-watch.com/servicemodel/resources">`)}`;
}
