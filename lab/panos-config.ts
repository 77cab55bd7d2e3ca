/**
 * In-memory PAN-OS configuration tree for the lab simulator: xpath resolution for the narrow
 * step forms the XML API uses (`name`, `name[@name='x']`, `name[text()='x']`), `set` with merge
 * semantics, `delete`, and the light schema checks a real firewall applies at set/commit time to
 * address objects and address groups.
 */
import { isIP } from 'node:net';
import { child, clone, elements, text, type XmlEl } from './panos-xml.js';

/** A PAN-OS API error: `<response status="error" code="N">`. */
export class PanosApiError extends Error {
  constructor(readonly code: number, message: string, readonly httpStatus = 200) {
    super(message);
  }
}

export interface XpathStep {
  name: string;
  /** `[@name='v']` → kind 'name'; `[text()='v']` → kind 'text'. */
  pred?: { kind: 'name' | 'text'; value: string };
}

const STEP = /^([A-Za-z][\w.\-]*)(?:\[\s*(@name|text\(\))\s*=\s*(?:'([^']*)'|"([^"]*)")\s*\])?$/;

export function parseXpath(xpath: string): XpathStep[] {
  if (!xpath.startsWith('/')) throw new PanosApiError(6, 'Bad Xpath');
  const parts: string[] = [];
  let cur = '';
  let quote = '';
  let depth = 0;
  for (const ch of xpath.slice(1)) {
    if (quote !== '') {
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']') depth--;
    else if (ch === '/' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => {
    const m = STEP.exec(p);
    if (!m) throw new PanosApiError(6, 'Bad Xpath');
    const value = m[3] ?? m[4];
    if (m[2] === undefined || value === undefined) return { name: m[1]! };
    return { name: m[1]!, pred: { kind: m[2] === '@name' ? 'name' : 'text', value } };
  });
}

function matches(el: XmlEl, step: XpathStep): boolean {
  if (el.name !== step.name) return false;
  if (step.pred === undefined) return true;
  return step.pred.kind === 'name' ? el.attrs.name === step.pred.value : text(el) === step.pred.value;
}

/** The node at `steps` below `root` (whose own step is steps[0]), or undefined. */
export function resolve(root: XmlEl, steps: XpathStep[]): XmlEl | undefined {
  if (steps.length === 0 || !matches(root, steps[0]!)) return undefined;
  let cur: XmlEl | undefined = root;
  for (const s of steps.slice(1)) {
    cur = elements(cur).find((c) => matches(c, s));
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Like resolve, creating missing nodes (what `set` does). */
export function ensure(root: XmlEl, steps: XpathStep[]): XmlEl {
  if (steps.length === 0 || !matches(root, steps[0]!)) throw new PanosApiError(6, 'Bad Xpath');
  let cur = root;
  for (const s of steps.slice(1)) {
    let next = elements(cur).find((c) => matches(c, s));
    if (next === undefined) {
      next = { name: s.name, attrs: {}, children: [] };
      if (s.pred?.kind === 'name') next.attrs.name = s.pred.value;
      if (s.pred?.kind === 'text') next.children.push(s.pred.value);
      cur.children.push(next);
    }
    cur = next;
  }
  return cur;
}

/** Removes the node at `steps`; false when it was not present. */
export function remove(root: XmlEl, steps: XpathStep[]): boolean {
  const parent = resolve(root, steps.slice(0, -1));
  const last = steps[steps.length - 1];
  if (parent === undefined || last === undefined || steps.length < 2) return false;
  const i = parent.children.findIndex((c) => typeof c !== 'string' && matches(c, last));
  if (i < 0) return false;
  parent.children.splice(i, 1);
  return true;
}

/** Address types are a schema choice: setting one replaces the others. */
const ADDRESS_TYPES = new Set(['ip-netmask', 'ip-range', 'fqdn', 'ip-wildcard']);

/** `set` semantics: named entries and list members merge, leaves are replaced. */
export function merge(target: XmlEl, incoming: XmlEl[]): void {
  for (const c of incoming) {
    const kids = elements(target);
    if (c.attrs.name !== undefined) {
      const existing = kids.find((e) => e.name === c.name && e.attrs.name === c.attrs.name);
      if (existing === undefined) target.children.push(clone(c));
      else merge(existing, elements(c));
    } else if (c.name === 'member') {
      if (!kids.some((m) => m.name === 'member' && text(m) === text(c))) target.children.push(clone(c));
    } else {
      if (ADDRESS_TYPES.has(c.name)) {
        target.children = target.children.filter((k) => typeof k === 'string' || !ADDRESS_TYPES.has(k.name) || k.name === c.name);
      }
      const existing = child(target, c.name);
      if (existing === undefined) target.children.push(clone(c));
      else if (elements(c).length > 0) merge(existing, elements(c));
      else existing.children = clone(c).children;
    }
  }
}

const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,62}$/;

function validNetmask(v: string): boolean {
  const [ip, len, extra] = v.split('/');
  if (extra !== undefined || ip === undefined) return false;
  const fam = isIP(ip);
  if (fam === 0) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n >= 0 && n <= (fam === 4 ? 32 : 128);
}

/** Set-time schema checks of a vsys' address objects and groups (code 12 "Invalid object"). */
export function validateVsys(vsys: XmlEl): void {
  for (const e of elements(child(vsys, 'address'), 'entry')) {
    const where = `address -> ${e.attrs.name ?? ''}`;
    if (!OBJECT_NAME.test(e.attrs.name ?? '')) throw new PanosApiError(12, `${where} is invalid: invalid object name`);
    for (const k of elements(e)) {
      if (!ADDRESS_TYPES.has(k.name) && k.name !== 'description' && k.name !== 'tag') throw new PanosApiError(12, `${where} -> ${k.name} unexpected here`);
    }
    const types = elements(e).filter((k) => ADDRESS_TYPES.has(k.name));
    if (types.length !== 1) throw new PanosApiError(12, `${where} is invalid: exactly one of ip-netmask, ip-range, fqdn, ip-wildcard is required`);
    const net = child(e, 'ip-netmask');
    if (net !== undefined && !validNetmask(text(net).trim())) throw new PanosApiError(12, `${where} -> ip-netmask '${text(net)}' is not a valid IP netmask`);
    if (text(child(e, 'description')).length > 1023) throw new PanosApiError(12, `${where} -> description is too long (max 1023)`);
  }
  for (const g of elements(child(vsys, 'address-group'), 'entry')) {
    const where = `address-group -> ${g.attrs.name ?? ''}`;
    if (!OBJECT_NAME.test(g.attrs.name ?? '')) throw new PanosApiError(12, `${where} is invalid: invalid object name`);
    for (const k of elements(g)) {
      if (!['static', 'dynamic', 'description', 'tag'].includes(k.name)) throw new PanosApiError(12, `${where} -> ${k.name} unexpected here`);
    }
    if (child(g, 'static') && child(g, 'dynamic')) throw new PanosApiError(12, `${where} is invalid: static and dynamic are exclusive`);
    const stat = child(g, 'static');
    if (stat !== undefined && elements(stat).some((m) => m.name !== 'member' || text(m).trim() === '')) {
      throw new PanosApiError(12, `${where} -> static is invalid`);
    }
  }
}

/** Static group members of a vsys that name no address object or group: commit-time failures. */
export function danglingReferences(vsys: XmlEl): string[] {
  const names = new Set<string>();
  for (const kind of ['address', 'address-group']) {
    for (const e of elements(child(vsys, kind), 'entry')) if (e.attrs.name !== undefined) names.add(e.attrs.name);
  }
  const out: string[] = [];
  for (const g of elements(child(vsys, 'address-group'), 'entry')) {
    for (const m of elements(child(g, 'static'), 'member')) {
      if (!names.has(text(m))) out.push(`address-group -> ${g.attrs.name ?? ''} -> static '${text(m)}' is not a valid reference`);
    }
  }
  return out;
}

/** Groups of a vsys whose static list names `objectName` (blocks deleting it). */
export function referencesTo(vsys: XmlEl, objectName: string): string[] {
  const groups = elements(child(vsys, 'address-group'), 'entry');
  return groups
    .filter((g) => elements(child(g, 'static'), 'member').some((m) => text(m) === objectName))
    .map((g) => `address-group -> ${g.attrs.name ?? ''} -> static`);
}
