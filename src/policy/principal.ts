/** Who decides: a user name and its roles (API token role plus the user account's roles). */
import type { PolicyStore } from '../store/policy-store.js';
import type { Approvers } from '../store/policy-records.js';

export interface Actor {
  name: string;
  roles: string[];
}

/** Resolves an API token's owner into an Actor: the token's role plus the roles of the user account of the same name. */
export async function actorFor(policy: PolicyStore, tokenName: string, tokenRole: string): Promise<Actor & { disabled: boolean; email: string | null }> {
  const user = await policy.getUser(tokenName);
  return { name: tokenName, roles: [...new Set([tokenRole, ...(user?.roles ?? [])])], disabled: user?.disabled ?? false, email: user?.email ?? null };
}

export function eligible(approvers: Approvers, actor: Actor): boolean {
  return approvers.users.includes(actor.name) || actor.roles.some((r) => approvers.roles.includes(r));
}

/** `user:alice` → `alice`; other principals (sources, system) have no user name. */
export function userOf(principal: string | null): string | null {
  return principal?.startsWith('user:') ? principal.slice(5) : null;
}
