/**
 * Lab simulator of the PAN-OS XML API (`/api/`): keygen, config set/delete/get/show on a
 * candidate config, asynchronous commit jobs that copy a snapshot of the candidate into the
 * running config, job polling, system info, and User-ID tag register/unregister (DAG blocking).
 * Errors come back as HTTP 200 with `status="error"`, as on a real firewall, except auth (403).
 */
import { isIP } from 'node:net';
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';
import {
  childElements, cloneXml, escapeXml, findPath, firstChild, parseXml, parseXmlFragment, serializeXml, textOf,
  XmlParseError, type XmlElement,
} from '../src/apps/panos/xml.js';
import {
  danglingReferences, ensure, kids, merge, PanosApiError, parseXpath, referencesTo, remove, resolve, validateVsys, type XpathStep,
} from './panos-config.js';

export interface PanosSimOptions {
  /** Accounts accepted by keygen (default admin/admin). */
  users?: Record<string, string>;
  /** Extra API keys accepted as-is. */
  apiKeys?: string[];
  /** How long a commit job stays ACT before finishing (default 30 ms). */
  commitDelayMs?: number;
  vsys?: string[];
  /** Address group consulted by isBlocked/blockCount (default 'riposte-block'). */
  blockGroup?: string;
  hostname?: string;
  swVersion?: string;
}

interface Job {
  id: number;
  user: string;
  enqueuedAt: number;
  finishAt: number;
  snapshot: XmlElement;
  forcedFailure?: string;
  status: 'ACT' | 'FIN';
  result: 'PEND' | 'OK' | 'FAIL';
  details: string[];
}

const DEVICE = "/config/devices/entry[@name='localhost.localdomain']";
const XML_HEADERS = { 'content-type': 'application/xml; charset=UTF-8' };

function ok(inner = '', code?: number): LabResponse {
  const c = code === undefined ? '' : ` code="${code}"`;
  return { status: 200, headers: XML_HEADERS, body: `<response status="success"${c}>${inner}</response>` };
}

function errorResponse(e: PanosApiError): LabResponse {
  const msg = e.httpStatus === 200 ? `<msg><line>${escapeXml(e.message)}</line></msg>` : `<result><msg>${escapeXml(e.message)}</msg></result>`;
  return { status: e.httpStatus, headers: XML_HEADERS, body: `<response status="error" code="${e.code}">${msg}</response>` };
}

function normalizeIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function parseOrThrow(src: string, code: number): XmlElement {
  try {
    return parseXml(src);
  } catch (err) {
    if (err instanceof XmlParseError) throw new PanosApiError(code, `Malformed Request: ${err.message}`);
    throw err;
  }
}

export class PanosSimulator extends LabServer {
  readonly name = 'PAN-OS';
  readonly opts: Required<PanosSimOptions>;
  candidate: XmlElement;
  running: XmlElement;
  private readonly jobs = new Map<number, Job>();
  private nextJobId = 1;
  private keyGeneration = 1;
  private keygens = 0;
  private pendingFailure: string | undefined;
  /** One entry per successful `set` that put an IP into the block group. */
  private readonly blockSets: string[] = [];
  /** ip → tag → expiry (ms epoch, or null for none). */
  private readonly registered = new Map<string, Map<string, number | null>>();

  constructor(opts: PanosSimOptions = {}) {
    super();
    this.opts = {
      users: opts.users ?? { admin: 'admin' }, apiKeys: opts.apiKeys ?? [], commitDelayMs: opts.commitDelayMs ?? 30,
      vsys: opts.vsys ?? ['vsys1'], blockGroup: opts.blockGroup ?? 'riposte-block',
      hostname: opts.hostname ?? 'lab-fw', swVersion: opts.swVersion ?? '10.2.4',
    };
    const vsys = this.opts.vsys.map((v) => `<entry name="${escapeXml(v)}"/>`).join('');
    this.candidate = parseXml(`<config><devices><entry name="localhost.localdomain"><vsys>${vsys}</vsys></entry></devices></config>`);
    this.running = cloneXml(this.candidate);
  }

