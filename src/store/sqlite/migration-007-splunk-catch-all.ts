/**
 * Migration 7: Splunk sources stop labelling every search as the founding scenario.
 *
 * Earlier versions created the `splunk` source with a mapping whose `label.default` was
 * `mobile-unauthorized-ip`: any search — "Brute force on VPN" included — started the playbook that
 * wipes phones. This removes that catch-all from every stored splunk-webhook mapping where it is
 * exactly that label; the search names the mapping lists keep their labels, and any other search
 * now lands as `splunk-unmapped`. A default an operator chose (any other label) is left alone.
 * Each change gets its audit entry in the migration's transaction; the label is written out here,
 * not imported, because a migration must keep meaning what it meant when it was released.
 */
import type Database from 'better-sqlite3';
import type { Migration } from './migrations.js';
import { AuditLog } from './audit.js';

const FOUNDING_LABEL = 'mobile-unauthorized-ip';

function removeFoundingCatchAll(db: Database.Database): void {
  const rows = db.prepare(`SELECT name, mapping FROM sources WHERE kind = 'splunk-webhook'`)
    .all() as Array<{ name: string; mapping: string }>;
  const update = db.prepare('UPDATE sources SET mapping = ?, updated_at = ? WHERE name = ?');
  const audit = new AuditLog(db);
  for (const row of rows) {
    let mapping: unknown;
    try {
      mapping = JSON.parse(row.mapping);
    } catch {
      continue; // not JSON: the ingest route already refuses it as misconfigured; nothing to remove
    }
    const label = (mapping as { label?: unknown } | null)?.label;
    const catchAll = typeof label === 'object' && label !== null ? (label as { default?: unknown }).default : undefined;
    if (catchAll !== FOUNDING_LABEL) continue;
    const { default: _removed, ...rest } = label as Record<string, unknown>;
    update.run(JSON.stringify({ ...(mapping as object), label: rest }), new Date().toISOString(), row.name);
    audit.appendInTx({
      actor: 'system:migration', action: 'source.mapping', target: `source:${row.name}`,
      detail: { migration: 6, removed: { 'label.default': FOUNDING_LABEL }, unmappedSearchesNowGet: 'splunk-unmapped' },
    });
  }
}

export const MIGRATION_007_SPLUNK_CATCH_ALL: Migration = {
  version: 7,
  name: 'splunk sources: no catch-all founding label (unmapped searches get splunk-unmapped)',
  sql: '',
  run: removeFoundingCatchAll,
};
