/**
 * `riposte lists list|show|create|add|remove|delete|editors|guard`: custom lists (IPs, CIDRs,
 * hostnames, users…). These commands open the data directory, so they act as the local
 * administrator; `add` still asks for `--allow-broad` before an over-broad entry (0.0.0.0/0, ::/0, *).
 */
import type { Command } from 'commander';
import { CliError, cliActor, positiveInt, printJson, withStore } from '../open-store.js';
import { getListEditors, putListEditors } from '../../policy/list-editors.js';
import {
  broadEntryProblem, LIST_GUARD_SETTING, listGuardSettings, type ListGuardSettings,
} from '../../policy/list-guard.js';
import { formatTime, table, terminalSafe as s } from '../format.js';
import { print } from '../output.js';
import { LIST_KINDS } from '../../common/artifact-values.js';

export function registerLists(program: Command): void {
  const lists = program.command('lists').description('custom lists used by playbooks (IP lists match CIDR entries)');

  lists.command('list')
    .description('all lists with their item counts')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const all = await withStore(cmd, (store) => store.listLists());
      if (opts.json) return printJson({ lists: all });
      if (all.length === 0) return print('no lists (create one with: riposte lists create <name>)');
      print(table(['NAME', 'ITEMS', 'UPDATED', 'DESCRIPTION'],
        all.map((l) => [l.name, String(l.itemCount), formatTime(l.updatedAt), l.description ?? ''])));
    });

  lists.command('show')
    .description("a list's items")
    .argument('<name>')
    .option('--json', 'machine-readable JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const data = await withStore(cmd, async (store) => {
        const items = await store.getListItems(name);
        if (items === null) throw new CliError(`list "${name}" does not exist`);
        const list = (await store.listLists()).find((l) => l.name === name)!;
        return { list, items };
      });
      if (opts.json) return printJson(data);
      const { list, items } = data;
      const kind = list.kind !== null ? ` (kind ${list.kind})` : '';
      print(`List ${s(list.name)}${kind}${list.description ? `: ${s(list.description)}` : ''}`);
      print(`  ${items.length} item${items.length === 1 ? '' : 's'}, updated ${formatTime(list.updatedAt)}`);
      for (const item of items) print(`  ${s(item)}`);
    });

  lists.command('create')
    .description('create an empty list')
    .argument('<name>', "1-64 letters, digits, '.', '_' or '-'")
    .option('--description <text>', 'what the list is for')
    .option('--kind <kind>', `what every item must be: ${LIST_KINDS.join(', ')} (default: untyped)`)
    .action(async (name: string, opts: { description?: string; kind?: string }, cmd: Command) => {
      await withStore(cmd, (store) => store.createList(name, opts.description ?? null, cliActor(), opts.kind ?? null));
      print(`created list "${name}"`);
    });

  lists.command('add')
    .description('add items (IPs, CIDRs, names); all are checked first, nothing is added if one is invalid')
    .argument('<name>')
    .argument('<item...>')
    .option('--allow-broad', 'also add entries that cover (nearly) everything, e.g. 0.0.0.0/0, ::/0, *')
    .action(async (name: string, items: string[], opts: { allowBroad?: boolean }, cmd: Command) => {
      const added = await withStore(cmd, async (store) => {
        if (!opts.allowBroad) {
          const guard = listGuardSettings(await store.policyStore().getSetting(LIST_GUARD_SETTING));
          for (const item of items) {
            const why = broadEntryProblem(item, guard);
            if (why !== null) {
              throw new CliError(
                `"${item}" is over-broad (${why}); pass --allow-broad if you mean it; nothing was added`);
            }
          }
        }
        return store.addListItems(name, items, cliActor());
      });
      const already = new Set(items).size - added;
      print(`added ${added} item${added === 1 ? '' : 's'} to "${name}"${already > 0 ? ` (${already} already present)` : ''}`);
    });

  lists.command('remove')
    .description('remove items')
    .argument('<name>')
    .argument('<item...>')
    .action(async (name: string, items: string[], _opts: unknown, cmd: Command) => {
      const removed = await withStore(cmd, (store) => store.removeListItems(name, items, cliActor()));
      const missing = new Set(items).size - removed;
      print(`removed ${removed} item${removed === 1 ? '' : 's'} from "${name}"${missing > 0 ? ` (${missing} not in the list)` : ''}`);
    });

  lists.command('delete')
    .description('delete a list and its items')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withStore(cmd, (store) => store.deleteList(name, cliActor()));
      print(`deleted list "${name}"`);
    });

  lists.command('editors')
    .description('who may edit a list\'s items over the API (no options: show; none named: anyone with lists.edit)')
    .argument('<name>')
    .option('--users <names>', 'comma-separated user names', commaList)
    .option('--roles <roles>', 'comma-separated roles', commaList)
    .option('--clear', 'remove the restriction')
    .option('--json', 'machine-readable JSON')
    .action(async (name: string, opts: EditorsOptions, cmd: Command) => {
      const change = opts.clear === true || opts.users !== undefined || opts.roles !== undefined;
      if (opts.clear && (opts.users || opts.roles)) {
        throw new CliError('--clear cannot be combined with --users or --roles');
      }
      const editors = await withStore(cmd, async (store) => {
        if ((await store.getListItems(name)) === null) throw new CliError(`list "${name}" does not exist`);
        const policy = store.policyStore();
        const named = { users: opts.users ?? [], roles: opts.roles ?? [] };
        if (change) await putListEditors(policy, name, named, cliActor());
        return getListEditors(policy, name);
      });
      const shown = editors ?? { users: [], roles: [] };
      if (opts.json) return printJson({ name, editors: shown, restricted: editors !== null });
      if (editors === null) return print(`list "${name}": anyone with the permission lists.edit may edit it`);
      print(`list "${name}": editors users ${editors.users.join(', ') || '(none)'}; `
        + `roles ${editors.roles.join(', ') || '(none)'} (and anyone with lists.admin)`);
    });

  lists.command('guard')
    .description('the shortest IP prefix an entry may have without lists.admin (without options: show)')
    .option('--min-ipv4-prefix <n>', 'IPv4 entries shorter than /n are over-broad (default 8)',
      (v) => positiveInt('--min-ipv4-prefix', v))
    .option('--min-ipv6-prefix <n>', 'IPv6 entries shorter than /n are over-broad (default 32)',
      (v) => positiveInt('--min-ipv6-prefix', v))
    .action(async (opts: { minIpv4Prefix?: number; minIpv6Prefix?: number }, cmd: Command) => {
      if ((opts.minIpv4Prefix ?? 0) > 32) throw new CliError('--min-ipv4-prefix must be 1 to 32');
      if ((opts.minIpv6Prefix ?? 0) > 128) throw new CliError('--min-ipv6-prefix must be 1 to 128');
      const g = await withStore(cmd, async (store) => {
        const policy = store.policyStore();
        const cur = listGuardSettings(await policy.getSetting(LIST_GUARD_SETTING));
        if (opts.minIpv4Prefix === undefined && opts.minIpv6Prefix === undefined) return cur;
        const next: ListGuardSettings = {
          minIpv4Prefix: opts.minIpv4Prefix ?? cur.minIpv4Prefix,
          minIpv6Prefix: opts.minIpv6Prefix ?? cur.minIpv6Prefix,
        };
        await policy.putSetting(LIST_GUARD_SETTING, next, cliActor(), 'lists.guard');
        return next;
      });
      print(`over-broad without lists.admin: IPv4 shorter than /${g.minIpv4Prefix}, `
        + `IPv6 shorter than /${g.minIpv6Prefix}, 0.0.0.0/0, ::/0, *, *.<tld>`);
    });
}

interface EditorsOptions { users?: string[]; roles?: string[]; clear?: boolean; json?: boolean }

function commaList(value: string): string[] {
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}
