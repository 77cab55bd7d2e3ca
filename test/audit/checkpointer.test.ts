/**
 * Checkpoints: written every N entries (file line 0600 + an audit.checkpoint entry with the same
 * signed checkpoint), not again while only their own entry is new, and on stop.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { memoryKeyring } from '../../src/store/audit-keyring.js';
import { parseCheckpoints } from '../../src/store/audit-checkpoint.js';
import { AuditCheckpointer, CHECKPOINT_ACTION } from '../../src/audit/checkpointer.js';
import { suiteTempDir } from '../support/temp-store.js';
import { until } from '../support/wait.js';

const tmp = suiteTempDir('riposte-checkpoints-');

describe('audit checkpointer', () => {
  it('checkpoints every N entries, stays idle when nothing is new, and checkpoints on stop', async () => {
    const dir = tmp.sub();
    const keys = memoryKeyring();
    const store = new SqliteStore({ path: join(dir, 'riposte.db'), secretKey: randomBytes(32), auditKeys: keys });
    await store.migrate();
    const file = join(dir, 'out', 'audit-checkpoints.jsonl');
    const lines = () => parseCheckpoints(readFileSync(file, 'utf8'), keys, file);
    const cp = new AuditCheckpointer(store, keys, { file, everyEntries: 3, everyMs: 3_600_000, pollMs: 10 });
    try {
      cp.start();
      for (let i = 0; i < 3; i++) await store.appendAudit({ actor: 'a', action: 'login', detail: { i } });
      await until('a checkpoint line', async () => { try { return lines().checkpoints.length === 1; } catch { return false; } });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const [first] = lines().checkpoints;
      assert.deepEqual([first!.lastId, first!.count, first!.keyedFrom, first!.keyId], [3, 3, 1, keys.current().id]);
      const entries = await store.listAudit({});
      assert.equal(entries[2]!.hash, first!.lastHash);
      assert.equal(entries[3]!.action, CHECKPOINT_ACTION);
      assert.deepEqual(entries[3]!.detail, first, 'the same signed checkpoint goes to the audit stream');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lines().checkpoints.length, 1, 'only its own entry is new: no checkpoint of a checkpoint');
      await store.appendAudit({ actor: 'a', action: 'logout' });
    } finally {
      await cp.stop();
    }
    const { checkpoints, errors } = lines();
    assert.deepEqual(errors, []);
    assert.equal(checkpoints.length, 2, 'stop wrote the final checkpoint');
    assert.equal(checkpoints[1]!.lastId, 5);
    const v = await store.verifyAudit(checkpoints);
    assert.deepEqual([v.ok, v.entries, v.checkpoints?.lastId], [true, 6, 5]);
    await store.close();
  });
});