  // ---- test helpers ----

  /** The API key keygen hands out for `user` right now. */
  keyFor(user: string): string {
    return `LUFRPT${Buffer.from(`${user}:${this.keyGeneration}`).toString('base64url')}`;
  }
  /** Invalidates every keygen-issued key (like a master-key or password change). */
  rotateKeys(): void {
    this.keyGeneration++;
  }
  keygenCount(): number {
    return this.keygens;
  }
  /** Is `ip` a member (via its address object) of the block group in the running config? */
  isBlocked(ip: string, vsys = this.opts.vsys[0]!): boolean {
    this.tick();
    return this.groupIps(this.running, vsys, this.opts.blockGroup).includes(normalizeIp(ip));
  }
  /** Blocked by either mechanism: in the static block group, or tagged with the DAG block tag. */
  isIpBlocked(ip: string, tag = 'riposte-block'): boolean {
    return this.isBlocked(ip) || this.registeredTags(ip).includes(tag);
  }
  /** Number of successful `set` requests that put `ip` into the block group. */
  blockCount(ip: string): number {
    return this.blockSets.filter((x) => x === normalizeIp(ip)).length;
  }
  commitCount(): number {
    return this.jobs.size;
  }
  /** The next commit job finishes with result FAIL and these details. */
  failNextCommit(details = 'Commit failed: simulated failure'): void {
    this.pendingFailure = details;
  }
  /** Unexpired User-ID tags registered for `ip`. */
  registeredTags(ip: string): string[] {
    this.purgeExpired();
    return [...(this.registered.get(normalizeIp(ip))?.keys() ?? [])];
  }
  /** Seconds until `tag` on `ip` expires: null when it never does, undefined when not registered. */
  tagTimeoutLeft(ip: string, tag: string): number | null | undefined {
    this.purgeExpired();
    const exp = this.registered.get(normalizeIp(ip))?.get(tag);
    return exp === undefined ? undefined : exp === null ? null : (exp - Date.now()) / 1000;
  }

  // ---- request handling ----

  protected handle(req: LabRequest): LabResponse {
    if (req.path !== '/api/' && req.path !== '/api') return { status: 404, body: 'Not Found' };
    this.tick();
    const p = new URLSearchParams(req.query);
    if (req.method === 'POST') for (const [k, v] of new URLSearchParams(req.body)) p.append(k, v);
    else if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    try {
      const type = p.get('type');
      if (type === 'keygen') return this.keygen(p);
      const key = (typeof req.headers['x-pan-key'] === 'string' ? req.headers['x-pan-key'] : undefined) ?? p.get('key');
      const user = key === null ? undefined : this.userForKey(key);
      if (user === undefined) throw new PanosApiError(403, 'Invalid Credential', 403);
      switch (type) {
        case 'config': return this.config(p);
        case 'commit': return this.commit(p, user);
        case 'op': return this.op(p);
        case 'user-id': return this.userId(p);
        default: throw new PanosApiError(400, `Illegal value for parameter "type" [${type ?? ''}].`, 400);
      }
    } catch (err) {
      if (err instanceof PanosApiError) return errorResponse(err);
      throw err;
    }
  }

  private keygen(p: URLSearchParams): LabResponse {
    const user = p.get('user') ?? '';
    const password = this.opts.users[user];
    if (password === undefined || password !== p.get('password')) throw new PanosApiError(403, 'Invalid Credential', 403);
    this.keygens++;
    return ok(`<result><key>${this.keyFor(user)}</key></result>`);
  }

  private userForKey(key: string): string | undefined {
    if (this.opts.apiKeys.includes(key)) return 'api';
    return Object.keys(this.opts.users).find((u) => this.keyFor(u) === key);
  }

