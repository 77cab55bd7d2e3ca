/**
 * The server's view of the active playbooks: what every repository activated, loaded from the
 * store into the sandbox and handed to the registry. The store is the truth (a sync by the CLI,
 * another process or this server's API all end in it): the catalog polls its revision and reloads
 * when it changes, so an activation or a confirmation takes effect within `pollMs` everywhere.
 *
 * Runs keep the code they started with: a run whose code hash is no longer active is executed on
 * its own bundle, found by hash (bundles are kept), so activating a new commit never changes the
 * code under a parked run.
 *
 * Failure semantics: a bundle that no longer loads (e.g. a Riposte upgrade changed the SDK's
 * checks) is left out and reported through `onError`; the other playbooks stay active. A failed
 * refresh keeps the previous set and is retried at the next poll.
 */
import type { LoadedPlaybook, PlaybookRegistry, RegisteredPlaybook } from '../engine/registry.js';
import { declaredPower, unconfirmedPower } from '../engine/power.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { ActivePlaybook, StoredBundle } from '../store/repo-records.js';
import type { Store } from '../store/store.js';

export interface CatalogOptions {
  /** Playbooks that are not in any repository (the ad-hoc action's). */
  fixed?: LoadedPlaybook[];
  pollMs?: number;
  onError?: (err: unknown) => void;
}

export class PlaybookCatalog {
  private revision = -1;
  /** Loaded bundles by hash: a bundle is evaluated into the sandbox once per process. */
  private readonly loaded = new Map<string, Omit<LoadedPlaybook, 'source' | 'unconfirmed'>>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly sandbox: Sandbox,
    private readonly registry: PlaybookRegistry,
    private readonly opts: CatalogOptions = {},
  ) {
    registry.pastCode = (id, hash, repository) => this.pastCode(id, hash, repository);
  }

  /** Reloads the active playbooks if anything changed since the last time (or `force`). */
  refresh(force = false): Promise<void> {
    // One reload at a time, each after the previous: a caller that just activated a commit gets a
    // reload that reads the store after its write (a cheap revision check when nothing changed).
    const next = this.refreshing.catch(() => undefined).then(() => this.reload(force));
    this.refreshing = next;
    return next;
  }

  start(): void {
    const tick = () => {
      this.refresh().catch((err: unknown) => this.opts.onError?.(err)).finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, this.opts.pollMs ?? 2000).unref();
      });
    };
    this.timer = setTimeout(tick, this.opts.pollMs ?? 2000).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async reload(force: boolean): Promise<void> {
    const revision = await this.store.playbookCatalogRevision();
    if (!force && revision === this.revision) return;
    const active = await this.store.activePlaybooks();
    const playbooks: LoadedPlaybook[] = [...(this.opts.fixed ?? [])];
    const ids = new Set(playbooks.map((p) => p.config.id));
    for (const a of active) {
      // The store gives an id to one repository; a fixed playbook's id is reserved. Never let one
      // bad row stop every later reload (or the server's start): report it and leave it out.
      if (ids.has(a.playbookId)) {
        this.opts.onError?.(new Error(`playbook ${a.playbookId} (${a.repo}:${a.path}) is left out: its id is taken`));
        continue;
      }
      ids.add(a.playbookId);
      try {
        playbooks.push(await this.withGrant(await this.load(a.hash), a));
      } catch (err) {
        this.opts.onError?.(new Error(`playbook ${a.playbookId} (${a.repo}:${a.path}) could not be loaded: ${(err as Error).message}`));
      }
    }
    this.registry.replace(playbooks);
    this.revision = revision;
  }

  private async load(hash: string, stored?: StoredBundle): Promise<Omit<LoadedPlaybook, 'source' | 'unconfirmed'>> {
    const known = this.loaded.get(hash);
    if (known) return known;
    const bundle = stored ?? (await this.store.getBundle(hash));
    if (!bundle) throw new Error(`bundle ${hash} is missing from the store`);
    const playbook = await this.sandbox.loadAsync({ hash: bundle.hash, code: bundle.code });
    const loaded = playbook.loaded();
    this.loaded.set(hash, loaded);
    return loaded;
  }

  private async withGrant(p: Omit<LoadedPlaybook, 'source' | 'unconfirmed'>, a: ActivePlaybook): Promise<LoadedPlaybook> {
    const grant = await this.store.getPlaybookGrant(p.config.id);
    const unconfirmed = unconfirmedPower(declaredPower(p.config), grant, a.repo);
    return { ...p, source: { repository: a.repo, commit: a.commit, path: a.path }, unconfirmed };
  }

  /**
   * A run's code from an earlier activation: its bundle, under today's grant for its playbook if
   * that grant is for the repository the run's code came from (a removed repository's grants are
   * gone, and another repository's do not cover it: such a run resumes supervised).
   */
  private async pastCode(
    playbookId: string, hash: string, repository: string | null,
  ): Promise<RegisteredPlaybook | null> {
    const bundle = this.loaded.has(hash) ? null : await this.store.getBundle(hash);
    if (!this.loaded.has(hash) && !bundle) return null;
    const p = await this.load(hash, bundle ?? undefined);
    if (p.config.id !== playbookId) return null;
    const grant = await this.store.getPlaybookGrant(playbookId);
    return { ...p, unconfirmed: unconfirmedPower(declaredPower(p.config), grant, repository) };
  }
}
