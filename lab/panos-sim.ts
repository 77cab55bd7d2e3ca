/**
 * Lab simulator of the PAN-OS XML API (`/api/`): keygen, config set/delete/get/show on a
 * candidate config, asynchronous commit jobs that copy a snapshot of the candidate into the
 * running config, job polling, system info, and User-ID tag register/unregister (DAG blocking).
 * Errors come back as HTTP 200 with `status="error"`, as on a real firewall, except auth (403).
 * Requests are parsed and answers built with the simulator's own XML (panos-xml.ts), never with
 * the PAN-OS app's parser.
 */
import { isIP } from 'node:net';
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';
import {
  child, clone, descend, el, elements, parseDocument, parseFragment, text, toXml, XmlSyntaxError,
  type XmlEl, type XmlNode,
} from './panos-xml.js';
import {
  danglingReferences, ensure, merge, PanosApiError, parseXpath, referencesTo, remove, resolve, validateVsys,
  type XpathStep,
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
  snapshot: XmlEl;
  forcedFailure?: string;
  status: 'ACT' | 'FIN';
  result: 'PEND' | 'OK' | 'FAIL';
  details: string[];
}

const DEVICE = "/config/devices/entry[@name='localhost.localdomain']";
const XML_HEADERS = { 'content-type': 'application/xml; charset=UTF-8' };

/** `<response status="…" code="…">children</response>` as an HTTP answer. */
function response(status: number, attrs: Record<string, string>, ...children: XmlNode[]): LabResponse {
  return { status, headers: XML_HEADERS, body: toXml(el('response', attrs, ...children)) };
}

function ok(inner: XmlNode | XmlNode[] = [], code?: number): LabResponse {
  const attrs: Record<string, string> = { status: 'success' };
  if (code !== undefined) attrs.code = String(code);
  return response(200, attrs, ...(Array.isArray(inner) ? inner : [inner]));
}

/** `<msg>text</msg>` */
const msg = (t: string): XmlEl => el('msg', {}, t);

function errorResponse(e: PanosApiError): LabResponse {
  const body = e.httpStatus === 200 ? el('msg', {}, el('line', {}, e.message)) : el('result', {}, msg(e.message));
  return response(e.httpStatus, { status: 'error', code: String(e.code) }, body);
}

function normalizeIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function parseOrThrow(src: string, code: number): XmlEl {
  try {
    return parseDocument(src);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new PanosApiError(code, `Malformed Request: ${err.message}`);
    throw err;
  }
}