  /** Parses and validates the xpath root; returns steps and the vsys name. */
  private xpath(p: URLSearchParams): { steps: XpathStep[]; vsys: string } {
    const xpath = p.get('xpath');
    if (xpath === null || xpath === '') throw new PanosApiError(18, 'Malformed Request: missing xpath');
    const steps = parseXpath(xpath);
    const vsys = steps[4]?.pred?.kind === 'name' ? steps[4].pred.value : '';
    const rootOk = steps[0]?.name === 'config' && steps[0].pred === undefined && steps[1]?.name === 'devices' &&
      steps[2]?.name === 'entry' && steps[2].pred?.kind === 'name' && steps[2].pred.value === 'localhost.localdomain' &&
      steps[3]?.name === 'vsys' && steps[4]?.name === 'entry' && this.opts.vsys.includes(vsys);
    if (!rootOk) throw new PanosApiError(6, 'Bad Xpath');
    return { steps, vsys };
  }

  private vsysNode(config: XmlElement, vsys: string): XmlElement | undefined {
    return resolve(config, parseXpath(`${DEVICE}/vsys/entry[@name='${vsys}']`));
  }

  private config(p: URLSearchParams): LabResponse {
    const action = p.get('action');
    const { steps, vsys } = this.xpath(p);
    if (action === 'get' || action === 'show') {
      const node = resolve(action === 'get' ? this.candidate : this.running, steps);
      if (node === undefined) {
        if (action === 'show') throw new PanosApiError(7, 'No such node');
        return ok('<result total-count="0" count="0"/>');
      }
      return ok(`<result total-count="1" count="1">${serializeXml(node)}</result>`);
    }
    if (action === 'set') {
      let fragment: XmlElement[];
      try {
        fragment = parseXmlFragment(p.get('element') ?? '');
      } catch (err) {
        if (err instanceof XmlParseError) throw new PanosApiError(18, `Malformed Request: ${err.message}`);
        throw err;
      }
      const next = cloneXml(this.candidate);
      merge(ensure(next, steps), fragment);
      validateVsys(this.vsysNode(next, vsys)!);
      this.candidate = next;
      this.noteBlockSet(steps, fragment, vsys);
      return ok('<msg>command succeeded</msg>', 20);
    }
    if (action === 'delete') {
      const node = resolve(this.candidate, steps);
      if (node === undefined) throw new PanosApiError(7, 'Object not present');
      const name = node.attrs.name;
      const parent = steps[steps.length - 2]?.name;
      if (name !== undefined && (parent === 'address' || parent === 'address-group') && steps.length === 7) {
        const refs = referencesTo(this.vsysNode(this.candidate, vsys)!, name);
        if (refs.length > 0) throw new PanosApiError(10, `${name} cannot be deleted because of references from: ${refs.join(', ')}`);
      }
      remove(this.candidate, steps);
      return ok('<msg>command succeeded</msg>', 20);
    }
    throw new PanosApiError(17, `Invalid command: config action "${action ?? ''}" is not supported by the lab`);
  }

  private noteBlockSet(steps: XpathStep[], fragment: XmlElement[], vsys: string): void {
    const group = steps[6];
    if (steps[5]?.name !== 'address-group' || group?.pred?.value !== this.opts.blockGroup) return;
    const members: string[] = [];
    const walk = (el: XmlElement): void => {
      if (el.name === 'member') members.push(textOf(el));
      else childElements(el).forEach(walk);
    };
    fragment.forEach(walk);
    if (steps[steps.length - 1]?.pred?.kind === 'text') members.push(steps[steps.length - 1]!.pred!.value);
    const addrs = kids(firstChild(this.vsysNode(this.candidate, vsys), 'address'), 'entry');
    for (const m of members) {
      const net = textOf(firstChild(addrs.find((a) => a.attrs.name === m), 'ip-netmask')).trim();
      if (net !== '') this.blockSets.push(normalizeIp(net.replace(/\/(32|128)$/, '')));
    }
  }

