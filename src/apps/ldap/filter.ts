/**
 * LDAP search filter and DN helpers. Every value a playbook passes ends up inside a filter, so it
 * is escaped per RFC 4515 §3: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`.
 * Without that, a "user name" such as `*)(uid=*` would turn a lookup into a match-everything query.
 */
import { FilterParser } from 'ldapts';
import { TerminalError } from '../../sdk/errors.js';

export const DEFAULT_USER_FILTER = '(|(sAMAccountName={user})(userPrincipalName={user})(mail={user})(uid={user}))';

/** RFC 4515 assertion-value escaping (UTF-8 passes through; only the five specials are escaped). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The configured user filter with every `{user}` replaced by the escaped value; parsed to be sure it is valid. */
export function buildUserFilter(template: string, user: string): string {
  const filter = template.split('{user}').join(escapeFilterValue(user));
  assertFilter(filter, 'userFilter');
  return filter;
}

/** A filter that does not parse is a configuration error, reported before anything is sent. */
export function assertFilter(filter: string, what: string): void {
  try {
    FilterParser.parseString(filter);
  } catch (err) {
    throw new TerminalError(`invalid LDAP filter in ${what}: ${(err as Error).message}`, { applied: 'no' });
  }
}

/**
 * Splits a DN into RDN strings at unescaped commas (RFC 4514), keeping escapes as they are.
 * Quoted values (obsolete RFC 2253 form) are not supported; directories do not return them.
 */
export function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + dn[i + 1]!;
      i++;
    } else if (c === ',' || c === ';') {
      parts.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur.trim());
  return parts.filter((p) => p !== '');
}

/** Normalized form for comparisons: RDNs trimmed, attribute names lower-cased, values case-folded. */
export function normalizeDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return eq < 0 ? rdn.toLowerCase() : `${rdn.slice(0, eq).trim().toLowerCase()}=${rdn.slice(eq + 1).trim().toLowerCase()}`;
    })
    .join(',');
}

/** True when `value` looks like a DN (`attr=value,…`) strictly below `baseDN`. */
export function isDnUnder(value: string, baseDN: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9-]*\s*=/.test(value) || !value.includes(',')) return false;
  return normalizeDn(value).endsWith(`,${normalizeDn(baseDN)}`);
}

/** The value of a DN's first RDN, unescaped: `cn=Sales\, EMEA,ou=groups,…` → `Sales, EMEA`. */
export function firstRdnValue(dn: string): string {
  const rdn = splitDn(dn)[0] ?? dn;
  const raw = rdn.slice(rdn.indexOf('=') + 1);
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (raw[i] === '\\' && i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw[i + 1]!, 'utf8'));
      i++;
    } else {
      bytes.push(...Buffer.from(raw[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
