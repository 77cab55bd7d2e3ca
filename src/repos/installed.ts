/**
 * The active playbooks as the store holds them (their code is not run: the configuration each
 * declared was validated in the sandbox when its commit was activated), with what each declares
 * beyond what an admin confirmed; and the confirmation itself. Shared by the CLI and the API.
 *
 * A confirmation names the bundle the admin reviewed (its hash, shown with the change): it grants
 * that bundle's declaration, for the repository providing it, or nothing at all if another bundle
 * became active since (PlaybookChangedError) — a push landing between review and confirmation is
 * never granted silently.
 */
import { declaredPower, unconfirmedPower } from '../engine/power.js';
import type { CapabilityName } from '../sdk/capabilities.js';
import type { PlaybookConfig } from '../sdk/playbook.js';
import type { PlaybookOrigin } from '../store/records.js';
import { PlaybookChangedError, type PlaybookGrant } from '../store/repo-records.js';
import type { Store } from '../store/store.js';

export interface InstalledPlaybook {
  config: PlaybookConfig<Record<string, CapabilityName>>;
  hash: string;
  source: PlaybookOrigin;
  /** Declared power no admin confirmed; non-empty: the playbook runs supervised. */
  unconfirmed: string[];
}

export async function installedPlaybooks(store: Store): Promise<InstalledPlaybook[]> {
  return Promise.all((await store.activePlaybooks()).map(async (a) => {
    const bundle = await store.getBundle(a.hash);
    if (!bundle) throw new Error(`the store has no bundle ${a.hash} for playbook ${a.playbookId}`);
    const config = bundle.config as PlaybookConfig<Record<string, CapabilityName>>;
    const unconfirmed = unconfirmedPower(declaredPower(config), await store.getPlaybookGrant(a.playbookId), a.repo);
    return { config, hash: a.hash, source: { repository: a.repo, commit: a.commit, path: a.path }, unconfirmed };
  }));
}

export class NoSuchPlaybook extends Error {
  constructor(id: string) {
    super(`no active playbook "${id}"`);
    this.name = 'NoSuchPlaybook';
  }
}

/**
 * Grants what bundle `hash` of the playbook declares, if it is the active one (else
 * PlaybookChangedError, nothing written); grant null when there was nothing to confirm.
 */
export async function confirmPlaybook(
  store: Store, playbookId: string, hash: string, actor: string,
): Promise<{ playbook: InstalledPlaybook; grant: PlaybookGrant | null }> {
  const playbook = (await installedPlaybooks(store)).find((p) => p.config.id === playbookId);
  if (!playbook) throw new NoSuchPlaybook(playbookId);
  if (playbook.hash !== hash) {
    throw new PlaybookChangedError(playbookId, { hash }, { repo: playbook.source.repository, hash: playbook.hash });
  }
  if (playbook.unconfirmed.length === 0) return { playbook, grant: null };
  // The store checks again, in its transaction, that this bundle from this repository is still active.
  const grant = await store.grantPlaybookPower(
    { playbookId, repo: playbook.source.repository, hash, power: declaredPower(playbook.config) }, actor);
  return { playbook, grant };
}