export class PanosSimulator extends LabServer {
  readonly name = 'PAN-OS';
  readonly opts: Required<PanosSimOptions>;
  candidate: XmlEl;
  running: XmlEl;
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
    const vsys = el('vsys', {}, ...this.opts.vsys.map((v) => el('entry', { name: v })));
    this.candidate = el('config', {}, el('devices', {}, el('entry', { name: 'localhost.localdomain' }, vsys)));
    this.running = clone(this.candidate);
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
  /**
   * Forgets the block group's committed members (in the running config) and their address
   * objects, in both configurations: the benchmark's housekeeping over tens of thousands of blocks.
   */
  forgetCommittedBlocks(vsys = this.opts.vsys[0]!): void {
    const group = (cfg: XmlEl) => elements(child(this.vsysNode(cfg, vsys), 'address-group'), 'entry')
      .find((e) => e.attrs.name === this.opts.blockGroup);
    const members = new Set(elements(child(group(this.running), 'static'), 'member').map((m) => text(m)));
    if (members.size === 0) return;
    for (const cfg of [this.running, this.candidate]) {
      const stat = child(group(cfg), 'static');
      if (stat) stat.children = stat.children.filter((c) => typeof c === 'string' || !members.has(text(c)));
      const addr = child(this.vsysNode(cfg, vsys), 'address');
      if (addr) addr.children = addr.children.filter((c) => typeof c === 'string' || !members.has(c.attrs.name ?? ''));
    }
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
    return ok(el('result', {}, el('key', {}, this.keyFor(user))));
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

  private vsysNode(config: XmlEl, vsys: string): XmlEl | undefined {
    return resolve(config, parseXpath(`${DEVICE}/vsys/entry[@name='${vsys}']`));
  }

  private config(p: URLSearchParams): LabResponse {
    const action = p.get('action');
    const { steps, vsys } = this.xpath(p);
    if (action === 'get' || action === 'show') {
      const node = resolve(action === 'get' ? this.candidate : this.running, steps);
      if (node === undefined) {
        if (action === 'show') throw new PanosApiError(7, 'No such node');
        return ok(el('result', { 'total-count': '0', count: '0' }));
      }
      return ok(el('result', { 'total-count': '1', count: '1' }, node));
    }
    if (action === 'set') {
      let fragment: XmlEl[];
      try {
        fragment = parseFragment(p.get('element') ?? '');
      } catch (err) {
        if (err instanceof XmlSyntaxError) throw new PanosApiError(18, `Malformed Request: ${err.message}`);
        throw err;
      }
      const next = clone(this.candidate);
      merge(ensure(next, steps), fragment);
      validateVsys(this.vsysNode(next, vsys)!);
      this.candidate = next;
      this.noteBlockSet(steps, fragment, vsys);
      return ok(msg('command succeeded'), 20);
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
      return ok(msg('command succeeded'), 20);
    }
    throw new PanosApiError(17, `Invalid command: config action "${action ?? ''}" is not supported by the lab`);
  }

  private noteBlockSet(steps: XpathStep[], fragment: XmlEl[], vsys: string): void {
    const group = steps[6];
    if (steps[5]?.name !== 'address-group' || group?.pred?.value !== this.opts.blockGroup) return;
    const members: string[] = [];
    const walk = (el: XmlEl): void => {
      if (el.name === 'member') members.push(text(el));
      else elements(el).forEach(walk);
    };
    fragment.forEach(walk);
    if (steps[steps.length - 1]?.pred?.kind === 'text') members.push(steps[steps.length - 1]!.pred!.value);
    const addrs = elements(child(this.vsysNode(this.candidate, vsys), 'address'), 'entry');
    for (const m of members) {
      const net = text(child(addrs.find((a) => a.attrs.name === m), 'ip-netmask')).trim();
      if (net !== '') this.blockSets.push(normalizeIp(net.replace(/\/(32|128)$/, '')));
    }
  }

  private groupIps(config: XmlEl, vsys: string, group: string): string[] {
    const v = this.vsysNode(config, vsys);
    const g = elements(child(v, 'address-group'), 'entry').find((e) => e.attrs.name === group);
    const names = elements(child(g, 'static'), 'member').map((m) => text(m));
    const addrs = elements(child(v, 'address'), 'entry');
    return names.flatMap((n) => {
      const net = text(child(addrs.find((a) => a.attrs.name === n), 'ip-netmask')).trim();
      return net === '' ? [] : [normalizeIp(net.replace(/\/(32|128)$/, ''))];
    });
  }

  private commit(p: URLSearchParams, user: string): LabResponse {
    const cmd = parseOrThrow(p.get('cmd') ?? '', 18);
    if (cmd.name !== 'commit') throw new PanosApiError(17, `Invalid command: ${cmd.name}`);
    if ([...this.jobs.values()].some((j) => j.status === 'ACT')) {
      throw new PanosApiError(13, 'Another commit is in progress. Please try again later');
    }
    if (toXml(this.candidate) === toXml(this.running) && this.pendingFailure === undefined) {
      return ok(msg('There are no changes to commit.'), 19);
    }
    const now = Date.now();
    const job: Job = {
      id: this.nextJobId++, user, enqueuedAt: now, finishAt: now + this.opts.commitDelayMs, snapshot: clone(this.candidate),
      status: 'ACT', result: 'PEND', details: [],
    };
    if (this.pendingFailure !== undefined) job.forcedFailure = this.pendingFailure;
    this.pendingFailure = undefined;
    this.jobs.set(job.id, job);
    const enqueued = el('msg', {}, el('line', {}, `Commit job enqueued with jobid ${job.id}`));
    return ok(el('result', {}, enqueued, el('job', {}, String(job.id))), 19);
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
    const sub = elements(cmd)[0];
    if (cmd.name === 'show' && sub?.name === 'system' && child(sub, 'info')) {
      const info = {
        hostname: this.opts.hostname, 'ip-address': '127.0.0.1', model: 'PA-VM', serial: '007000000000001',
        'sw-version': this.opts.swVersion,
      };
      return ok(el('result', {}, el('system', {}, ...Object.entries(info).map(([k, v]) => el(k, {}, v)))));
    }
    if (cmd.name === 'show' && sub?.name === 'jobs') {
      const id = Number(text(child(sub, 'id')).trim());
      const job = this.jobs.get(id);
      if (job === undefined) throw new PanosApiError(7, `job ${text(child(sub, 'id')).trim()} not found`);
      return ok(el('result', {}, this.jobXml(job)));
    }
    if (cmd.name === 'show' && sub?.name === 'object' && child(sub, 'registered-ip')) {
      return this.showRegistered(child(sub, 'registered-ip')!);
    }
    throw new PanosApiError(17, `Invalid command: ${toXml(cmd).slice(0, 100)}`);
  }

  private jobXml(job: Job): XmlEl {
    const progress = job.status === 'FIN' ? 100
      : Math.min(99, Math.floor(((Date.now() - job.enqueuedAt) / Math.max(1, this.opts.commitDelayMs)) * 100));
    const fields: Array<[string, string]> = [
      ['tenq', new Date(job.enqueuedAt).toISOString()], ['id', String(job.id)], ['user', job.user], ['type', 'Commit'],
      ['status', job.status], ['queued', 'NO'], ['stoppable', 'no'], ['result', job.result],
      ['progress', String(progress)],
    ];
    return el('job', {}, ...fields.map(([k, v]) => el(k, {}, v)),
      el('details', {}, ...job.details.map((l) => el('line', {}, l))), el('warnings'));
  }

  // ---- User-ID (DAG tags) ----

  private userId(p: URLSearchParams): LabResponse {
    const msg = parseOrThrow(p.get('cmd') ?? '', 18);
    const payload = descend(msg, 'payload');
    if (msg.name !== 'uid-message' || payload === undefined) throw new PanosApiError(18, 'Malformed Request: expected <uid-message> with <payload>');
    this.purgeExpired();
    const failures: XmlEl[] = [];
    for (const op of ['register', 'unregister'] as const) {
      for (const entry of elements(child(payload, op), 'entry')) {
        const ip = entry.attrs.ip ?? '';
        if (isIP(ip) === 0) throw new PanosApiError(18, `Malformed Request: invalid ip "${ip}"`);
        const key = normalizeIp(ip);
        const tags = this.registered.get(key) ?? new Map<string, number | null>();
        const members = elements(descend(entry, 'tag'), 'member');
        const names = op === 'unregister' && members.length === 0 ? [...tags.keys()] : members.map((m) => text(m));
        for (const [i, tag] of names.entries()) {
          const failure = (message: string): XmlEl => el(op, {}, el('entry', { ip, message }));
          if (op === 'register') {
            if (tags.has(tag)) failures.push(failure(`tag ${tag} already exists, ignore`));
            const timeout = Number(members[i]?.attrs.timeout ?? '0');
            tags.set(tag, timeout > 0 ? Date.now() + timeout * 1000 : null);
          } else if (!tags.delete(tag)) {
            failures.push(failure(`tag ${tag} does not exist, ignore unreg`));
          }
        }
        if (tags.size > 0) this.registered.set(key, tags);
        else this.registered.delete(key);
      }
    }
    // The exact error body is unverified; the app only relies on the message suffixes.
    const uidResponse = (...payload: XmlEl[]): XmlEl =>
      el('uid-response', {}, el('version', {}, '2.0'), el('payload', {}, ...payload));
    if (failures.length > 0) {
      return response(200, { status: 'error' }, el('msg', {}, el('line', {}, uidResponse(...failures))));
    }
    return ok(el('result', {}, uidResponse()));
  }

  private showRegistered(q: XmlEl): LabResponse {
    this.purgeExpired();
    const tagFilter = child(descend(q, 'tag'), 'entry')?.attrs.name;
    const ipFilter = text(child(q, 'ip')).trim();
    const all = [...this.registered.entries()].filter(([ip, tags]) =>
      (tagFilter === undefined || tags.has(tagFilter)) && (ipFilter === '' || ip === normalizeIp(ipFilter)));
    // PAN-OS 8.0+ pages this listing: `limit` entries from the 1-based `start-point`.
    const limitText = text(child(q, 'limit')).trim();
    const startText = text(child(q, 'start-point')).trim();
    const limit = limitText === '' ? Infinity : Number(limitText);
    const start = startText === '' ? 1 : Number(startText);
    if (!(limit >= 1) || !Number.isInteger(start) || start < 1) throw new PanosApiError(18, 'Malformed Request: invalid limit or start-point');
    const rows = all.slice(start - 1, start - 1 + limit);
    const entries = rows.map(([ip, tags]) => el('entry', { ip, from_agent: '0', persistent: '1' },
      el('tag', {}, ...[...tags.keys()].map((t) => el('member', {}, t)))));
    return ok(el('result', {}, ...entries, el('count', {}, String(rows.length))));
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [ip, tags] of this.registered) {
      for (const [t, exp] of tags) if (exp !== null && exp <= now) tags.delete(t);
      if (tags.size === 0) this.registered.delete(ip);
    }
  }
}
