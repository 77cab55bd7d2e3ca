/** `riposte lists list|show|create|add|remove|delete`: custom lists (IPs, CIDRs, hostnames, users…). */
import type { Command } from 'commander';
import { CliError, cliActor, printJson, withStore } from '../open-store.js';
import { formatTime, table } from '../format.js';
import { LIST_KINDS } from '../../common/artifact-values.js';

export function registerLists(program: Command): void {
  const lists = program.command('lists').description('custom lists used by playbooks (IP lists match CIDR entries)');

  lists.command('list')
    .description('all lists with their item counts')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const all = await withStore(cmd, (store) => store.listLists());
      if (opts.json) return printJson({ lists: all });
      if (all.length === 0) return console.log('no lists (create one with: riposte lists create <name>)');
      console.log(table(['NAME', 'ITEMS', 'UPDATED', 'DESCRIPTION'],
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
      console.log(`List ${list.name}${kind}${list.description ? `: ${list.description}` : ''}`);
      console.log(`  ${items.length} item${items.length === 1 ? '' : 's'}, updated ${formatTime(list.updatedAt)}`);
      for (const item of items) console.log(`  ${item}`);
    });

  lists.command('create')
    .description('create an empty list')
    .argument('<name>', "1-64 letters, digits, '.', '_' or '-'")
    .option('--description <text>', 'what the list is for')
    .option('--kind <kind>', `what every item must be: ${LIST_KINDS.join(', ')} (default: untyped)`)
    .action(async (name: string, opts: { description?: string; kind?: string }, cmd: Command) => {
      await withStore(cmd, (store) => store.createList(name, opts.description ?? null, cliActor(), opts.kind ?? null));
      console.log(`created list "${name}"`);
    });

  lists.command('add')
    .description('add items (IPs, CIDRs, names); all are checked first, nothing is added if one is invalid')
    .argument('<name>')
    .argument('<item...>')
    .action(async (name: string, items: string[], _opts: unknown, cmd: Command) => {
      const added = await withStore(cmd, (store) => store.addListItems(name, items, cliActor()));
      const already = new Set(items).size - added;
      console.log(`added ${added} item${added === 1 ? '' : 's'} to "${name}"${already > 0 ? ` (${already} already present)` : ''}`);
    });

  lists.command('remove')
    .description('remove items')
    .argument('<name>')
    .argument('<item...>')
    .action(async (name: string, items: string[], _opts: unknown, cmd: Command) => {
      const removed = await withStore(cmd, (store) => store.removeListItems(name, items, cliActor()));
      const missing = new Set(items).size - removed;
      console.log(`removed ${removed} item${removed === 1 ? '' : 's'} from "${name}"${missing > 0 ? ` (${missing} not in the list)` : ''}`);
    });

  lists.command('delete')
    .description('delete a list and its items')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withStore(cmd, (store) => store.deleteList(name, cliActor()));
      console.log(`deleted list "${name}"`);
    });
}
