/**
 * Issue 13, "the audit chain is unkeyed SHA-256": each attack of someone with write access to the
 * database file, on a real SQLite file, and what `verifyAudit` (what `riposte audit verify` prints)
 * says about it. Before the keyed chain, the re-hash and truncation attacks verified as OK.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { memoryKeyring, type AuditKeyring } from '../../src/store/audit-keyring.js';
import { parseCheckpoints } from '../../src/store/audit-checkpoint.js';
import { AuditCheckpointer } from '../../src/audit/checkpointer.js';
import type { AuditVerification } from '../../src/store/store.js';
import { suiteTempDir } from '../support/temp-store.js';
import { rehash, tamper } from '../support/audit-tamper.js';

const tmp = suiteTempDir('riposte-audit-tamper-');
const secretKey = randomBytes(32);
const keys = memoryKeyring({ k1: randomBytes(32) });

async function open(path: string, ring: AuditKeyring | null = keys): Promise<SqliteStore> {
  const s = new SqliteStore({ path, secretKey, ...(ring ? { auditKeys: ring } : {}) });
  await s.migrate();
  return s;
}

/**
 * A data directory with entries #1–#5, a checkpoint at #5 (its entry is #6: audit.checkpoint) and
 * two more entries (#7, #8). Returns the database path and the checkpoint file.
 */
async function fixture(): Promise<{ db: string; cpFile: string }> {
  const dir = tmp.sub();
  const db = join(dir, 'riposte.db');
  const cpFile = join(dir, 'audit-checkpoints.jsonl');
  const s = await open(db);
  for (let i = 1; i <= 5; i++) await s.appendAudit({ actor: 'alice', action: 'approval.decide', target: `approval:${i}`, detail: { decision: 'reject' } });
  await new AuditCheckpointer(s, keys, { file: cpFile, everyEntries: 1, everyMs: 60_000 }).checkpoint();
  for (let i = 7; i <= 8; i++) await s.appendAudit({ actor: 'bob', action: 'incident.update', target: `incident:${i}` });
  await s.close();
  return { db, cpFile };
}

async function verify(db: string, cpFile?: string, ring: AuditKeyring = keys): Promise<AuditVerification> {
  const s = await open(db, ring);
  try {
    const cps = cpFile ? parseCheckpoints(readFileSync(cpFile, 'utf8'), ring, cpFile) : { checkpoints: [], errors: [] };
    assert.deepEqual(cps.errors, []);
    return await s.verifyAudit(cps.checkpoints);
  } finally {
    await s.close();
  }
}

