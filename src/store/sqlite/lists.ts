/**
 * Custom lists (allow/deny lists of IPs, CIDRs, hostnames, users…). A list may declare the kind
 * of its items (`ip`, `domain`, …); an untyped list whose items are all IPs/CIDRs is taken as an
 * `ip` list. Items added to a list of a kind must be valid of it (src/common/artifact-values.ts).
 */
import type Database from 'better-sqlite3';
import type { ListRecord } from '../records.js';
import { isIP } from 'node:net';
import { inferListKind, LIST_KINDS, listItemProblem } from '../../common/artifact-values.js';
import { ipInList, listNameProblem, validateListItem } from '../ip-match.js';
import type { AuditLog } from './audit.js';
import { ConflictError, NotFoundError, ValidationError, nowIso } from './common.js';

interface ListRow {
  name: string; description: string | null; kind: string | null; item_count: number;
  created_at: string; updated_at: string;
}

const toList = (r: ListRow): ListRecord => ({
  name: r.name, description: r.description, kind: r.kind,
  itemCount: r.item_count, createdAt: r.created_at, updatedAt: r.updated_at,
});

export function validateListName(name: string): void {
  const problem = listNameProblem(name);
  if (problem !== null) throw new ValidationError(problem);
}

/** One item added to or removed from a list by a run's step (`ctx.lists.add` / `remove`). */
export interface ListChangeInTx {
  op: 'add' | 'remove';
  list: string;
  item: string;
  actor: string;
  /** Said in the audit entry besides the item: which run, step and playbook made the change. */
  detail: Record<string, unknown>;
}

export class ListRepo {
  private readonly s;
  private readonly createTx;
  private readonly deleteTx;
  private readonly addTx;
  private readonly removeTx;

