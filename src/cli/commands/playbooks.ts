/**
 * `riposte playbooks list|confirm|bind|trigger`: the active playbooks of every repository and their
 * per-installation settings. `list`, `confirm` and `bind` work on the store (local administration);
 * `trigger` goes through the API as an admin, like the other policy changes.
 */
import type { Command } from 'commander';
import { firstPartyCatalog } from '../../apps/catalog.js';
import { join } from 'node:path';
import { BUILTIN_REPOSITORY } from '../../../playbooks/index.js';
import { effectiveAutomation } from '../../engine/power.js';
import { confirmPlaybook, installedPlaybooks as activePlaybooks, type InstalledPlaybook } from '../../repos/installed.js';
import { RepoSyncer } from '../../repos/sync.js';
import { PlaybookChangedError } from '../../store/repo-records.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import type { SqliteStore } from '../../store/sqlite/index.js';
import {
  effectiveTrigger, parseTriggerCondition, TriggerConditionError, type EffectiveTrigger,
} from '../../engine/trigger-condition.js';
import { addApiOptions, apiClient } from '../api-client.js';
import { CliError, cliActor, dataDirOf, printJson, withStore } from '../open-store.js';
import { shortCommit, table, terminalSafe } from '../format.js';
import { registerPlaybookAuthoring } from './playbooks-author.js';
import { print } from '../output.js';

