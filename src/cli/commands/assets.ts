/**
 * `riposte assets add|list|show|test|remove`: the configured instances of apps (a tenant, a
 * firewall, a Jira site) with their credentials. Secrets are encrypted by the store and shown
 * here only as ••••••.
 */
import type { Command } from 'commander';
import type { SqliteStore } from '../../store/sqlite/index.js';
import type { AssetRecord } from '../../store/records.js';
import { firstPartyCatalog } from '../../apps/catalog.js';
import { CliError, cliActor, printJson, withStore } from '../open-store.js';
import { formatTime, table, terminalSafe } from '../format.js';
import { findApp } from './apps.js';
import { allowanceProblem } from '../../common/ip-ranges.js';
import { assetEgressProblems, egressPolicy, withEgressPolicy } from '../../common/egress-guard.js';
import { MASK, assetInput, configSummary, maskedConfig, promptHidden, readAllStdin } from '../asset-input.js';
import { print } from '../output.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TEST_TIMEOUT_MS = 15_000;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface Binding { playbookId: string; role: string }

/**
 * Playbook roles bound to the asset. The Store has no listing of playbook settings, so the ids
 * come from the table itself (covers settings of playbooks that are not shipped, too).
 */
async function bindingsOf(store: SqliteStore, asset: string): Promise<Binding[]> {
  const ids = (store.db.prepare('SELECT playbook_id FROM playbook_settings ORDER BY playbook_id').all() as Array<{ playbook_id: string }>).map((r) => r.playbook_id);
  const out: Binding[] = [];
  for (const id of ids) {
    const s = await store.getPlaybookSettings(id);
    for (const [role, bound] of Object.entries(s?.bindings ?? {})) if (bound === asset) out.push({ playbookId: id, role });
  }
  return out;
}

function publicView(a: AssetRecord) {
  return {
    name: a.name, appId: a.appId, description: a.description, config: maskedConfig(a.config, a.secretFields),
    secretFields: a.secretFields, egressAllow: a.egressAllow, createdAt: a.createdAt, updatedAt: a.updatedAt,
  };
}

function printConfig(masked: Record<string, unknown>, secretFields: string[]): void {
  const keys = Object.keys(masked);
  const width = Math.max(0, ...keys.map((k) => k.length));
  for (const k of keys) {
    const v = masked[k];
    print(`    ${terminalSafe(k).padEnd(width)}  ${terminalSafe(typeof v === 'string' ? v : JSON.stringify(v))}${secretFields.includes(k) ? '  (secret)' : ''}`);
  }
}

/** Replaces every secret value found in `text` (defence in depth: app messages should not contain any). */
function scrub(text: string, secrets: Record<string, string>): string {
  let out = text;
  for (const v of Object.values(secrets)) if (v.length >= 4) out = out.split(v).join(MASK);
  return out;
}

