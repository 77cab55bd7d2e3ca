/**
 * Users: lookup (configured filter or DN), mapping to the directory capability's UserRecord, the
 * enabled/disabled state per flavour, and password encodings.
 *
 * Enabled state:
 * - Active Directory: bit ACCOUNTDISABLE (0x2) of userAccountControl; other bits are preserved.
 * - OpenLDAP: the ppolicy overlay convention. `pwdAccountLockedTime: 000001010000Z` locks an account
 *   permanently (binds fail with invalidCredentials) until an administrator deletes the attribute.
 *   Any pwdAccountLockedTime (also a lockout after failed binds) reports enabled: false. Needs the
 *   ppolicy overlay with a policy whose pwdLockout is TRUE; the service account must be able to
 *   read and write pwdAccountLockedTime.
 */
import { randomInt } from 'node:crypto';
import { BerWriter, Change, Attribute, type Entry } from 'ldapts';
import { TerminalError } from '../../sdk/errors.js';
import type { UserRecord } from '../../sdk/capabilities.js';
import { buildUserFilter, isDnUnder } from './filter.js';
import type { LdapConfig, LdapSession } from './session.js';

export const ACCOUNTDISABLE = 0x2;
export const PERMANENT_LOCK = '000001010000Z';
/** RFC 3062 Password Modify extended operation. */
export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

export const USER_ATTRIBUTES = [
  'uid', 'sAMAccountName', 'userPrincipalName', 'cn', 'displayName', 'mail', 'department', 'departmentNumber',
  'ou', 'title', 'manager', 'userAccountControl', 'pwdAccountLockedTime', 'pwdChangedTime', 'pwdLastSet',
];

/** First value of an attribute, matched case-insensitively (servers may spell names differently). */
export function attr(entry: Entry, name: string): string | undefined {
  const all = attrAll(entry, name);
  return all[0];
}

export function attrAll(entry: Entry, name: string): string[] {
  const lc = name.toLowerCase();
  for (const [k, v] of Object.entries(entry)) {
    if (k.toLowerCase() !== lc) continue;
    const vals = Array.isArray(v) ? v : [v];
    return vals.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
  }
  return [];
}

/** Finds the one entry matching `user` (a DN under baseDN, or a value for the user filter). */
export async function findUser(s: LdapSession, user: string, attributes: string[] = USER_ATTRIBUTES): Promise<Entry | null> {
  const cfg = s.cfg;
  if (isDnUnder(user, cfg.baseDN)) {
    try {
      const { searchEntries } = await s.read((c) => c.search(user, { scope: 'base', filter: '(objectClass=*)', attributes }), user);
      return searchEntries[0] ?? null;
    } catch (err) {
      if (err instanceof TerminalError && err.vendorCode === '32') return null;
      throw err;
    }
  }
  const filter = buildUserFilter(cfg.userFilter, user);
  // sizeLimit 2: enough to detect ambiguity without reading the directory.
  const { searchEntries } = await s.read((c) => c.search(cfg.baseDN, { scope: 'sub', filter, attributes, sizeLimit: 2 }), cfg.baseDN);
  if (searchEntries.length > 1) {
    throw new TerminalError(`ambiguous user "${user}": more than one entry matches (${searchEntries.map((e) => e.dn).join('; ')})`, { applied: 'no' });
  }
  return searchEntries[0] ?? null;
}

/** Like findUser, but a missing user is a TerminalError (for actions that change something). */
export async function requireUser(s: LdapSession, user: string, attributes?: string[]): Promise<Entry> {
  const e = await findUser(s, user, attributes);
  if (!e) throw new TerminalError(`no user matches "${user}" under ${s.cfg.baseDN}`, { applied: 'no', vendorCode: '32' });
  return e;
}

export function userAccountControl(entry: Entry): number | undefined {
  const v = attr(entry, 'userAccountControl');
  if (v === undefined || !/^-?\d+$/.test(v.trim())) return undefined;
  return Number(v) >>> 0; // AD may return it as a signed 32-bit value
}

export function isEnabled(entry: Entry, flavor: LdapConfig['flavor']): boolean | undefined {
  if (flavor === 'active-directory') {
    const uac = userAccountControl(entry);
    return uac === undefined ? undefined : (uac & ACCOUNTDISABLE) === 0;
  }
  return attr(entry, 'pwdAccountLockedTime') === undefined;
}

