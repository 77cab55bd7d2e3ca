import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ARTIFACTS, MAX_CEF_FIELDS, genericIncidentSchema, plainlyValidGenericIncident } from '../../src/ingest/generic.js';
import { prng as rng } from '../support/wait.js';

const base = () => ({
  name: 'Phone reached a C2 address', label: 'mobile-unauthorized-ip', severity: 'high', description: 'from the EDR',
  sourceId: 'edr-1', tags: ['mobile'],
  artifacts: [{ name: 'connection', label: 'net', cef: { destinationAddress: '203.0.113.9', suser: 'bob' }, contains: { suser: ['user name'] } }],
});

const s = (n: number, c = 'x') => c.repeat(n);
// Values at and around every limit, and of the wrong type.
const strings = (max: number) => [undefined, null, 0, true, [], {}, '', 'a', s(max), s(max + 1), 'é😀'];
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

type Body = ReturnType<typeof base> & Record<string, unknown>;
const mutations: Array<(b: Body, r: () => number) => void> = [
  (b, r) => { b.name = pick(r, strings(500)) as string; },
  (b, r) => { b.label = pick(r, strings(128)) as string; },
  (b, r) => { b.severity = pick(r, ['low', 'medium', 'high', 'critical', 'HIGH', '', 3, undefined]) as string; },
  (b, r) => { b.description = pick(r, strings(20_000)) as string; },
  (b, r) => { b.sourceId = pick(r, strings(512)) as string; },
  (b, r) => { b.tags = pick(r, [undefined, null, 'x', [], [''], [s(64)], [s(65)], Array(50).fill('t'), Array(51).fill('t'), [1]]) as string[]; },
  (b, r) => { b[pick(r, ['extra', 'Name', '__proto__', 'constructor'])] = 1; },
  (b, r) => { b.artifacts = pick(r, [undefined, null, [], {}, 'x', Array(MAX_ARTIFACTS).fill(b.artifacts[0]), Array(MAX_ARTIFACTS + 1).fill(b.artifacts[0])]) as never; },
  (b, r) => { (b.artifacts as unknown[]).push(pick(r, [null, 1, [], {}, { name: 'a', cef: {} }, { name: 'a' }, { cef: {} }])); },
  (b, r) => { (b.artifacts[0] as Record<string, unknown>).name = pick(r, strings(500)); },
  (b, r) => { (b.artifacts[0] as Record<string, unknown>).label = pick(r, strings(128)); },
  (b, r) => { (b.artifacts[0] as Record<string, unknown>)[pick(r, ['x', 'sourceId', 'Cef'])] = 'y'; },
  (b, r) => { (b.artifacts[0] as Record<string, unknown>).cef = pick(r, [null, [], 'x', {}, { a: 1 }, { a: null }]); },
  (b, r) => {
    const cef = b.artifacts[0]!.cef as Record<string, unknown>;
    cef[pick(r, ['ok_key', 'a.b-c', '_x', '1abc', 'has space', '', s(128), s(129), 'é', '__proto__', 'constructor', 'toString'])] = pick(r, strings(8192));
  },
  (b, r) => {
    const n = pick(r, [MAX_CEF_FIELDS - 2, MAX_CEF_FIELDS - 1, MAX_CEF_FIELDS]);
    const cef: Record<string, string> = {};
    for (let i = 0; i < n; i++) cef[`k${i}`] = 'v';
    Object.assign(b.artifacts[0]!.cef, cef);
  },
  (b, r) => { (b.artifacts[0] as Record<string, unknown>).contains = pick(r, [undefined, null, [], {}, 'x']); },
  (b, r) => {
    const contains = (b.artifacts[0] as Record<string, unknown>).contains as Record<string, unknown> | undefined;
    if (contains && typeof contains === 'object') {
      contains[pick(r, ['suser', 'nokey', '1bad', '__proto__'])] = pick(r, [[], ['ip'], [''], [s(64)], [s(65)], Array(20).fill('t'), Array(21).fill('t'), 'ip', [1], null]);
    }
  },
];

test('the fast check of generic alerts accepts only what the schema accepts, and returns what the schema returns', () => {
  let fast = 0;
  let valid = 0;
  for (let seed = 1; seed <= 6000; seed++) {
    const r = rng(seed);
    const b = base() as Body;
    for (let m = Math.floor(r() * 4); m > 0; m--) {
      try {
        pick(r, mutations)(b, r);
      } catch {
        // A mutation of a part an earlier one removed: skipped.
      }
    }
    // As the route receives it: parsed from JSON.
    const body: unknown = JSON.parse(JSON.stringify(b));
    const z = genericIncidentSchema.safeParse(body);
    const f = plainlyValidGenericIncident(body);
    if (z.success) valid++;
    if (f !== null) {
      fast++;
      assert.ok(z.success, `seed ${seed}: fast check accepted a body the schema refuses: ${String(JSON.stringify(z.error?.issues)).slice(0, 300)}`);
      assert.deepEqual(f, z.data, `seed ${seed}: different output`);
      assert.deepEqual(JSON.stringify(f), JSON.stringify(z.data), `seed ${seed}: different key order`);
    }
  }
  // The fast path must actually serve the valid bodies (all but the odd corner cases zod handles).
  assert.ok(valid > 1000, `only ${valid} valid bodies generated`);
  assert.ok(fast >= valid * 0.95, `fast check took ${fast} of ${valid} valid bodies`);
});

test('the fast check leaves bodies with a __proto__ key to the schema', () => {
  for (const text of [
    '{"name":"n","label":"l","severity":"low","artifacts":[{"name":"a","cef":{"__proto__":"x"}}]}',
    '{"name":"n","label":"l","severity":"low","artifacts":[{"name":"a","cef":{"a":"x"},"contains":{"__proto__":["ip"]}}]}',
    '{"name":"n","label":"l","severity":"low","__proto__":{},"artifacts":[{"name":"a","cef":{"a":"x"}}]}',
  ]) assert.equal(plainlyValidGenericIncident(JSON.parse(text)), null, text);
});
