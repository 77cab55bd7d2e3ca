import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');
const dbPath = (): string => join(tmp.sub(), 'riposte.db');

test('lists: names, items, counts, unknown lists, audit with actor', async () => {
  const s = await openStore(dbPath());
  for (const bad of ['', '-x', 'a b', 'x/y', 'a'.repeat(65)]) {
    await assert.rejects(s.createList(bad, null, 'alice'), /invalid list name/);
  }
  const l = await s.createList('blocked-ips', 'IPs to block', 'alice');
  assert.deepEqual([l.name, l.description, l.itemCount], ['blocked-ips', 'IPs to block', 0]);
  await assert.rejects(s.createList('blocked-ips', null, 'alice'), /list "blocked-ips" already exists/);
  assert.equal(await s.addListItems('blocked-ips', ['10.0.0.0/8', '192.0.2.1', 'evil.example.com', '192.0.2.1'], 'alice'), 3);
  assert.equal(await s.addListItems('blocked-ips', ['192.0.2.1', '2001:db8::/32'], 'bob'), 1, 'only new items count');
  assert.deepEqual(await s.getListItems('blocked-ips'), ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', 'evil.example.com']);
  assert.equal(await s.removeListItems('blocked-ips', ['192.0.2.1', 'not-there'], 'bob'), 1);
  assert.equal((await s.listLists())[0]!.itemCount, 3);
  assert.equal(await s.getListItems('nope'), null);
  await assert.rejects(s.addListItems('nope', ['x'], 'alice'), /list "nope" not found/);
  await assert.rejects(s.removeListItems('nope', ['x'], 'alice'), /list "nope" not found/);
  await assert.rejects(s.deleteList('nope', 'alice'), /list "nope" not found/);
  await s.deleteList('blocked-ips', 'carol');
  assert.deepEqual(await s.listLists(), []);
  assert.equal(await s.getListItems('blocked-ips'), null);
  assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM list_items').get() as { n: number }).n, 0, 'items deleted with the list');
  const audit = await s.listAudit({});
  assert.deepEqual(audit.map((e) => [e.action, e.actor]),
    [['list.create', 'alice'], ['list.add', 'alice'], ['list.add', 'bob'], ['list.remove', 'bob'], ['list.delete', 'carol']]);
  assert.deepEqual(audit[2]!.detail, { count: 1, items: ['2001:db8::/32'] });
  await s.close();
});

test('lists: a malformed CIDR rejects the whole call, naming the item, and writes nothing', async () => {
  const s = await openStore(dbPath());
  await s.createList('nets', null, 'alice');
  const auditBefore = (await s.listAudit({})).length;
  await assert.rejects(s.addListItems('nets', ['10.0.0.0/8', '10.0.0.0/33', 'ok.example.com'], 'alice'),
    (e: unknown) => e instanceof Error && e.message.includes('"10.0.0.0/33"') && /nothing was added/.test(e.message));
  await assert.rejects(s.addListItems('nets', ['2001:db8::/200', '300.0.0.1/8'], 'alice'), /2001:db8::\/200.*and 1 more invalid item/);
  assert.deepEqual(await s.getListItems('nets'), []);
  assert.equal((await s.listAudit({})).length, auditBefore);
  await s.close();
});

test('assets: secrets encrypted at rest, never returned by getAsset/listAssets or written to the audit log', async () => {
  const path = dbPath();
  const key = randomBytes(32);
  const s = await openStore(path, key);
  const plaintext = 'sup3r-s3cret-api-key-0123456789';
  const a = await s.putAsset({ name: 'edr-prod', appId: 'edr', description: 'EDR', config: { baseUrl: 'https://edr.example' },
    secrets: { apiKey: plaintext, clientSecret: 'other-secret-value' } }, 'alice');
  assert.deepEqual(a.secretFields, ['apiKey', 'clientSecret']);
  assert.ok(!JSON.stringify(a).includes(plaintext));
  assert.ok(!JSON.stringify(await s.getAsset('edr-prod')).includes(plaintext));
  assert.ok(!JSON.stringify(await s.listAssets()).includes(plaintext));
  assert.deepEqual(await s.getAssetSecrets('edr-prod'), { apiKey: plaintext, clientSecret: 'other-secret-value' });
  const row = s.db.prepare('SELECT * FROM assets WHERE name = ?').get('edr-prod') as { secrets: string };
  assert.match(row.secrets, /^v2:[0-9a-f]{16}:/);
  assert.ok(!JSON.stringify(row).includes(plaintext));
  const audit = await s.listAudit({});
  assert.equal(audit[0]!.action, 'asset.create');
  assert.ok(!JSON.stringify(audit).includes(plaintext) && !JSON.stringify(audit).includes('other-secret-value'));
  // Nothing on disk (database file or WAL) contains the plaintext.
  for (const f of [path, `${path}-wal`]) {
    if (existsSync(f)) assert.ok(!readFileSync(f).includes(Buffer.from(plaintext)), `${f} contains the plaintext secret`);
  }
  s.db.pragma('wal_checkpoint(TRUNCATE)');
  assert.ok(!readFileSync(path).includes(Buffer.from(plaintext)));

  const updated = await s.putAsset({ name: 'edr-prod', appId: 'edr', config: {}, secrets: { apiKey: 'new' } }, 'bob');
  assert.equal(updated.createdAt, a.createdAt);
  assert.deepEqual(updated.secretFields, ['apiKey']);
  assert.deepEqual(await s.getAssetSecrets('edr-prod'), { apiKey: 'new' });
  assert.equal((await s.listAudit({})).at(-1)!.action, 'asset.update');
  await assert.rejects(s.getAssetSecrets('missing'), /asset "missing" not found/);
  await s.close();

  // A key that is not this database's is refused when the store opens, naming key ids only.
  await assert.rejects(openStore(path, randomBytes(32)), (e: unknown) =>
    e instanceof Error && e.name === 'SecretKeyError' && /not this database's key \(id [0-9a-f]{16}\)/.test(e.message));

  const s2 = await openStore(path, key);
  await s2.deleteAsset('edr-prod', 'alice');
  assert.equal(await s2.getAsset('edr-prod'), null);
  await assert.rejects(s2.deleteAsset('edr-prod', 'alice'), /asset "edr-prod" not found/);
  await s2.close();
});

test('sources and API tokens: only SHA-256 hashes are stored; lookup by presented token', async () => {
  const s = await openStore(dbPath());
  const token = 'tok-' + randomBytes(16).toString('hex');
  const src = await s.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: { label: 'x' }, token }, 'admin');
  assert.deepEqual([src.name, src.kind, src.enabled], ['splunk', 'splunk-webhook', true]);
  assert.deepEqual(src.mapping, { label: 'x' });
  assert.equal((await s.findSourceByToken(token))!.name, 'splunk');
  assert.equal(await s.findSourceByToken('wrong'), null);
  assert.equal(await s.findSourceByToken(''), null);
  const raw = JSON.stringify(s.db.prepare('SELECT * FROM sources').all());
  assert.ok(!raw.includes(token));
  // Upsert replaces the token: the old one stops working.
  const token2 = 'tok2-' + randomBytes(16).toString('hex');
  await s.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: { label: 'y' }, token: token2 }, 'admin');
  assert.equal(await s.findSourceByToken(token), null);
  assert.deepEqual((await s.findSourceByToken(token2))!.mapping, { label: 'y' });
  assert.equal((await s.listSources()).length, 1);
  await assert.rejects(s.putSource({ name: 'other', kind: 'generic', mapping: {}, token: token2 }, 'admin'), /already used by another source/);

  const apiTok = randomBytes(24).toString('base64url');
  const t = await s.createApiToken({ name: 'ci', role: 'analyst', token: apiTok }, 'admin');
  assert.deepEqual([t.name, t.role], ['ci', 'analyst']);
  assert.deepEqual(await s.findApiToken(apiTok), { ...t, userDisabled: false });
  assert.equal(await s.findApiToken(apiTok + 'x'), null);
  assert.ok(!JSON.stringify(s.db.prepare('SELECT * FROM api_tokens').all()).includes(apiTok));
  await assert.rejects(s.createApiToken({ name: 'dup', role: 'viewer', token: apiTok }, 'admin'), /already exists/);
  await assert.rejects(s.createApiToken({ name: 'bad', role: 'root' as never, token: 'zzz' }, 'admin'), /invalid API token role/);
  const audit = JSON.stringify(await s.listAudit({}));
  assert.ok(!audit.includes(token) && !audit.includes(token2) && !audit.includes(apiTok), 'tokens never reach the audit log');
  await s.close();
});

