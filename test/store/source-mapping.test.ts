/**
 * A source's mapping as configuration: `setSourceMapping` (validated, audited, all or nothing) and
 * migration 7, which takes the founding label's catch-all out of Splunk mappings stored by earlier
 * versions — tested on a database at schema version 5 as those versions left it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { AuditLog } from '../../src/store/sqlite/audit.js';
import { NotFoundError, ValidationError } from '../../src/store/sqlite/common.js';
import { DEFAULT_SPLUNK_MAPPING, UNMAPPED_LABEL, applyMapping, sourceMappingSchema } from '../../src/ingest/mapping.js';
import { FOUNDING_SPLUNK_MAPPING } from '../../lab/founding-mapping.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');

test('setSourceMapping replaces a Splunk source\'s mapping and audits it in the same transaction', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  await s.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: DEFAULT_SPLUNK_MAPPING, token: 'tok-1' },
    'system');
  const audit = (await s.listAudit({})).length;
  const rec = await s.setSourceMapping('splunk', FOUNDING_SPLUNK_MAPPING, 'alice');
  assert.deepEqual(rec.mapping, FOUNDING_SPLUNK_MAPPING);
  assert.deepEqual((await s.findSourceByToken('tok-1'))?.mapping, FOUNDING_SPLUNK_MAPPING, 'the token still finds it');
  const entries = await s.listAudit({});
  assert.equal(entries.length, audit + 1);
  const last = entries[entries.length - 1]!;
  assert.deepEqual([last.actor, last.action, last.target], ['alice', 'source.mapping', 'source:splunk']);
  assert.deepEqual(last.detail, { mapping: FOUNDING_SPLUNK_MAPPING });
  assert.equal((await s.verifyAudit()).ok, true);
  await s.close();
});

test('setSourceMapping refuses a bad mapping, an unknown or a generic source, saying why; writes nothing', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  await s.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: DEFAULT_SPLUNK_MAPPING, token: 'tok-1' },
    'system');
  await s.putSource({ name: 'generic', kind: 'generic', mapping: null, token: 'tok-2' }, 'system');
  const audit = (await s.listAudit({})).length;
  await assert.rejects(s.setSourceMapping('splunk', { ...DEFAULT_SPLUNK_MAPPING, cef: {} }, 'alice'),
    (e: unknown) => e instanceof ValidationError
      && /invalid mapping for source "splunk": cef: must map at least one CEF key/.test(e.message)
      && /nothing was changed/.test(e.message));
  await assert.rejects(s.setSourceMapping('splunk', { ...DEFAULT_SPLUNK_MAPPING, colour: 'red' }, 'alice'),
    (e: unknown) => e instanceof ValidationError && /colour/.test(e.message));
  await assert.rejects(s.setSourceMapping('splunk', null, 'alice'), ValidationError);
  await assert.rejects(s.setSourceMapping('nope', FOUNDING_SPLUNK_MAPPING, 'alice'),
    (e: unknown) => e instanceof NotFoundError && /source "nope" not found/.test(e.message));
  await assert.rejects(s.setSourceMapping('generic', FOUNDING_SPLUNK_MAPPING, 'alice'),
    (e: unknown) => e instanceof ValidationError
      && /generic source: only splunk-webhook sources have a mapping/.test(e.message));
  assert.deepEqual((await s.findSourceByToken('tok-1'))?.mapping, DEFAULT_SPLUNK_MAPPING);
  assert.equal((await s.findSourceByToken('tok-2'))?.mapping, null);
  assert.equal((await s.listAudit({})).length, audit);
  await s.close();
});

/** The `splunk` source's mapping exactly as versions before migration 7 created it. */
const OLD_DEFAULT = {
  label: {
    fromSearchName: {
      'Mobile device reached unauthorized IP': 'mobile-unauthorized-ip',
      'Mobile device to unauthorized IP': 'mobile-unauthorized-ip',
    },
    default: 'mobile-unauthorized-ip',
  },
  severity: {
    field: 'severity',
    map: {
      low: 'low', medium: 'medium', high: 'high', critical: 'critical', 'very-high': 'critical',
      informational: 'low', info: 'low',
      '0': 'low', '1': 'low', '2': 'low', '3': 'low', '4': 'medium', '5': 'medium', '6': 'medium',
      '7': 'high', '8': 'high', '9': 'critical', '10': 'critical',
    },
    default: 'high',
  },
  name: '{search_name}: {user} on {device_name} → {dest_ip}',
  cef: {
    destinationAddress: 'dest_ip', sourceAddress: 'src_ip', sourceUserName: 'user', deviceExternalId: 'device_id',
    deviceHostname: 'device_name', sourceMacAddress: 'src_mac', destinationPort: 'dest_port',
  },
};

