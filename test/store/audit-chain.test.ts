import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GENESIS_HASH, canonicalJson, hashEntry, hashEntryWithDetailJson } from '../../src/store/audit-chain.js';

test('canonicalJson sorts keys recursively and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

test('canonicalJson follows JSON semantics for undefined, dates and missing values', () => {
  assert.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
  assert.equal(canonicalJson(undefined), 'null');
  assert.equal(canonicalJson(new Date('2024-01-02T03:04:05.000Z')), '"2024-01-02T03:04:05.000Z"');
  assert.equal(canonicalJson('s'), '"s"');
});

test('genesis hash is 64 zeros', () => {
  assert.equal(GENESIS_HASH, '0'.repeat(64));
});

test('hashEntry is sha256 over prevHash + canonical JSON of the fields', () => {
  const entry = { id: 1, at: '2024-01-01T00:00:00.000Z', actor: 'alice', action: 'list.create', target: 'list:x', detail: { b: 2, a: 1 } };
  const expected = createHash('sha256')
    .update(GENESIS_HASH + '{"action":"list.create","actor":"alice","at":"2024-01-01T00:00:00.000Z","detail":{"a":1,"b":2},"id":1,"target":"list:x"}')
    .digest('hex');
  assert.equal(hashEntry(GENESIS_HASH, entry), expected);
  assert.match(expected, /^[0-9a-f]{64}$/);
});

test('hashEntry changes with any field or the previous hash, not with key order', () => {
  const base = { id: 2, at: '2024-01-01T00:00:00.000Z', actor: 'a', action: 'x', target: null, detail: { k: 1, j: 2 } };
  const h = hashEntry(GENESIS_HASH, base);
  assert.equal(hashEntry(GENESIS_HASH, { ...base, detail: { j: 2, k: 1 } }), h);
  assert.notEqual(hashEntry('f'.repeat(64), base), h);
  assert.notEqual(hashEntry(GENESIS_HASH, { ...base, id: 3 }), h);
  assert.notEqual(hashEntry(GENESIS_HASH, { ...base, actor: 'b' }), h);
  assert.notEqual(hashEntry(GENESIS_HASH, { ...base, detail: { k: 1, j: 3 } }), h);
  assert.equal(hashEntry(GENESIS_HASH, { ...base, detail: undefined }), hashEntry(GENESIS_HASH, { ...base, detail: null }));
});

test('hashEntry (and hashEntryWithDetailJson) hash exactly the canonical JSON of the whole entry', () => {
  const old = (prev: string, e: { id: number; at: string; actor: string; action: string; target: string | null; detail: unknown }) =>
    createHash('sha256').update(prev).update(canonicalJson({ ...e, detail: e.detail === undefined ? null : e.detail })).digest('hex');
  const details: unknown[] = [
    null, undefined, 0, -0, 1.5e300, 'x', true, [], {}, [1, 'a', null, { b: 1, a: [2, { d: 1, c: 2 }] }],
    { '10': 'ten', '9': 'nine', b: 'é', a: '"quoted"\n\\ \u2028 \ud800 😀', z: { y: [undefined, () => 1], x: new Date(0) } },
  ];
  const entries = [
    { id: 1, at: '2024-01-01T00:00:00.000Z', actor: 'token:admin', action: 'incident.create', target: 'incident:1' },
    { id: 987654, at: '2024-01-01T00:00:00.000Z', actor: 'a "b" \\ \u0000 😀 \udfff', action: 'x.y', target: null },
  ];
  for (const e of entries) {
    for (const detail of details) {
      const expected = old('f'.repeat(64), { ...e, detail });
      assert.equal(hashEntry('f'.repeat(64), { ...e, detail }), expected);
      assert.equal(hashEntryWithDetailJson('f'.repeat(64), e, canonicalJson(detail === undefined ? null : detail)), expected);
    }
  }
});
