/** `riposte apps list|show`: the installed apps, their actions (with inputs) and asset configuration. */
import type { Command } from 'commander';
import { firstPartyCatalog } from '../../apps/catalog.js';
import type { AnyActionDefinition, AppDefinition } from '../../sdk/app.js';
import { CliError, printJson } from '../open-store.js';
import { formatDuration, table } from '../format.js';
import { objectFields, presence, type FieldInfo } from '../schema-fields.js';
import { print } from '../output.js';

// The SDK's defaults (src/sdk/app.ts), shown when an action does not set its own.
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_ATTEMPTS = 3;

export function findApp(appId: string): AppDefinition {
  const catalog = firstPartyCatalog();
  const app = catalog.get(appId);
  if (!app) throw new CliError(`no app "${appId}" (installed: ${catalog.all().map((a) => a.id).join(', ')})`);
  return app;
}

export function configFields(app: AppDefinition): Array<FieldInfo & { secret: boolean }> {
  const secrets = new Set<string>(app.secrets);
  return objectFields(app.config).map((f) => ({ ...f, secret: secrets.has(f.name) }));
}

function describeAction(name: string, a: AnyActionDefinition) {
  return {
    name, description: a.description, kind: a.kind, readOnly: a.readOnly,
    readOnlyPerAsset: typeof a.readOnlyFor === 'function', idempotent: a.idempotent, undo: a.undo ?? null,
    reconcile: typeof a.reconcile === 'function', timeoutMs: a.timeoutMs ?? DEFAULT_TIMEOUT_MS, timeoutIsDefault: a.timeoutMs === undefined,
    maxAttempts: a.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, input: objectFields(a.input), output: objectFields(a.output),
  };
}

export function describeApp(app: AppDefinition) {
  return {
    id: app.id, name: app.name, vendor: app.vendor, product: app.product, version: app.version, description: app.description ?? null,
    implements: [...(app.implements ?? [])], testConnectivity: typeof app.testConnectivity === 'function',
    config: configFields(app), actions: Object.entries(app.actions).map(([n, a]) => describeAction(n, a)),
  };
}

function fieldRows(fields: FieldInfo[], secret: (f: FieldInfo) => boolean = () => false): string[][] {
  return fields.map((f) => [f.name, f.type, presence(f) + (secret(f) ? ', SECRET' : ''), f.description ?? '']);
}

function indent(text: string, by: string): string {
  return text.split('\n').map((l) => `${by}${l}`).join('\n');
}

function printApp(d: ReturnType<typeof describeApp>): void {
  print(`App ${d.id}  ${d.name} (${d.vendor} · ${d.product}) version ${d.version}`);
  if (d.description) print(`  ${d.description}`);
  print(`  implements: ${d.implements.join(', ') || 'no capability'}`);
  print(`  connectivity test: ${d.testConnectivity ? 'yes (riposte assets test <asset>)' : 'no'}`);
  print('');
  print('Configuration of an asset (riposte assets add <name> --app ' + d.id + ')');
  print(indent(table(['FIELD', 'TYPE', 'PRESENCE', 'DESCRIPTION'], fieldRows(d.config, (f) => (f as FieldInfo & { secret: boolean }).secret)), '  '));
  print('');
  print('Actions');
  for (const a of d.actions) {
    const flags = [
      a.kind,
      (a.readOnly ? 'read-only' : 'writes') + (a.readOnlyPerAsset ? ' (unless the asset says otherwise)' : ''),
      a.idempotent ? 'idempotent' : 'non-idempotent',
      a.reconcile ? 'reconcile' : 'no reconcile',
      `undo: ${a.undo ?? 'none'}`,
      `timeout ${formatDuration(a.timeoutMs)}${a.timeoutIsDefault ? ' (default)' : ''}`,
      `up to ${a.maxAttempts} attempts`,
    ];
    print(`  ${a.name}  ${flags.join(', ')}`);
    print(`    ${a.description}`);
    if (a.input.length === 0) print('    input: none');
    else print(indent(table(['INPUT', 'TYPE', 'PRESENCE', 'DESCRIPTION'], fieldRows(a.input)), '    '));
    if (a.output.length > 0) print(`    output: ${a.output.map((f) => `${f.name}${f.required ? '' : '?'}: ${f.type}`).join(', ')}`);
    print('');
  }
}

export function registerApps(program: Command): void {
  const apps = program.command('apps').description('installed apps (vendor integrations) and their actions');

  apps.command('list')
    .description('installed apps with their capabilities and number of actions')
    .option('--json', 'machine-readable JSON')
    .action((opts: { json?: boolean }) => {
      const all = firstPartyCatalog().all().map((a) => ({
        id: a.id, name: a.name, product: a.product, vendor: a.vendor, version: a.version,
        implements: [...(a.implements ?? [])], actions: Object.keys(a.actions),
      }));
      if (opts.json) return printJson({ apps: all });
      print(table(['ID', 'PRODUCT', 'VENDOR', 'CAPABILITIES', 'ACTIONS'],
        all.map((a) => [a.id, a.product, a.vendor, a.implements.join(', ') || '-', String(a.actions.length)])));
    });

  apps.command('show')
    .description("an app's asset configuration and its actions: kind, read-only, idempotent, undo, reconcile, timeout, inputs")
    .argument('<appId>')
    .option('--json', 'machine-readable JSON')
    .action((appId: string, opts: { json?: boolean }) => {
      const d = describeApp(findApp(appId));
      if (opts.json) return printJson({ app: d });
      printApp(d);
    });
}