  constructor(db: Database.Database, private readonly audit: AuditLog) {
    const select = `SELECT l.name, l.description, l.kind, l.created_at, l.updated_at,
      (SELECT COUNT(*) FROM list_items i WHERE i.list_name = l.name) AS item_count FROM lists l`;
    this.s = {
      byName: db.prepare<[string], ListRow>(`${select} WHERE l.name = ?`),
      all: db.prepare<[], ListRow>(`${select} ORDER BY l.name`),
      insert: db.prepare<[string, string | null, string | null, string, string]>(
        'INSERT INTO lists (name, description, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
      delete: db.prepare<[string]>('DELETE FROM lists WHERE name = ?'),
      touch: db.prepare<[string, string]>('UPDATE lists SET updated_at = ? WHERE name = ?'),
      items: db.prepare<[string], { item: string }>('SELECT item FROM list_items WHERE list_name = ? ORDER BY item'),
      addItem: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO list_items (list_name, item, added_at) VALUES (?, ?, ?)'),
      removeItem: db.prepare<[string, string]>('DELETE FROM list_items WHERE list_name = ? AND item = ?'),
      exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM lists WHERE name = ?'),
      hasItem: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM list_items WHERE list_name = ? AND item = ?'),
    };
    this.createTx = db.transaction((name: string, description: string | null, kind: string | null, actor: string) => {
      if (this.s.byName.get(name)) throw new ConflictError(`list "${name}" already exists`);
      const now = nowIso();
      this.s.insert.run(name, description, kind, now, now);
      const detail = { description, ...(kind !== null ? { kind } : {}) };
      this.audit.appendInTx({ actor, action: 'list.create', target: `list:${name}`, detail });
      return toList(this.s.byName.get(name)!);
    });
    this.deleteTx = db.transaction((name: string, actor: string) => {
      const existing = this.s.byName.get(name);
      if (!existing) throw new NotFoundError(`list "${name}" not found`);
      this.s.delete.run(name); // items go with it (ON DELETE CASCADE)
      this.audit.appendInTx({ actor, action: 'list.delete', target: `list:${name}`, detail: { itemCount: existing.item_count } });
    });
    this.addTx = db.transaction((name: string, items: string[], actor: string) => {
      this.mustExist(name);
      this.checkKind(name, items);
      const now = nowIso();
      const added = items.filter((item) => this.s.addItem.run(name, item, now).changes > 0);
      if (added.length > 0) {
        this.s.touch.run(now, name);
        this.audit.appendInTx({ actor, action: 'list.add', target: `list:${name}`, detail: { count: added.length, items: added } });
      }
      return added.length;
    });
    this.removeTx = db.transaction((name: string, items: string[], actor: string) => {
      this.mustExist(name);
      const removed = items.filter((item) => this.s.removeItem.run(name, item).changes > 0);
      if (removed.length > 0) {
        this.s.touch.run(nowIso(), name);
        this.audit.appendInTx({ actor, action: 'list.remove', target: `list:${name}`, detail: { count: removed.length, items: removed } });
      }
      return removed.length;
    });
  }

  private mustExist(name: string): void {
    if (!this.s.byName.get(name)) throw new NotFoundError(`list "${name}" not found`);
  }

  create(name: string, description: string | null, actor: string, kind: string | null = null): ListRecord {
    validateListName(name);
    if (kind !== null && !(LIST_KINDS as readonly string[]).includes(kind)) {
      const shown = JSON.stringify(kind.slice(0, 40));
      throw new ValidationError(`unknown list kind ${shown}: use one of ${LIST_KINDS.join(', ')}`);
    }
    return this.createTx.immediate(name, description ?? null, kind, actor);
  }

  /**
   * Refuses (ValidationError, nothing added) items that are not of the list's kind: the declared
   * one, or `ip` inferred from items that are all IPs/CIDRs. Inside the caller's transaction.
   */
  private checkKind(name: string, items: readonly string[]): void {
    const declared = this.s.byName.get(name)?.kind ?? null;
    const kind = declared ?? inferListKind(this.s.items.all(name).map((r) => r.item));
    if (kind === null) return;
    const problems = items.map((i) => listItemProblem(kind, i)).filter((p): p is string => p !== null);
    if (problems.length === 0) return;
    const why = declared === null
      ? `its items are all IP addresses or CIDR ranges, so it is taken as kind ${kind}` : `its kind is ${kind}`;
    const n = problems.length - 1;
    const more = n > 0 ? ` (and ${n} more invalid item${n > 1 ? 's' : ''})` : '';
    throw new ValidationError(
      `cannot add to list "${name}": ${why}; an item is ${problems[0]}${more}; nothing was added`);
  }

  delete(name: string, actor: string): void {
    this.deleteTx.immediate(name, actor);
  }

  all(): ListRecord[] {
    return this.s.all.all().map(toList);
  }

  /** Items sorted; null for an unknown list. */
  items(name: string): string[] | null {
    if (!this.s.byName.get(name)) return null;
    return this.s.items.all(name).map((r) => r.item);
  }

  /**
   * Whether `value` is in the list as `ctx.lists.contains` decides it: equal to an item (one index
   * seek), or an IP address inside an IP/CIDR item (the list's items are read only then).
   * NotFoundError for an unknown list. Inside a caller's transaction it sees that transaction.
   */
  contains(name: string, value: string): boolean {
    if (!this.s.exists.get(name)) throw new NotFoundError(`custom list "${name}" does not exist`);
    if (this.s.hasItem.get(name, value)) return true;
    return isIP(value) !== 0 && ipInList(value, this.s.items.all(name).map((r) => r.item));
  }

  /** Adds the items not yet present; returns how many were added. All-or-nothing on invalid items. */
  add(name: string, items: string[], actor: string): number {
    const unique = [...new Set(items)];
    const errors = unique.map((item) => validateListItem(item)).filter((e): e is string => e !== null);
    if (errors.length > 0) {
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more invalid item${errors.length > 2 ? 's' : ''})` : '';
      throw new ValidationError(`cannot add to list "${name}": ${errors[0]}${more}; nothing was added`);
    }
    return this.addTx.immediate(name, unique, actor);
  }

  remove(name: string, items: string[], actor: string): number {
    return this.removeTx.immediate(name, [...new Set(items)], actor);
  }

  /**
   * Adds or removes one item inside the caller's transaction; true when the list changed. Audited
   * as the CLI and API edits are (`list.add` / `list.remove`, only when something changed).
   * NotFoundError for an unknown list, ValidationError for an item that cannot be stored.
   */
  changeInTx(c: ListChangeInTx): boolean {
    this.mustExist(c.list);
    if (c.op === 'add') {
      const problem = validateListItem(c.item);
      if (problem !== null) throw new ValidationError(`cannot add to list "${c.list}": ${problem}`);
      this.checkKind(c.list, [c.item]);
    }
    const now = nowIso();
    const changed = c.op === 'add'
      ? this.s.addItem.run(c.list, c.item, now).changes > 0
      : this.s.removeItem.run(c.list, c.item).changes > 0;
    if (changed) {
      this.s.touch.run(now, c.list);
      const detail = { count: 1, items: [c.item], ...c.detail };
      this.audit.appendInTx({ actor: c.actor, action: `list.${c.op}`, target: `list:${c.list}`, detail });
    }
    return changed;
  }
}