/** Parses `role=asset` pairs; the same role twice is refused. */
export function parseBindings(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(p);
    if (!m) throw new CliError(`binding "${p}" must look like <role>=<asset>`);
    if (Object.hasOwn(out, m[1]!)) throw new CliError(`role "${m[1]}" is bound twice`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** The active playbooks; a data directory whose server has not run this version yet gets its built-in repository first. */
async function installedPlaybooks(store: SqliteStore, cmd: Command): Promise<InstalledPlaybook[]> {
  if (!(await store.getRepo(BUILTIN_REPOSITORY))) {
    const sandbox = new Sandbox();
    try {
      await new RepoSyncer(store, sandbox, { mirrorsDir: join(dataDirOf(cmd), 'repos') }).syncBuiltin();
    } finally {
      sandbox.close();
    }
  }
  return activePlaybooks(store);
}

export function registerPlaybooks(program: Command): void {
  const playbooks = program.command('playbooks').description('playbooks and their role bindings; new and test for authors');
  registerPlaybookAuthoring(playbooks);

  playbooks.command('list')
    .description('playbooks with their repository, triggers, roles, bindings and automation level')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const rows = await withStore(cmd, async (store) => Promise.all((await installedPlaybooks(store, cmd)).map(async ({ config: p, hash, source, unconfirmed }) => {
        const s = await store.getPlaybookSettings(p.id);
        const confirmed = unconfirmed.length === 0;
        return {
          id: p.id, version: p.version, hash, source, description: p.description ?? null, triggers: p.triggers, roles: p.roles,
          bindings: s?.bindings ?? {}, enabled: s?.enabled ?? true,
          automation: effectiveAutomation(s?.automation ?? null, p.automation, confirmed),
          automationSource: !confirmed ? 'unconfirmed: supervised until an admin confirms' : s?.automation ? 'settings' : 'playbook default',
          unconfirmed,
          trigger: effectiveTrigger(p.triggers.when, s?.triggerWhen),
        };
      })));
      if (opts.json) return printJson({ playbooks: rows });
      if (rows.length === 0) return print('no playbooks');
      const headers = [
        'PLAYBOOK', 'VERSION', 'REPOSITORY@COMMIT', 'ENABLED', 'AUTOMATION', 'TRIGGERS (labels)',
        'ROLES (role:capability → asset)', 'CONDITION (whose)',
      ];
      print(table(headers, rows.map((r) => [
        terminalSafe(r.id), String(r.version), terminalSafe(`${r.source.repository}@${shortCommit(r.source.commit) ?? '(dir)'}`),
        r.enabled ? 'yes' : 'no', `${r.automation}${r.unconfirmed.length > 0 ? ' (unconfirmed)' : ''}`, terminalSafe(r.triggers.labels.join(', ')),
        terminalSafe(Object.entries(r.roles).map(([role, cap]) => `${role}${role === cap ? '' : `:${cap}`} → ${r.bindings[role] ?? 'UNBOUND'}`).join(', ')),
        r.trigger.when === null ? '-' : `${terminalSafe(r.trigger.when)} (${r.trigger.from})`,
      ])));
      if (rows.some((r) => r.unconfirmed.length > 0)) print('\nunconfirmed playbooks run supervised: see and confirm with `riposte playbooks confirm <playbook>`');
    });

  playbooks.command('confirm')
    .description('confirm what a playbook declares about its power (automation level, roles): until then it runs'
      + ' supervised. Without --hash it shows the change and the hash of the code it applies to;'
      + ' repeat with --hash to confirm that code')
    .argument('<playbookId>')
    .option('--hash <hash>', 'the bundle hash shown with the change: only that code is confirmed')
    .action(async (playbookId: string, opts: { hash?: string }, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const p = (await installedPlaybooks(store, cmd)).find((i) => i.config.id === playbookId);
        if (!p) throw new CliError(`no active playbook "${playbookId}"`);
        const id = terminalSafe(playbookId);
        const where = terminalSafe(`${p.source.repository}@${p.source.commit ?? '(directory)'}:${p.source.path}`);
        if (opts.hash !== undefined && opts.hash !== p.hash) {
          throw new CliError(`${id} changed since it was reviewed: --hash ${terminalSafe(opts.hash)}, `
            + `but the active bundle is ${p.hash} (${where}); review it again: \`riposte playbooks confirm ${id}\``);
        }
        if (p.unconfirmed.length === 0) return print(`${id} (bundle ${p.hash}): nothing to confirm`);
        if (opts.hash === undefined) {
          print(`${id} (${where}, bundle ${p.hash}) declares:`);
          for (const u of p.unconfirmed) print(`  ${terminalSafe(u)}`);
          throw new CliError(`read the above, then repeat with --hash ${p.hash} to confirm it`);
        }
        try {
          await confirmPlaybook(store, playbookId, opts.hash, cliActor());
        } catch (err) {
          // A sync activated other code between our read and the store's transaction: nothing was granted.
          if (err instanceof PlaybookChangedError) throw new CliError(err.message);
          throw err;
        }
        print(`confirmed ${id} (${where}, bundle ${p.hash}): ${p.unconfirmed.map(terminalSafe).join('; ')}`);
      });
    });

  addApiOptions(playbooks.command('trigger')
    .description("the condition an incident must meet, beyond its label, to start the playbook (replaces its own)")
    .argument('<playbookId>')
    .option('--when <expression>', 'e.g. \'severity >= "high" && artifact.destinationAddress in list("bad-ips")\'')
    .option('--clear', "remove the operator's condition: the playbook's own (if any) applies again"))
    .action(async (playbookId: string, o: { when?: string; clear?: boolean }, cmd: Command) => {
      if ((o.when === undefined) === (o.clear !== true)) {
        throw new CliError('give either --when "<expression>" or --clear');
      }
      // Checked here first, so a typo is named at once and the server is not even asked.
      if (o.when !== undefined) {
        try {
          parseTriggerCondition(o.when);
        } catch (err) {
          if (err instanceof TriggerConditionError) throw new CliError(err.message);
          throw err;
        }
      }
      const { trigger } = await apiClient(cmd).send<{ trigger: EffectiveTrigger }>(
        'PUT', `/playbooks/${encodeURIComponent(playbookId)}/trigger`, { when: o.when ?? null });
      const label = terminalSafe(playbookId);
      if (trigger.when === null) {
        print(`${label}: no condition — every incident with one of its labels starts a run`);
      } else {
        const whose = trigger.from === 'operator' ? "the operator's condition" : "the playbook's own condition";
        print(`${label}: runs start only when ${terminalSafe(trigger.when)} (${whose})`);
      }
    });

  playbooks.command('bind')
    .description("bind a playbook's capability roles to assets, e.g. mdm=intune-prod firewall=pa-edge")
    .argument('<playbookId>')
    .argument('<binding...>', '<role>=<asset>')
    .action(async (playbookId: string, pairs: string[], _opts: unknown, cmd: Command) => {
      const wanted = parseBindings(pairs);
      const catalog = firstPartyCatalog();
      const { settings, playbook } = await withStore(cmd, async (store) => {
        const installed = await installedPlaybooks(store, cmd);
        const playbook = installed.find((p) => p.config.id === playbookId)?.config;
        if (!playbook) throw new CliError(`no playbook "${playbookId}" (known: ${installed.map((p) => p.config.id).join(', ')})`);
        for (const [role, assetName] of Object.entries(wanted)) {
          const capability = Object.hasOwn(playbook.roles, role) ? playbook.roles[role] : undefined;
          if (capability === undefined) throw new CliError(`playbook ${playbookId} has no role "${role}" (roles: ${Object.keys(playbook.roles).join(', ')})`);
          const asset = await store.getAsset(assetName);
          if (!asset) throw new CliError(`asset "${assetName}" does not exist`);
          const app = catalog.get(asset.appId);
          if (!app) throw new CliError(`asset "${assetName}" uses app "${asset.appId}", which is not installed`);
          if (!(app.implements ?? []).includes(capability)) {
            throw new CliError(`asset "${assetName}" (app ${app.id}) cannot serve role "${role}": the app does not implement the ${capability} capability (it implements: ${(app.implements ?? []).join(', ') || 'none'})`);
          }
        }
        const current = await store.getPlaybookSettings(playbookId);
        const settings = await store.putPlaybookSettings({
          playbookId, enabled: current?.enabled ?? true, automation: current?.automation ?? null, dryRun: current?.dryRun ?? false,
          bindings: { ...(current?.bindings ?? {}), ...wanted },
        }, cliActor());
        return { settings, playbook };
      });
      for (const [role, assetName] of Object.entries(wanted)) print(`bound ${playbookId} role ${role} → asset ${assetName}`);
      const unbound = Object.keys(playbook.roles).filter((r) => !Object.hasOwn(settings.bindings, r));
      if (unbound.length > 0) print(`still unbound: ${unbound.join(', ')}`);
    });
}