export function toUserRecord(entry: Entry, flavor: LdapConfig['flavor']): UserRecord {
  const userName = flavor === 'active-directory'
    ? attr(entry, 'sAMAccountName') ?? attr(entry, 'uid') ?? attr(entry, 'userPrincipalName')
    : attr(entry, 'uid') ?? attr(entry, 'sAMAccountName') ?? attr(entry, 'userPrincipalName');
  const rec: UserRecord = { id: entry.dn, userName: userName ?? attr(entry, 'cn') ?? entry.dn };
  const displayName = attr(entry, 'displayName') ?? attr(entry, 'cn');
  const email = attr(entry, 'mail');
  const department = attr(entry, 'department') ?? attr(entry, 'departmentNumber') ?? attr(entry, 'ou');
  const jobTitle = attr(entry, 'title');
  const manager = attr(entry, 'manager');
  const enabled = isEnabled(entry, flavor);
  if (displayName !== undefined) rec.displayName = displayName;
  if (email !== undefined) rec.email = email;
  if (department !== undefined) rec.department = department;
  if (jobTitle !== undefined) rec.jobTitle = jobTitle;
  if (manager !== undefined) rec.manager = manager;
  if (enabled !== undefined) rec.enabled = enabled;
  return rec;
}

function replace(type: string, values: string[] | Buffer[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
}

/**
 * Sets the enabled state; returns whether the directory was changed. Idempotent: a user already in
 * the wanted state is not modified. AD: read-modify-write of userAccountControl (replace), keeping
 * every bit but ACCOUNTDISABLE; a concurrent change of other bits between the read and the write
 * could be overwritten (AD offers no compare-and-swap on it short of a delete+add value pair).
 */
export async function setEnabled(s: LdapSession, entry: Entry, enabled: boolean): Promise<boolean> {
  const dn = entry.dn;
  if (s.cfg.flavor === 'active-directory') {
    const uac = userAccountControl(entry);
    if (uac === undefined) throw new TerminalError(`userAccountControl of ${dn} is missing or not readable by ${s.cfg.bindDN}`, { applied: 'no' });
    const next = enabled ? uac & ~ACCOUNTDISABLE : uac | ACCOUNTDISABLE;
    if (next === uac) return false;
    await s.write((c) => c.modify(dn, replace('userAccountControl', [String(next >>> 0)])), dn);
    return true;
  }
  const locked = attr(entry, 'pwdAccountLockedTime');
  if (!enabled) {
    if (locked === PERMANENT_LOCK) return false;
    await s.write((c) => c.modify(dn, replace('pwdAccountLockedTime', [PERMANENT_LOCK])), dn);
    return true;
  }
  if (locked === undefined) return false;
  try {
    await s.write((c) => c.modify(dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) })), dn);
  } catch (err) {
    // noSuchAttribute: unlocked meanwhile (e.g. a lockout expired at the next bind) — the wanted state.
    if (err instanceof TerminalError && err.vendorCode === '16') return false;
    throw err;
  }
  return true;
}

/** AD's unicodePwd value: the password in double quotes, UTF-16LE encoded. */
export function adUnicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** RFC 3062 PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0], oldPasswd [1] (omitted), newPasswd [2] }. */
export function passwordModifyValue(userDn: string, newPassword: string): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeString(userDn, 0x80);
  w.writeString(newPassword, 0x82);
  w.endSequence();
  return w.buffer;
}

/** Sets a user's password (AD: unicodePwd over LDAPS; OpenLDAP: Password Modify extended operation). */
export async function setPassword(s: LdapSession, dn: string, password: string): Promise<void> {
  s.addSecret(password);
  if (s.cfg.flavor === 'active-directory') {
    await s.write((c) => c.modify(dn, replace('unicodePwd', [adUnicodePwd(password)])), dn);
  } else {
    await s.write((c) => c.exop(PASSWORD_MODIFY_OID, passwordModifyValue(dn, password)), dn);
  }
}

const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-.:=?@_~'];

/** 24 random characters with all four classes, which satisfies AD's default complexity rule. */
export function generatePassword(length = 24): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((c) => c[randomInt(c.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** When the password was last set: OpenLDAP ppolicy pwdChangedTime (GeneralizedTime) or AD pwdLastSet (FILETIME). */
export function passwordChangedAt(entry: Entry, flavor: LdapConfig['flavor']): Date | undefined {
  if (flavor === 'active-directory') {
    const v = attr(entry, 'pwdLastSet');
    if (!v || !/^\d+$/.test(v) || v === '0') return undefined; // 0: "must change at next logon", no time
    return new Date(Number(BigInt(v) / 10_000n - 11_644_473_600_000n));
  }
  const v = attr(entry, 'pwdChangedTime');
  const m = v && /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/.exec(v);
  if (!m) return undefined;
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms));
}
