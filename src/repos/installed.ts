/**
 * The active playbooks as the store holds them (their code is not run: the configuration each
 * declared was validated in the sandbox when its commit was activated), with what each declares
 * beyond what an admin confirmed; and the confirmation itself. Shared by the CLI and the API.
 */
import { declaredPower, unconfirmedPower } from '../engine/power.js';
import type { CapabilityName } from '../sdk/capabilities.js';
import type { PlaybookConfig } from '../sdk/playbook.js';
import type { PlaybookOrigin } from '../store/records.js';
import type { PlaybookGrant } from '../store/repo-records.js';
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
    const unconfirmed = unconfirmedPower(declaredPower(config), await store.getPlaybookGrant(a.playbookId));
    return { config, hash: a.hash, source: { repository: a.repo, commit: a.commit, path: a.path }, unconfirmed };
  }));
}

export class NoSuchPlaybook extends Error {
  constructor(id: string) {
    super(`no active playbook "${id}"`);
    this.name = 'NoSuchPlaybook';
  }
}

/** Grants what the playbook's active version declares; null when there was nothing to confirm. */
export async function confirmPlaybook(store: Store, playbookId: string, actor: string): Promise<{ playbook: InstalledPlaybook; grant: PlaybookGrant | null }> {
  const playbook = (await installedPlaybooks(store)).find((p) => p.config.id === playbookId);
  if (!playbook) throw new NoSuchPlaybook(playbookId);
  if (playbook.unconfirmed.length === 0) return { playbook, grant: null };
  return { playbook, grant: await store.grantPlaybookPower(playbookId, declaredPower(playbook.config), actor) };
}