  private groupIps(config: XmlElement, vsys: string, group: string): string[] {
    const v = this.vsysNode(config, vsys);
    const g = kids(firstChild(v, 'address-group'), 'entry').find((e) => e.attrs.name === group);
    const names = kids(firstChild(g, 'static'), 'member').map((m) => textOf(m));
    const addrs = kids(firstChild(v, 'address'), 'entry');
    return names.flatMap((n) => {
      const net = textOf(firstChild(addrs.find((a) => a.attrs.name === n), 'ip-netmask')).trim();
      return net === '' ? [] : [normalizeIp(net.replace(/\/(32|128)$/, ''))];
    });
  }

  private commit(p: URLSearchParams, user: string): LabResponse {
    const cmd = parseOrThrow(p.get('cmd') ?? '', 18);
    if (cmd.name !== 'commit') throw new PanosApiError(17, `Invalid command: ${cmd.name}`);
    if ([...this.jobs.values()].some((j) => j.status === 'ACT')) {
      throw new PanosApiError(13, 'Another commit is in progress. Please try again later');
    }
    if (serializeXml(this.candidate) === serializeXml(this.running) && this.pendingFailure === undefined) {
      return ok('<msg>There are no changes to commit.</msg>', 19);
    }
    const now = Date.now();
    const job: Job = {
      id: this.nextJobId++, user, enqueuedAt: now, finishAt: now + this.opts.commitDelayMs, snapshot: cloneXml(this.candidate),
      status: 'ACT', result: 'PEND', details: [],
    };
    if (this.pendingFailure !== undefined) job.forcedFailure = this.pendingFailure;
    this.pendingFailure = undefined;
    this.jobs.set(job.id, job);
    return ok(`<result><msg><line>Commit job enqueued with jobid ${job.id}</line></msg><job>${job.id}</job></result>`, 19);
  }