describe('keyed audit chain against someone with write access to the database file', () => {
  it('an intact chain verifies: keyed from #1, checked against the checkpoint', async () => {
    const { db, cpFile } = await fixture();
    const v = await verify(db, cpFile);
    assert.equal(v.ok, true, v.reason);
    assert.equal(v.entries, 8);
    assert.equal(v.keyedFrom, 1);
    assert.deepEqual(v.keyIds, ['k1']);
    assert.deepEqual(v.checkpoints?.lastId, 5);
  });

  it('an edited entry fails at that entry', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => d.prepare(`UPDATE audit_log SET detail = '{"decision":"approve"}' WHERE id = 3`).run());
    const v = await verify(db, cpFile);
    assert.deepEqual([v.ok, v.firstBadId], [false, 3]);
    assert.match(v.reason!, /^hash mismatch \(keyed, k1\): entry content was modified/);
  });

  it('a removed entry fails where the ids jump', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => d.prepare('DELETE FROM audit_log WHERE id = 4').run());
    const v = await verify(db, cpFile);
    assert.deepEqual([v.ok, v.firstBadId], [false, 5]);
    assert.match(v.reason!, /^gap in ids \(removed entries\): expected #4, found #5/);
  });

  it('reordered entries fail on the broken link', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => {
      // Swap the contents of #3 and #4, ids and links included, as a reordering would.
      d.exec(`UPDATE audit_log SET id = -3 WHERE id = 3; UPDATE audit_log SET id = 3 WHERE id = 4;
              UPDATE audit_log SET id = 4 WHERE id = -3`);
    });
    const v = await verify(db, cpFile);
    assert.deepEqual([v.ok, v.firstBadId], [false, 3]);
    assert.match(v.reason!, /^broken link/);
  });

  it('an edit re-hashed with plain SHA-256 (no key) fails as a downgrade, even without a checkpoint', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => {
      d.prepare(`UPDATE audit_log SET detail = '{"decision":"approve"}' WHERE id = 3`).run();
      rehash(d, { from: 3 });
    });
    for (const file of [undefined, cpFile]) {
      const v = await verify(db, file);
      assert.deepEqual([v.ok, v.firstBadId], [false, 3]);
      assert.match(v.reason!, /^downgraded link: entry #3 has a plain SHA-256 link but the chain is keyed from #1/);
    }
  });

  it('the whole chain re-hashed with plain SHA-256 fails against the checkpoint (and only says "unkeyed" without one)', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => {
      d.prepare(`UPDATE audit_log SET detail = '{"decision":"approve"}' WHERE id = 3`).run();
      rehash(d);
    });
    const withCp = await verify(db, cpFile);
    assert.deepEqual([withCp.ok, withCp.firstBadId], [false, 1]);
    assert.match(withCp.reason!, /^downgraded link: entry #1 has a plain SHA-256 link but the chain is keyed from #1/);
    // The documented limit: without a checkpoint, an all-plain chain is indistinguishable from a
    // database that never had a key; verify says so (keyedFrom null), and the CLI spells it out.
    const without = await verify(db);
    assert.deepEqual([without.ok, without.keyedFrom], [true, null]);
  });

  it('a chain re-hashed with a key that is not the audit key fails', async () => {
    const { db, cpFile } = await fixture();
    const guess = memoryKeyring({ k1: randomBytes(32) }).current();
    tamper(db, (d) => {
      d.prepare(`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`).run();
      rehash(d, { key: guess });
    });
    const v = await verify(db, cpFile);
    assert.deepEqual([v.ok, v.firstBadId], [false, 1]);
    assert.match(v.reason!, /^hash mismatch \(keyed, k1\)/);
  });

  it('truncation before the last checkpoint fails, naming both ends', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => d.prepare('DELETE FROM audit_log WHERE id > 3').run());
    const v = await verify(db, cpFile);
    assert.deepEqual([v.ok, v.firstBadId], [false, 4]);
    assert.match(v.reason!, /^truncated: the chain ends at #3 but the checkpoint of \S+ covers up to #5/);
    // Without the checkpoint the shortened chain is consistent: that is what checkpoints are for.
    assert.equal((await verify(db)).ok, true);
  });

  it('truncation after the last checkpoint is not detected (the documented limit)', async () => {
    const { db, cpFile } = await fixture();
    tamper(db, (d) => d.prepare('DELETE FROM audit_log WHERE id > 6').run());
    assert.equal((await verify(db, cpFile)).ok, true);
  });

  it('a forged or altered checkpoint line is refused', async () => {
    const { cpFile } = await fixture();
    const line = JSON.parse(readFileSync(cpFile, 'utf8').trim()) as { lastId: number };
    writeFileSync(cpFile, `${JSON.stringify({ ...line, lastId: 2 })}\n`);
    const { checkpoints, errors } = parseCheckpoints(readFileSync(cpFile, 'utf8'), keys, 'cp');
    assert.equal(checkpoints.length, 0);
    assert.match(errors[0]!, /^cp line 1: bad signature/);
  });

  it('entries from before keying keep plain links, verify as such, and are covered by the first keyed link', async () => {
    const db = join(tmp.sub(), 'riposte.db');
    const old = await open(db, null);
    for (let i = 0; i < 3; i++) await old.appendAudit({ actor: 'carol', action: 'list.add', target: `list:${i}` });
    await old.close();
    const s = await open(db);
    await s.appendAudit({ actor: 'carol', action: 'list.add', target: 'list:3' });
    await s.close();
    const v = await verify(db);
    assert.deepEqual([v.ok, v.entries, v.keyedFrom], [true, 4, 4]);
    // Rewriting an old entry means re-hashing the keyed #4 too: without the key it fails there.
    tamper(db, (d) => {
      d.prepare(`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`).run();
      rehash(d, { from: 2, to: 3 });
    });
    const after = await verify(db);
    assert.deepEqual([after.ok, after.firstBadId], [false, 4]);
    assert.match(after.reason!, /^hash mismatch \(keyed, k1\)/);
  });

  it('after a rotation old entries verify with the old key; a keyring without it names the missing key', async () => {
    const k1 = randomBytes(32);
    const db = join(tmp.sub(), 'riposte.db');
    const a = await open(db, memoryKeyring({ k1 }));
    await a.appendAudit({ actor: 'x', action: 'a' });
    await a.close();
    const both = memoryKeyring({ k1, k2: randomBytes(32) });
    const b = await open(db, both);
    await b.appendAudit({ actor: 'x', action: 'audit.rotate_key', detail: { from: 'k1', to: 'k2' } });
    const entries = await b.listAudit({});
    await b.close();
    assert.deepEqual(entries.map((e) => e.keyId), ['k1', 'k2']);
    const v = await verify(db, undefined, both);
    assert.deepEqual([v.ok, v.keyIds], [true, ['k1', 'k2']]);
    const onlyNew = memoryKeyring({ k2: randomBytes(32) });
    const lost = await verify(db, undefined, onlyNew);
    assert.deepEqual([lost.ok, lost.firstBadId], [false, 1]);
    assert.match(lost.reason!, /names audit key "k1", which is not in the keyring/);
  });
});
