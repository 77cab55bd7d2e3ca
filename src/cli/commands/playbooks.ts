/** `riposte playbooks list|bind`: the shipped playbooks and their per-installation settings. */
import type { Command } from 'commander';
import { firstPartyCatalog } from '../../apps/catalog.js';
import type { LoadedPlaybook } from '../../engine/registry.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import { loadBuiltinPlaybooks } from '../../server/builtin-playbooks.js';
import { CliError, cliActor, printJson, withStore } from '../open-store.js';
import { table } from '../format.js';

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

/** The installed playbooks, read from their sandbox bundles (their code is not run here). */
async function installedPlaybooks(): Promise<LoadedPlaybook[]> {
  const sandbox = new Sandbox();
  try {
    return await loadBuiltinPlaybooks(sandbox, { adhoc: false });
  } finally {
    sandbox.close();
  }
}

export function registerPlaybooks(program: Command): void {
  const playbooks = program.command('playbooks').description('playbooks and their role bindings');

  playbooks.command('list')
    .description('playbooks with triggers, roles, bindings and automation level')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const installed = await installedPlaybooks();
      const rows = await withStore(cmd, (store) => Promise.all(installed.map(async ({ config: p, hash }) => {
        const s = await store.getPlaybookSettings(p.id);
        return {
          id: p.id, version: p.version, hash, description: p.description ?? null, triggers: p.triggers, roles: p.roles,
          bindings: s?.bindings ?? {}, enabled: s?.enabled ?? true,
          automation: s?.automation ?? p.automation ?? null, automationSource: s?.automation ? 'settings' : 'playbook default',
        };
      })));
      if (opts.json) return printJson({ playbooks: rows });
      if (rows.length === 0) return console.log('no playbooks');
      console.log(table(['PLAYBOOK', 'VERSION', 'ENABLED', 'AUTOMATION', 'TRIGGERS (labels)', 'ROLES (role:capability → asset)'], rows.map((r) => [
        r.id, String(r.version), r.enabled ? 'yes' : 'no', r.automation ?? '-', r.triggers.labels.join(', '),
        Object.entries(r.roles).map(([role, cap]) => `${role}${role === cap ? '' : `:${cap}`} → ${r.bindings[role] ?? 'UNBOUND'}`).join(', '),
      ])));
    });

  playbooks.command('bind')
    .description("bind a playbook's capability roles to assets, e.g. mdm=intune-prod firewall=pa-edge")
    .argument('<playbookId>')
    .argument('<binding...>', '<role>=<asset>')
    .action(async (playbookId: string, pairs: string[], _opts: unknown, cmd: Command) => {
      const installed = await installedPlaybooks();
      const playbook = installed.find((p) => p.config.id === playbookId)?.config;
      if (!playbook) throw new CliError(`no playbook "${playbookId}" (known: ${installed.map((p) => p.config.id).join(', ')})`);
      const wanted = parseBindings(pairs);
      const catalog = firstPartyCatalog();
      const settings = await withStore(cmd, async (store) => {
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
        return store.putPlaybookSettings({
          playbookId, enabled: current?.enabled ?? true, automation: current?.automation ?? null,
          bindings: { ...(current?.bindings ?? {}), ...wanted },
        }, cliActor());
      });
      for (const [role, assetName] of Object.entries(wanted)) console.log(`bound ${playbookId} role ${role} → asset ${assetName}`);
      const unbound = Object.keys(playbook.roles).filter((r) => !Object.hasOwn(settings.bindings, r));
      if (unbound.length > 0) console.log(`still unbound: ${unbound.join(', ')}`);
    });
}
