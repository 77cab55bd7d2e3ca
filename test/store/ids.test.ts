import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRunId } from '../../src/store/ids.js';

test('run ids are RFC 9562 version 7 UUIDs that sort by creation time and do not repeat', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => newRunId(1_700_000_000_000 + i * 7));
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual([...ids].sort(), ids, 'later ids sort after earlier ones');
  assert.equal(new Set(Array.from({ length: 10_000 }, () => newRunId(1))).size, 10_000, 'the same millisecond still gives distinct ids');
  assert.equal(newRunId(0x0123456789ab).slice(0, 13), '01234567-89ab');
});
