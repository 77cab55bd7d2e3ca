/** Store.runIdsWithPrefix: exact prefix semantics (no LIKE wildcards), order, limit, and the index it uses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RUN_ID_RANGE_SQL } from '../../src/store/sqlite/runs.js';
import { incident, run } from './helpers.js';
import { openStore, suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-store-');

const IDS = [
  '0196a1b2-0000-7000-8000-000000000001',
  '0196a1b2-0000-7000-8000-000000000002',
  '0196a1b3-0000-7000-8000-000000000003',
  'ab_cdefgh-1',
  'abXcdefgh-2',
  'ab%cdefgh-3',
  'ab~~',
  'ab~~~',
  'ab\u007fz', // beyond '~' + 1: must not match the prefix "ab~"
];

test('runIdsWithPrefix: exact prefixes, `_` and `%` literal, id order, limit, index-backed', async () => {
  const s = await openStore(join(tmp.sub(), 'riposte.db'));
  try {
    await s.ingest(incident(), IDS.map((id) => run(id)), 'test');

    assert.deepEqual(await s.runIdsWithPrefix('0196a1b2', 10), [IDS[0], IDS[1]]);
    assert.deepEqual(await s.runIdsWithPrefix('0196a1b3', 10), [IDS[2]]);
    assert.deepEqual(await s.runIdsWithPrefix('0196a1b', 10), [IDS[0], IDS[1], IDS[2]]);
    assert.deepEqual(await s.runIdsWithPrefix('0196a1b', 2), [IDS[0], IDS[1]], 'at most `limit`, in id order');
    assert.deepEqual(await s.runIdsWithPrefix(IDS[1]!, 10), [IDS[1]], 'a full id is its own prefix');
    assert.deepEqual(await s.runIdsWithPrefix('0196a1b4', 10), []);
    assert.deepEqual(await s.runIdsWithPrefix('ab_', 10), ['ab_cdefgh-1'], '`_` is not a wildcard');
    assert.deepEqual(await s.runIdsWithPrefix('ab%', 10), ['ab%cdefgh-3'], '`%` is not a wildcard');
    assert.deepEqual(await s.runIdsWithPrefix('ab~', 10), ['ab~~', 'ab~~~'], 'the last printable character');
    assert.deepEqual(await s.runIdsWithPrefix('AB_', 10), [], 'case-sensitive');

    await assert.rejects(s.runIdsWithPrefix('', 10), /printable ASCII/);
    await assert.rejects(s.runIdsWithPrefix('ab\u00e9', 10), /printable ASCII/);
    await assert.rejects(s.runIdsWithPrefix('ab\u001b', 10), /printable ASCII/);

    // The lookup is a range on the primary key's index, never a scan of the run history.
    const plan = s.db.prepare(`EXPLAIN QUERY PLAN ${RUN_ID_RANGE_SQL}`).all('a', 'b', 1) as Array<{ detail: string }>;
    assert.equal(plan.length, 1, JSON.stringify(plan));
    assert.match(plan[0]!.detail, /^SEARCH runs USING COVERING INDEX sqlite_autoindex_runs_1 \(id>\? AND id<\?\)$/);
  } finally {
    await s.close();
  }
});
