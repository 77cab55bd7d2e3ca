/**
 * Who may edit a custom list's items. Without editors of its own, a list is edited by anyone
 * holding `lists.edit`; with editors (users and/or roles), only by those among them, and always by
 * a holder of `lists.admin`. Stored as a policy setting per list (`list.editors:<name>`), so each
 * change is audited in the same transaction. Deleting a list keeps its editors: a list of the same
 * name created later is protected the same way until an administrator clears them.
 */
import type { PolicyStore } from '../store/policy-store.js';
import type { Approvers } from '../store/policy-records.js';

export type ListEditors = Approvers;

const key = (list: string) => `list.editors:${list}`;

export async function getListEditors(policy: PolicyStore, list: string): Promise<ListEditors | null> {
  const v = await policy.getSetting<ListEditors>(key(list));
  return v && (v.users.length > 0 || v.roles.length > 0) ? v : null;
}

/** Sets (or, with no users and no roles, clears) a list's editors; audited as `list.editors`. */
export async function putListEditors(
  policy: PolicyStore, list: string, editors: ListEditors, actor: string,
): Promise<void> {
  const value = { users: [...new Set(editors.users)], roles: [...new Set(editors.roles)] };
  await policy.putSetting(key(list), value, actor, 'list.editors');
}
