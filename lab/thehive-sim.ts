/**
 * Lab simulator of TheHive 5 (`/api/v1`): Bearer API keys with optional `X-Organisation`,
 * alerts (unique `type`+`source`+`sourceRef` per organisation → 400 CreateError), cases,
 * observables on alerts and cases (a second observable with the same dataType and data in the
 * same parent → 400 CreateError "Observable already exists", as TheHive 4 does), promotion of an
 * alert to a case, and the query API (`listAlert`/`listCase`/`getAlert`/`getCase`,
 * `observables`, `filter` with `_eq`/`_and`/`_or`/`_not`/`_gte`/`_lte`/`_like`, `sort`,
 * `page` from/to, `count`). Errors are `{"type","message"}`.
 *
 * Lab assumptions (TheHive 5 is closed source): attribute errors use type
 * AttributeCheckingError with the attribute in the message; promoting an imported alert answers
 * 400 BadRequest; an organisation the user is not in answers 403 AuthorizationError; `_eq` on a
 * list attribute (tags) matches when the list contains the value.
 */
import { LabServer, type LabRequest, type LabResponse } from './lab-server.js';

export interface TheHiveUser {
  login: string;
  name: string;
  apiKey: string;
  /** The first one is the default organisation. */
  organisations: string[];
}

export interface TheHiveSimOptions {
  users?: TheHiveUser[];
}

type Json = Record<string, unknown>;
type Entity = Json & { _id: string; _type: string; _createdAt: number; organisation: string };

const DATA_TYPES = new Set(['ip', 'domain', 'fqdn', 'url', 'uri_path', 'mail', 'mail-subject', 'hash', 'filename', 'hostname',
  'user-agent', 'registry', 'regexp', 'autonomous-system', 'other']);
const SEVERITY_LABEL: Record<number, string> = { 1: 'LOW', 2: 'MEDIUM', 3: 'HIGH', 4: 'CRITICAL' };
const TLP_LABEL: Record<number, string> = { 0: 'WHITE', 1: 'GREEN', 2: 'AMBER', 3: 'RED', 4: 'AMBER+STRICT' };
const PAP_LABEL: Record<number, string> = { 0: 'WHITE', 1: 'GREEN', 2: 'AMBER', 3: 'RED' };

function err(status: number, type: string, message: string): LabResponse {
  return { status, body: { type, message } };
}
class QueryError extends Error {}

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks an optional integer attribute in [min, max]; returns an error message or undefined. */
function intAttr(body: Json, name: string, entity: string, min: number, max: number): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `Invalid value for attribute ${entity}.${name}: ${JSON.stringify(v)} (expected an integer from ${min} to ${max})`;
}