test('migration 7 removes the founding catch-all from stored Splunk mappings, and only that', async () => {
  const dir = tmp.sub();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'riposte.db');
  const db = new Database(path);
  assert.deepEqual(migrate(db, MIGRATIONS.filter((m) => m.version <= 5)), [1, 2, 3, 4, 5]);
  const now = new Date().toISOString();
  const insert = db.prepare(`INSERT INTO sources (name, kind, mapping, token_hash, enabled, created_at, updated_at)
    VALUES (?, ?, ?, ?, 1, ?, ?)`);
  const operators = {
    ...OLD_DEFAULT, label: { fromSearchName: { 'Brute force': 'brute-force' }, default: 'splunk-alert' },
  };
  const sources: Array<[string, string, unknown]> = [
    ['splunk', 'splunk-webhook', OLD_DEFAULT],
    ['splunk-ops', 'splunk-webhook', operators],
    ['splunk-fixed', 'splunk-webhook', { ...OLD_DEFAULT, label: 'mobile-unauthorized-ip' }],
    ['generic', 'generic', null],
  ];
  const audit = new AuditLog(db);
  for (const [i, [name, kind, mapping]] of sources.entries()) {
    db.transaction(() => {
      insert.run(name, kind, JSON.stringify(mapping), `hash-${i}`, now, now);
      audit.appendInTx({ actor: 'system', action: 'source.create', target: `source:${name}`, detail: { kind } });
    }).immediate();
  }
  insert.run('splunk-broken', 'splunk-webhook', '{not json', 'hash-9', now, now);
  db.close();

  const s = await openStore(path);
  const rows = s.db.prepare('SELECT version FROM schema_migrations ORDER BY version')
    .all() as Array<{ version: number }>;
  assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
  const stored = (name: string): string =>
    (s.db.prepare('SELECT mapping FROM sources WHERE name = ?').get(name) as { mapping: string }).mapping;
  const mapping = (name: string): unknown => JSON.parse(stored(name));

  const { default: _gone, ...keptLabel } = OLD_DEFAULT.label;
  const migrated = mapping('splunk');
  assert.deepEqual(migrated, { ...OLD_DEFAULT, label: keptLabel });
  assert.deepEqual(mapping('splunk-ops'), operators, 'an operator\'s own default stays');
  assert.deepEqual(mapping('splunk-fixed'), { ...OLD_DEFAULT, label: 'mobile-unauthorized-ip' },
    'a fixed label is explicit: it stays');
  assert.equal(mapping('generic'), null);
  assert.equal(stored('splunk-broken'), '{not json');

  // The upgraded source is safe: a VPN alert is unmapped, the founding search still routes.
  const m = sourceMappingSchema.parse(migrated);
  const vpn = applyMapping(m, { searchName: 'Brute force on VPN', fields: { user: 'alice', src_ip: '198.51.100.4' } });
  assert.ok(vpn.ok);
  assert.deepEqual([vpn.value.label, vpn.value.unmapped], [UNMAPPED_LABEL, true]);
  const founding = applyMapping(m,
    { searchName: 'Mobile device reached unauthorized IP', fields: { dest_ip: '203.0.113.9' } });
  assert.ok(founding.ok);
  assert.equal(founding.value.label, 'mobile-unauthorized-ip');

  const entries = await s.listAudit({});
  const changes = entries.filter((e) => e.action === 'source.mapping');
  assert.deepEqual(changes.map((e) => [e.actor, e.target]), [['system:migration', 'source:splunk']]);
  assert.deepEqual(changes[0]!.detail,
    { migration: 6, removed: { 'label.default': 'mobile-unauthorized-ip' },
      unmappedSearchesNowGet: 'splunk-unmapped' });
  assert.equal((await s.verifyAudit()).ok, true, 'the audit chain continues unbroken');
  await s.close();
});