export function registerAssets(program: Command): void {
  const assets = program.command('assets').description('configured app instances (credentials are stored encrypted)');

  assets.command('add')
    .description('add an asset of an app; secrets only from files, environment, stdin or a prompt')
    .argument('<name>', "1-64 letters, digits, '.', '_' or '-'")
    .requiredOption('--app <appId>', 'the app (see riposte apps list)')
    .option('--config <key=value>', 'a configuration field (repeatable); numbers and booleans are typed per the app', collect, [])
    .option('--config-file <file>', 'JSON object of configuration fields (secret fields in it are stored as secrets)')
    .option('--secret <key=source>', 'a secret field: key=@file, key=env:VAR or key=- (stdin) (repeatable)', collect, [])
    .option('--prompt-secrets', 'ask for the secrets not given otherwise on the terminal, without echo')
    .option('--description <text>', 'what this asset is')
    .option('--replace', 'replace an existing asset of that name (all its fields and secrets)')
    .option('--egress-allow <loopback|private|CIDR>',
      'let the asset reach loopback, private ranges or a CIDR of them (repeatable; default: public addresses only)',
      collect, [])
    .action(async (name: string, opts: {
      app: string; config: string[]; configFile?: string; secret: string[]; promptSecrets?: boolean;
      description?: string; replace?: boolean; egressAllow: string[];
    }, cmd: Command) => {
      if (!NAME_RE.test(name)) throw new CliError(`invalid asset name "${name}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
      const app = findApp(opts.app);
      for (const e of opts.egressAllow) {
        const problem = allowanceProblem(e);
        if (problem !== null) throw new CliError(`--egress-allow: ${problem}`);
      }
      const rec = await withStore(cmd, async (store) => {
        // Before asking for any secret.
        if (!opts.replace && (await store.getAsset(name))) throw new CliError(`asset "${name}" already exists (pass --replace to replace it)`);
        const input = await assetInput(app, opts, {
          readStdin: readAllStdin,
          ...(process.stdin.isTTY ? { prompt: (f: { name: string; required: boolean }) => promptHidden(`${f.name}${f.required ? '' : ' (optional, Enter to skip)'}: `) } : {}),
        });
        // Before anything is saved: a URL the egress policy refuses (file:, metadata, loopback …).
        const refused = assetEgressProblems(app.id, name, { ...input.config, ...input.secrets }, opts.egressAllow);
        if (refused.length > 0) throw new CliError(`asset "${name}" not saved: ${refused.join('; ')}`);
        const description = opts.description !== undefined ? { description: opts.description } : {};
        return store.putAsset({ name, appId: app.id, ...description, ...input, egressAllow: opts.egressAllow }, cliActor());
      });
      print(`${opts.replace ? 'saved' : 'added'} asset "${rec.name}" (app ${rec.appId})`);
      printConfig(maskedConfig(rec.config, rec.secretFields), rec.secretFields);
      print(`  egress: public addresses${rec.egressAllow.length > 0 ? `, ${rec.egressAllow.join(', ')}` : ' only'}`);
      if (app.testConnectivity) print(`check it with: riposte assets test ${rec.name}`);
    });

  assets.command('list')
    .description('assets with their app and configuration (secrets masked)')
    .option('--json', 'machine-readable JSON (secrets masked)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const all = (await withStore(cmd, (store) => store.listAssets())).map(publicView);
      if (opts.json) return printJson({ assets: all });
      if (all.length === 0) return print('no assets (add one with: riposte assets add <name> --app <appId>)');
      print(table(['NAME', 'APP', 'CONFIG', 'UPDATED', 'DESCRIPTION'],
        all.map((a) => [a.name, a.appId, configSummary(a.config), formatTime(a.updatedAt), a.description ?? ''])));
    });

  assets.command('show')
    .description('an asset: configuration (secrets masked) and the playbook roles bound to it')
    .argument('<name>')
    .option('--json', 'machine-readable JSON (secrets masked)')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const { asset, bindings } = await withStore(cmd, async (store) => {
        const a = await store.getAsset(name);
        if (!a) throw new CliError(`asset "${name}" does not exist`);
        return { asset: a, bindings: await bindingsOf(store, name) };
      });
      const view = publicView(asset);
      if (opts.json) return printJson({ asset: view, bindings });
      const app = firstPartyCatalog().get(asset.appId);
      print(`Asset ${terminalSafe(view.name)}  app ${terminalSafe(view.appId)}${app ? ` (${app.name})` : ' (app not installed)'}`);
      if (view.description) print(`  ${terminalSafe(view.description)}`);
      print(`  created ${formatTime(view.createdAt)}, updated ${formatTime(view.updatedAt)}`);
      print('  configuration');
      printConfig(view.config, view.secretFields);
      print(`  egress: public addresses${view.egressAllow.length > 0 ? `, ${view.egressAllow.join(', ')}` : ' only'}`);
      print(bindings.length === 0 ? '  not bound to any playbook role'
        : `  bound to: ${bindings.map((b) => `playbook ${b.playbookId} role ${b.role}`).join(', ')}`);
    });

  assets.command('test')
    .description("check the asset's connectivity and credentials with the app's test")
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      // Resolved as the broker does: stored config and decrypted secrets, parsed with the app's schema.
      const { app, config, secrets, egress } = await withStore(cmd, async (store) => {
        const rec = await store.getAsset(name);
        if (!rec) throw new CliError(`asset "${name}" does not exist`);
        const a = firstPartyCatalog().get(rec.appId);
        if (!a) throw new CliError(`asset "${name}" uses app "${rec.appId}", which is not installed`);
        const s = rec.secretFields.length > 0 ? await store.getAssetSecrets(name) : {};
        const parsed = a.config.safeParse({ ...rec.config, ...s });
        if (!parsed.success) {
          const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
          throw new CliError(`asset "${name}" has an invalid configuration for app ${a.id}: ${fields}`);
        }
        return { app: a, config: parsed.data, secrets: s, egress: egressPolicy(name, rec.egressAllow) };
      });
      if (!app.testConnectivity) throw new CliError(`app ${app.id} has no connectivity test`);
      try {
        const test = app.testConnectivity;
        const res = await withEgressPolicy(egress, () => test({
          config, idempotencyKey: 'test', signal: AbortSignal.timeout(TEST_TIMEOUT_MS), attempt: 1, log() {},
        }));
        print(`OK  ${name} (${app.id})${res.detail ? `: ${scrub(res.detail, secrets)}` : ''}`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new CliError(`FAILED  ${name} (${app.id}): ${scrub(msg, secrets)}`);
      }
    });

  assets.command('remove')
    .description('remove an asset (refused while a playbook role is bound to it, unless --force)')
    .argument('<name>')
    .option('--force', 'remove even if playbook roles are bound to it (they will fail until rebound)')
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) => {
      const bindings = await withStore(cmd, async (store) => {
        if (!(await store.getAsset(name))) throw new CliError(`asset "${name}" does not exist`);
        const b = await bindingsOf(store, name);
        if (b.length > 0 && !opts.force) {
          throw new CliError(`asset "${name}" is bound to ${b.map((x) => `playbook ${x.playbookId} role ${x.role}`).join(', ')}; rebind with \`riposte playbooks bind\` first, or pass --force`);
        }
        await store.deleteAsset(name, cliActor());
        return b;
      });
      print(`removed asset "${name}"`);
      for (const b of bindings) print(`warning: playbook ${b.playbookId} role ${b.role} is still bound to "${name}", which no longer exists`);
    });
}