  /** Finishes commit jobs whose delay has passed (evaluated lazily: no timers to clean up). */
  private tick(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if (job.status !== 'ACT' || now < job.finishAt) continue;
      const problems = job.forcedFailure !== undefined ? [job.forcedFailure]
        : this.opts.vsys.flatMap((v) => danglingReferences(this.vsysNode(job.snapshot, v)!));
      job.status = 'FIN';
      if (problems.length > 0) {
        job.result = 'FAIL';
        job.details = ['Validation Error:', ...problems, 'Commit failed'];
      } else {
        job.result = 'OK';
        job.details = ['Configuration committed successfully'];
        this.running = job.snapshot;
      }
    }
  }

  private op(p: URLSearchParams): LabResponse {
    const cmd = parseOrThrow(p.get('cmd') ?? '', 18);
    const sub = childElements(cmd)[0];
    if (cmd.name === 'show' && sub?.name === 'system' && firstChild(sub, 'info')) {
      return ok(`<result><system><hostname>${escapeXml(this.opts.hostname)}</hostname><ip-address>127.0.0.1</ip-address>` +
        `<model>PA-VM</model><serial>007000000000001</serial><sw-version>${escapeXml(this.opts.swVersion)}</sw-version></system></result>`);
    }
    if (cmd.name === 'show' && sub?.name === 'jobs') {
      const id = Number(textOf(firstChild(sub, 'id')).trim());
      const job = this.jobs.get(id);
      if (job === undefined) throw new PanosApiError(7, `job ${textOf(firstChild(sub, 'id')).trim()} not found`);
      return ok(`<result>${this.jobXml(job)}</result>`);
    }
    if (cmd.name === 'show' && sub?.name === 'object' && firstChild(sub, 'registered-ip')) {
      return this.showRegistered(firstChild(sub, 'registered-ip')!);
    }
    throw new PanosApiError(17, `Invalid command: ${serializeXml(cmd).slice(0, 100)}`);
  }

  private jobXml(job: Job): string {
    const progress = job.status === 'FIN' ? 100
      : Math.min(99, Math.floor(((Date.now() - job.enqueuedAt) / Math.max(1, this.opts.commitDelayMs)) * 100));
    const lines = (xs: string[]): string => xs.map((l) => `<line>${escapeXml(l)}</line>`).join('');
    return `<job><tenq>${new Date(job.enqueuedAt).toISOString()}</tenq><id>${job.id}</id><user>${escapeXml(job.user)}</user>` +
      `<type>Commit</type><status>${job.status}</status><queued>NO</queued><stoppable>no</stoppable><result>${job.result}</result>` +
      `<progress>${progress}</progress><details>${lines(job.details)}</details><warnings/></job>`;
  }

  // ---- User-ID (DAG tags) ----

  private userId(p: URLSearchParams): LabResponse {
    const msg = parseOrThrow(p.get('cmd') ?? '', 18);
    const payload = findPath(msg, 'payload');
    if (msg.name !== 'uid-message' || payload === undefined) throw new PanosApiError(18, 'Malformed Request: expected <uid-message> with <payload>');
    this.purgeExpired();
    const failures: string[] = [];
    for (const op of ['register', 'unregister'] as const) {
      for (const entry of kids(firstChild(payload, op), 'entry')) {
        const ip = entry.attrs.ip ?? '';
        if (isIP(ip) === 0) throw new PanosApiError(18, `Malformed Request: invalid ip "${ip}"`);
        const key = normalizeIp(ip);
        const tags = this.registered.get(key) ?? new Map<string, number | null>();
        const members = kids(findPath(entry, 'tag'), 'member');
        const names = op === 'unregister' && members.length === 0 ? [...tags.keys()] : members.map((m) => textOf(m));
        for (const [i, tag] of names.entries()) {
          const attr = (id: string): string => `<entry ip="${escapeXml(ip)}" message="${escapeXml(id)}"/>`;
          if (op === 'register') {
            if (tags.has(tag)) failures.push(`<register>${attr(`tag ${tag} already exists, ignore`)}</register>`);
            const timeout = Number(members[i]?.attrs.timeout ?? '0');
            tags.set(tag, timeout > 0 ? Date.now() + timeout * 1000 : null);
          } else if (!tags.delete(tag)) {
            failures.push(`<unregister>${attr(`tag ${tag} does not exist, ignore unreg`)}</unregister>`);
          }
        }
        if (tags.size > 0) this.registered.set(key, tags);
        else this.registered.delete(key);
      }
    }
    // The exact error body is unverified; the app only relies on the message suffixes.
    if (failures.length > 0) {
      return { status: 200, headers: XML_HEADERS, body: `<response status="error"><msg><line><uid-response><version>2.0</version><payload>${failures.join('')}</payload></uid-response></line></msg></response>` };
    }
    return ok('<result><uid-response><version>2.0</version><payload/></uid-response></result>');
  }

  private showRegistered(q: XmlElement): LabResponse {
    this.purgeExpired();
    const tagFilter = firstChild(findPath(q, 'tag'), 'entry')?.attrs.name;
    const ipFilter = textOf(firstChild(q, 'ip')).trim();
    const all = [...this.registered.entries()].filter(([ip, tags]) =>
      (tagFilter === undefined || tags.has(tagFilter)) && (ipFilter === '' || ip === normalizeIp(ipFilter)));
    // PAN-OS 8.0+ pages this listing: `limit` entries from the 1-based `start-point`.
    const limitText = textOf(firstChild(q, 'limit')).trim();
    const startText = textOf(firstChild(q, 'start-point')).trim();
    const limit = limitText === '' ? Infinity : Number(limitText);
    const start = startText === '' ? 1 : Number(startText);
    if (!(limit >= 1) || !Number.isInteger(start) || start < 1) throw new PanosApiError(18, 'Malformed Request: invalid limit or start-point');
    const rows = all.slice(start - 1, start - 1 + limit);
    const body = rows.map(([ip, tags]) => `<entry ip="${escapeXml(ip)}" from_agent="0" persistent="1"><tag>` +
      [...tags.keys()].map((t) => `<member>${escapeXml(t)}</member>`).join('') + '</tag></entry>').join('');
    return ok(`<result>${body}<count>${rows.length}</count></result>`);
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [ip, tags] of this.registered) {
      for (const [t, exp] of tags) if (exp !== null && exp <= now) tags.delete(t);
      if (tags.size === 0) this.registered.delete(ip);
    }
  }
}