function filterFn(f: unknown): (e: Json) => boolean {
  if (!isObj(f)) throw new QueryError('Invalid filter');
  const [op, arg] = Object.entries(f).find(([k]) => k.startsWith('_') && k !== '_name') ?? [];
  const field = (a: unknown): [string, unknown] => {
    if (!isObj(a) || typeof a._field !== 'string') throw new QueryError(`Invalid ${op} filter: _field is required`);
    return [a._field, a._value];
  };
  const get = (e: Json, k: string) => (k === '_id' ? e._id : e[k]);
  switch (op) {
    case '_and': case '_or': {
      if (!Array.isArray(arg)) throw new QueryError(`${op} expects a list`);
      const fns = arg.map(filterFn);
      return op === '_and' ? (e) => fns.every((fn) => fn(e)) : (e) => fns.some((fn) => fn(e));
    }
    case '_not': {
      const fn = filterFn(arg);
      return (e) => !fn(e);
    }
    case '_eq': {
      const [k, v] = field(arg);
      return (e) => {
        const x = get(e, k);
        return Array.isArray(x) ? x.includes(v) : x === v;
      };
    }
    case '_like': {
      const [k, v] = field(arg);
      const re = new RegExp(`^${String(v).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
      return (e) => re.test(String(get(e, k) ?? ''));
    }
    case '_gte': case '_lte': case '_gt': case '_lt': {
      const [k, v] = field(arg);
      return (e) => {
        const x = get(e, k) as number;
        return op === '_gte' ? x >= (v as number) : op === '_lte' ? x <= (v as number) : op === '_gt' ? x > (v as number) : x < (v as number);
      };
    }
    default:
      throw new QueryError(`Unsupported filter operator ${String(op)}`);
  }
}

export class TheHiveSimulator extends LabServer {
  readonly name = 'TheHive';
  readonly users: TheHiveUser[];
  private readonly alerts: Entity[] = [];
  private readonly cases: Entity[] = [];
  private readonly observables: Array<Entity & { parentId: string }> = [];
  private idSeq = 40960;
  private caseNumbers = new Map<string, number>();

  constructor(opts: TheHiveSimOptions = {}) {
    super();
    this.users = opts.users ?? [{ login: 'riposte@thehive.local', name: 'Riposte', apiKey: 'thehive-api-key', organisations: ['SOC'] }];
  }

  // ---- test helpers ----

  allAlerts(): Json[] {
    return this.alerts.map((a) => structuredClone(a));
  }
  allCases(): Json[] {
    return this.cases.map((c) => structuredClone(c));
  }
  observablesOf(parentId: string): Json[] {
    return this.observables.filter((o) => o.parentId === parentId).map((o) => structuredClone(o));
  }

  // ---- request handling ----

  protected handle(req: LabRequest): LabResponse {
    const h = req.headers.authorization;
    const user = typeof h === 'string' && /^Bearer /i.test(h) ? this.users.find((u) => u.apiKey === h.slice(7)) : undefined;
    if (user === undefined) return err(401, 'AuthenticationError', 'Authentication failure');
    const wanted = req.headers['x-organisation'];
    const org = typeof wanted === 'string' && wanted !== '' ? wanted : user.organisations[0]!;
    if (!user.organisations.includes(org)) return err(403, 'AuthorizationError', `User ${user.login} is not a member of organisation ${org}`);
    let body: unknown = {};
    if (req.method === 'POST' || req.method === 'PATCH') {
      try {
        body = req.body === '' ? {} : JSON.parse(req.body);
      } catch {
        return err(400, 'BadRequest', 'Invalid Json');
      }
    }
    const b = isObj(body) ? body : {};
    const p = req.path;
    if (p === '/api/v1/user/current' && req.method === 'GET') {
      return { status: 200, body: { _id: '~4096', _createdAt: 0, login: user.login, name: user.name, profile: 'analyst', organisation: org, permissions: ['manageAlert', 'manageCase', 'manageObservable'], organisations: user.organisations.map((o) => ({ organisation: o, profile: 'analyst' })) } };
    }
    if (p === '/api/v1/alert' && req.method === 'POST') return this.createAlert(b, user.login, org);
    if (p === '/api/v1/case' && req.method === 'POST') return this.createCase(b, user.login, org);
    if (p === '/api/v1/query' && req.method === 'POST') return this.query(body, org);
    const m = /^\/api\/v1\/(alert|case)\/([^/]+)(\/observable|\/case)?$/.exec(p);
    if (m) {
      const kind = m[1] as 'alert' | 'case';
      const id = decodeURIComponent(m[2]!);
      const target = (kind === 'alert' ? this.alerts : this.cases).find((e) => e._id === id && e.organisation === org);
      if (target === undefined) return err(404, 'NotFoundError', `${kind === 'alert' ? 'Alert' : 'Case'} ${id} not found`);
      if (m[3] === undefined && req.method === 'GET') return { status: 200, body: this.out(target) };
      if (m[3] === '/observable' && req.method === 'POST') return this.addObservables(target, b, user.login, org);
      if (m[3] === '/case' && kind === 'alert' && req.method === 'POST') return this.promote(target, b, user.login, org);
    }
    return err(404, 'NotFoundError', `Route ${req.method} ${p} not found`);
  }

  private out(e: Entity): Json {
    const { organisation: _o, parentId: _p, ...rest } = e as Entity & { parentId?: string };
    return structuredClone(rest);
  }

  private nextId(): string {
    this.idSeq += 8;
    return `~${this.idSeq}`;
  }

  private common(b: Json, entity: string, required: string[]): string | undefined {
    for (const k of required) {
      if (typeof b[k] !== 'string' || (b[k] as string).trim() === '') return `Attribute ${entity}.${k} is missing or empty`;
    }
    if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.some((t) => typeof t !== 'string'))) return `Invalid value for attribute ${entity}.tags: expected a list of strings`;
    return intAttr(b, 'severity', entity, 1, 4) ?? intAttr(b, 'tlp', entity, 0, 4) ?? intAttr(b, 'pap', entity, 0, 3);
  }

  private base(b: Json, login: string, org: string, type: string): Entity {
    const now = Date.now();
    const severity = (b.severity as number | undefined) ?? 2;
    const tlp = (b.tlp as number | undefined) ?? 2;
    const pap = (b.pap as number | undefined) ?? 2;
    return {
      _id: this.nextId(), _type: type, _createdBy: login, _createdAt: now, organisation: org,
      title: b.title, description: b.description, severity, severityLabel: SEVERITY_LABEL[severity], tags: [...new Set((b.tags as string[] | undefined) ?? [])],
      tlp, tlpLabel: TLP_LABEL[tlp], pap, papLabel: PAP_LABEL[pap], customFields: [], extraData: {},
    };
  }

  private checkObservable(o: unknown, entity: string): string | undefined {
    if (!isObj(o)) return `Invalid value for attribute ${entity}.observables: expected objects`;
    if (typeof o.dataType !== 'string' || !DATA_TYPES.has(o.dataType)) return `Invalid value for attribute observable.dataType: ${JSON.stringify(o.dataType)} is not a known observable type`;
    const data = Array.isArray(o.data) ? o.data : [o.data];
    if (data.length === 0 || data.some((d) => typeof d !== 'string' || d === '')) return 'Attribute observable.data is missing or empty';
    return intAttr(o, 'tlp', 'observable', 0, 4);
  }

  private createAlert(b: Json, login: string, org: string): LabResponse {
    const bad = this.common(b, 'alert', ['type', 'source', 'sourceRef', 'title', 'description']);
    if (bad) return err(400, 'AttributeCheckingError', bad);
    const obs = Array.isArray(b.observables) ? b.observables : [];
    for (const o of obs) {
      const p = this.checkObservable(o, 'alert');
      if (p) return err(400, 'AttributeCheckingError', p);
    }
    if (this.alerts.some((a) => a.organisation === org && a.type === b.type && a.source === b.source && a.sourceRef === b.sourceRef)) {
      return err(400, 'CreateError', `Alert ${String(b.type)}:${String(b.source)}:${String(b.sourceRef)} already exist in organisation ${org}`);
    }
    const now = Date.now();
    const alert: Entity = {
      ...this.base(b, login, org, 'Alert'), type: b.type, source: b.source, sourceRef: b.sourceRef,
      date: typeof b.date === 'number' ? b.date : now, status: 'New', stage: 'New', follow: true, observableCount: 0, newDate: now,
    };
    if (typeof b.externalLink === 'string') alert.externalLink = b.externalLink;
    this.alerts.push(alert);
    // Duplicates inside one request are merged (TheHive ≥ 4.0.1 behaviour).
    for (const o of obs as Json[]) this.insertObservables(alert, o, login, org, true);
    return { status: 201, body: this.out(alert) };
  }

  private createCase(b: Json, login: string, org: string): LabResponse {
    const bad = this.common(b, 'case', ['title', 'description']);
    if (bad) return err(400, 'AttributeCheckingError', bad);
    return { status: 201, body: this.out(this.newCase(b, login, org)) };
  }

  private newCase(b: Json, login: string, org: string): Entity {
    const n = (this.caseNumbers.get(org) ?? 0) + 1;
    this.caseNumbers.set(org, n);
    const c: Entity = { ...this.base(b, login, org, 'Case'), number: n, startDate: Date.now(), status: 'New', stage: 'New', flag: false };
    this.cases.push(c);
    return c;
  }

  private promote(alert: Entity, b: Json, login: string, org: string): LabResponse {
    if (alert.caseId !== undefined) return err(400, 'BadRequest', `The alert ${alert._id} has already been imported into case ${String(alert.caseId)}`);
    const c = this.newCase({ title: alert.title, description: alert.description, severity: alert.severity, tags: alert.tags, tlp: alert.tlp, pap: alert.pap }, login, org);
    if (typeof b.caseTemplate === 'string') c.caseTemplate = b.caseTemplate;
    for (const o of this.observables.filter((x) => x.parentId === alert._id)) {
      this.observables.push({ ...structuredClone(o), _id: this.nextId(), parentId: c._id });
    }
    Object.assign(alert, { caseId: c._id, status: 'Imported', stage: 'Imported', importedDate: Date.now(), _updatedAt: Date.now() });
    return { status: 201, body: this.out(c) };
  }

  /** Creates one observable per `data` value; returns them, or an error message for a duplicate. */
  private insertObservables(parent: Entity, o: Json, login: string, org: string, mergeDuplicates: boolean): Entity[] | string {
    const values = Array.isArray(o.data) ? (o.data as string[]) : [o.data as string];
    const created: Entity[] = [];
    for (const data of values) {
      const dup = this.observables.find((x) => x.parentId === parent._id && x.dataType === o.dataType && x.data === data);
      if (dup !== undefined) {
        if (mergeDuplicates) continue;
        return 'Observable already exists';
      }
      const tlp = (o.tlp as number | undefined) ?? 2;
      const obs = {
        _id: this.nextId(), _type: 'Observable', _createdBy: login, _createdAt: Date.now(), organisation: org, parentId: parent._id,
        dataType: o.dataType, data, message: typeof o.message === 'string' ? o.message : undefined, startDate: Date.now(),
        tlp, tlpLabel: TLP_LABEL[tlp], pap: 2, papLabel: 'AMBER', tags: (o.tags as string[] | undefined) ?? [], ioc: o.ioc === true, sighted: o.sighted === true,
        reports: {}, extraData: {},
      };
      this.observables.push(obs);
      created.push(obs);
    }
    if (parent._type === 'Alert') parent.observableCount = this.observables.filter((x) => x.parentId === parent._id).length;
    return created;
  }

  private addObservables(parent: Entity, b: Json, login: string, org: string): LabResponse {
    const p = this.checkObservable(b, parent._type.toLowerCase());
    if (p) return err(400, 'AttributeCheckingError', p);
    const res = this.insertObservables(parent, b, login, org, false);
    if (typeof res === 'string') return err(400, 'CreateError', res);
    return { status: 201, body: res.map((o) => this.out(o)) };
  }

  private query(body: unknown, org: string): LabResponse {
    const ops = isObj(body) ? body.query : undefined;
    if (!Array.isArray(ops) || ops.length === 0) return err(400, 'BadRequest', 'Invalid query: "query" must be a non-empty list');
    try {
      let rows: Entity[] = [];
      for (const [i, op] of ops.entries()) {
        if (!isObj(op) || typeof op._name !== 'string') throw new QueryError(`Invalid query operation at index ${i}`);
        const name = op._name;
        if (i === 0) {
          if (name === 'listAlert') rows = this.alerts.filter((a) => a.organisation === org);
          else if (name === 'listCase') rows = this.cases.filter((c) => c.organisation === org);
          else if (name === 'getAlert' || name === 'getCase') {
            const e = (name === 'getAlert' ? this.alerts : this.cases).find((x) => x._id === op.idOrName && x.organisation === org);
            if (e === undefined) return err(404, 'NotFoundError', `${name === 'getAlert' ? 'Alert' : 'Case'} ${String(op.idOrName)} not found`);
            rows = [e];
          } else throw new QueryError(`Unknown initial query operation ${name}`);
          continue;
        }
        if (name === 'observables') {
          const parents = new Set(rows.map((r) => r._id));
          rows = this.observables.filter((o) => parents.has(o.parentId));
        } else if (name === 'filter') {
          const fn = filterFn(op);
          rows = rows.filter(fn);
        } else if (name === 'sort') {
          const fields = Array.isArray(op._fields) ? (op._fields as Json[]) : [];
          rows = [...rows].sort((a, b) => {
            for (const f of fields) {
              const [k, dir] = Object.entries(f)[0] ?? [];
              if (k === undefined) continue;
              const x = a[k] as number | string;
              const y = b[k] as number | string;
              if (x !== y) return (x < y ? -1 : 1) * (dir === 'desc' ? -1 : 1);
            }
            return 0;
          });
        } else if (name === 'page') {
          const from = Number(op.from ?? 0);
          const to = Number(op.to ?? from + 10);
          if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from) throw new QueryError('Invalid page: from and to must be integers with 0 <= from <= to');
          rows = rows.slice(from, to);
        } else if (name === 'count') {
          return { status: 200, headers: { 'content-type': 'application/json' }, body: String(rows.length) };
        } else throw new QueryError(`Unknown query operation ${name}`);
      }
      return { status: 200, body: rows.map((r) => this.out(r)) };
    } catch (e) {
      if (e instanceof QueryError) return err(400, 'BadRequest', e.message);
      throw e;
    }
  }
}
