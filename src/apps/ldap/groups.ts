/**
 * Group membership of a user. When the user entry carries memberOf (AD, or OpenLDAP with the
 * memberof overlay) that list is used; otherwise groups are searched:
 * - Active Directory: (&(objectClass=group)(member=<dn>))
 * - OpenLDAP: member / uniqueMember = <dn> (groupOfNames, groupOfUniqueNames) or memberUid = <uid>
 *   (posixGroup, RFC 2307).
 * Group searches use the simple paged results control (RFC 2696) so results beyond the server's
 * size limit (AD MaxPageSize 1000, slapd sizelimit) are all returned.
 * AD caveats: memberOf omits the primary group (usually Domain Users) and nested memberships; a
 * user in more than MaxValRange groups gets `memberOf;range=…`, which switches to the search.
 */
import type { Entry } from 'ldapts';
import { escapeFilterValue, firstRdnValue, assertFilter } from './filter.js';
import type { LdapSession } from './session.js';
import { attr, attrAll } from './users.js';

export const PAGE_SIZE = 500;

export interface GroupRef {
  dn: string;
  name: string;
}

export interface Membership {
  groups: GroupRef[];
  source: 'memberOf' | 'search';
}

export function groupFilter(flavor: 'active-directory' | 'openldap', userDn: string, uid?: string): string {
  const dn = escapeFilterValue(userDn);
  if (flavor === 'active-directory') return `(&(objectClass=group)(member=${dn}))`;
  const byUid = uid ? `(memberUid=${escapeFilterValue(uid)})` : '';
  return `(|(member=${dn})(uniqueMember=${dn})${byUid})`;
}

export async function userGroups(s: LdapSession, user: Entry): Promise<Membership> {
  const ranged = Object.keys(user).some((k) => /^memberOf;range=/i.test(k));
  const memberOf = attrAll(user, 'memberOf');
  if (memberOf.length > 0 && !ranged) {
    return { source: 'memberOf', groups: sortGroups(memberOf.map((dn) => ({ dn, name: firstRdnValue(dn) }))) };
  }
  const filter = groupFilter(s.cfg.flavor, user.dn, attr(user, 'uid'));
  assertFilter(filter, 'group search');
  const groups: GroupRef[] = [];
  await s.read(async (c) => {
    for await (const page of c.searchPaginated(s.cfg.baseDN, { scope: 'sub', filter, attributes: ['cn'], paged: { pageSize: PAGE_SIZE } })) {
      for (const e of page.searchEntries) groups.push({ dn: e.dn, name: attr(e, 'cn') ?? firstRdnValue(e.dn) });
    }
  }, s.cfg.baseDN);
  return { source: 'search', groups: sortGroups(groups) };
}

function sortGroups(groups: GroupRef[]): GroupRef[] {
  return groups.sort((a, b) => a.name.localeCompare(b.name) || a.dn.localeCompare(b.dn));
}