test('playbook settings upsert', async () => {
  const s = await openStore(dbPath());
  assert.equal(await s.getPlaybookSettings('pb'), null);
  await s.putPlaybookSettings({ playbookId: 'pb', enabled: true, automation: 'supervised', bindings: { edr: 'edr-prod' } }, 'alice');
  const p = await s.putPlaybookSettings({ playbookId: 'pb', enabled: false, automation: null, bindings: { edr: 'edr-test', mdm: 'mdm' } }, 'bob');
  assert.deepEqual({ ...p, updatedAt: undefined }, {
    playbookId: 'pb', enabled: false, automation: null, bindings: { edr: 'edr-test', mdm: 'mdm' }, dryRun: false,
    triggerWhen: null, updatedAt: undefined,
  });
  assert.deepEqual(await s.getPlaybookSettings('pb'), p);
  assert.deepEqual((await s.listAudit({})).map((e) => [e.action, e.actor]), [['playbook.settings', 'alice'], ['playbook.settings', 'bob']]);
  await s.close();
});

test('playbook trigger condition: set alone, kept by other settings, cleared, audited; bad ones refused', async () => {
  const s = await openStore(dbPath());
  const set = await s.setPlaybookTrigger('fresh', 'severity >= "high"', 'alice');
  assert.deepEqual({ ...set, updatedAt: undefined }, {
    playbookId: 'fresh', enabled: true, automation: null, bindings: {}, dryRun: false,
    triggerWhen: 'severity >= "high"',
    updatedAt: undefined,
  });
  const other = await s.putPlaybookSettings(
    { playbookId: 'fresh', enabled: true, automation: 'autonomous', bindings: { mdm: 'm' } }, 'bob');
  assert.equal(other.triggerWhen, 'severity >= "high"', 'changing other settings keeps the condition');
  const changed = await s.setPlaybookTrigger('fresh', 'true', 'carol');
  assert.deepEqual([changed.automation, changed.bindings, changed.triggerWhen], ['autonomous', { mdm: 'm' }, 'true']);
  assert.equal((await s.setPlaybookTrigger('fresh', null, 'dave')).triggerWhen, null);
  const audit = (await s.listAudit({})).filter((e) => e.action === 'playbook.trigger');
  assert.deepEqual(audit.map((e) => [e.actor, e.target, e.detail]), [
    ['alice', 'playbook:fresh', { when: 'severity >= "high"', before: null }],
    ['carol', 'playbook:fresh', { when: 'true', before: 'severity >= "high"' }],
    ['dave', 'playbook:fresh', { when: null, before: 'true' }],
  ]);
  const before = (await s.listAudit({})).length;
  for (const bad of ['', '  ', 'x'.repeat(2001)]) {
    await assert.rejects(s.setPlaybookTrigger('fresh', bad, 'eve'),
      /a trigger condition must be a non-empty expression of at most 2000 characters/);
  }
  await assert.rejects(s.setPlaybookTrigger('', 'true', 'eve'), /playbook id is required/);
  assert.equal((await s.listAudit({})).length, before);
  assert.equal((await s.getPlaybookSettings('fresh'))!.triggerWhen, null);
  await s.close();
});

