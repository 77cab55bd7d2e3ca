/**
 * What a playbook declares about its own power — its default automation level and its roles — is a
 * proposal, not a grant. Until an admin confirms it (`riposte playbooks confirm`, audited), a
 * playbook whose declaration goes beyond what was last confirmed runs supervised (or at the
 * operator's level if that is stricter): its contain and correct actions wait for approval.
 *
 * "Beyond": a higher default automation level than the one confirmed, a role that was not
 * confirmed, or a confirmed role now bound to another capability (new actions, destructive ones
 * among them, are reachable only through roles). A playbook never confirmed has everything to
 * confirm unless it declares nothing above supervised and no role.
 *
 * A grant covers the playbook only as provided by the repository it was confirmed for: the same id
 * from another repository (or from code of unknown origin) is unconfirmed, whatever it declares.
 */
import { AUTOMATION_LEVELS, type AutomationLevel } from '../common/domain.js';
import { capabilities, type CapabilityName } from '../sdk/capabilities.js';
import type { PlaybookConfig } from '../sdk/playbook.js';
import type { PlaybookGrant, PlaybookPower } from '../store/repo-records.js';

export function declaredPower(config: PlaybookConfig<Record<string, CapabilityName>>): PlaybookPower {
  return { automation: config.automation ?? null, roles: { ...config.roles } };
}

const rank = (level: AutomationLevel | null): number => AUTOMATION_LEVELS.indexOf(level ?? 'supervised');

/**
 * What the declaration of a playbook provided by repository `provider` asks for beyond the grant,
 * in words an admin can decide on; empty: nothing.
 */
export function unconfirmedPower(
  declared: PlaybookPower, grant: PlaybookGrant | null, provider: string | null,
): string[] {
  if (grant !== null && grant.repo !== provider) {
    const foreign = `provided by repository ${provider ?? '(unknown)'}; confirmed for ${grant.repo}`;
    return [foreign, ...unconfirmedPower(declared, null, provider)];
  }
  const out: string[] = [];
  const grantedLevel = grant?.automation ?? null;
  if (rank(declared.automation) > rank(grantedLevel)) {
    out.push(`automation level ${declared.automation} (confirmed: ${grantedLevel ?? 'none, i.e. supervised'})`);
  }
  for (const [role, capability] of Object.entries(declared.roles)) {
    const before = grant?.roles[role];
    if (before === capability) continue;
    const actions = Object.keys(capabilities[capability as CapabilityName] ?? {}).map((a) => `${capability}.${a}`).join(', ');
    out.push(before === undefined
      ? `new role "${role}" (${capability}: ${actions})`
      : `role "${role}" changed from ${before} to ${capability} (${actions})`);
  }
  return out;
}

/**
 * The automation level a run gets: the operator's setting, else the playbook's default — unless
 * the playbook's power is not confirmed, then supervised or the operator's level if stricter.
 */
export function effectiveAutomation(operator: AutomationLevel | null, declared: AutomationLevel | undefined, confirmed: boolean): AutomationLevel {
  if (confirmed) return operator ?? declared ?? 'supervised';
  return rank(operator) < rank('supervised') ? operator! : 'supervised';
}