test('audit: hash chain, pagination, append-only triggers, tamper detection', async () => {
  const s = await openStore(dbPath());
  const e1 = await s.appendAudit({ actor: 'alice', action: 'login' });
  assert.equal(e1.id, 1);
  assert.equal(e1.prevHash, '0'.repeat(64));
  assert.equal(e1.target, null);
  assert.equal(e1.detail, null);
  const e2 = await s.appendAudit({ actor: 'bob', action: 'x', target: 't', detail: { b: 1, a: [1, 2], when: new Date(0) } });
  assert.equal(e2.prevHash, e1.hash);
  assert.deepEqual(e2.detail, { a: [1, 2], b: 1, when: '1970-01-01T00:00:00.000Z' }, 'returned as stored');
  for (let i = 0; i < 5; i++) await s.appendAudit({ actor: 'c', action: `a${i}`, detail: { i } });
  assert.deepEqual(await s.listAudit({ after: 2, limit: 2 }), (await s.listAudit({})).slice(2, 4));
  assert.deepEqual((await s.listAudit({}))[1], e2);
  const verified = await s.verifyAudit();
  assert.deepEqual([verified.ok, verified.entries, verified.keyedFrom], [true, 7, null], 'no keyring: plain SHA-256 links, all verified');

  assert.throws(() => s.db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE id = 3").run(), /append-only/);
  assert.throws(() => s.db.prepare('DELETE FROM audit_log WHERE id = 7').run(), /append-only/);

  // Bypass the triggers the way an attacker with file access could, and check verifyAudit notices.
  s.db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  s.db.prepare(`UPDATE audit_log SET detail = '{"i":99}' WHERE id = 4`).run();
  const edited = await s.verifyAudit();
  assert.deepEqual([edited.ok, edited.entries, edited.firstBadId, edited.reason], [false, 4, 4, 'hash mismatch: entry content was modified']);
  // Recomputing the tampered entry's hash breaks the link to the next entry instead.
  const { hashEntry } = await import('../../src/store/audit-chain.js');
  const r4 = s.db.prepare('SELECT * FROM audit_log WHERE id = 4').get() as { at: string; actor: string; action: string; target: string | null; prev_hash: string };
  s.db.prepare('UPDATE audit_log SET hash = ? WHERE id = 4').run(hashEntry(r4.prev_hash, { id: 4, ...r4, detail: { i: 99 } }));
  const v = await s.verifyAudit();
  assert.equal(v.ok, false);
  assert.equal(v.firstBadId, 5);
  assert.match(v.reason!, /broken link/);
  s.db.prepare('DELETE FROM audit_log WHERE id IN (4, 5)').run();
  const g = await s.verifyAudit();
  assert.equal(g.firstBadId, 6);
  assert.match(g.reason!, /gap in ids/);
  await s.close();
});
