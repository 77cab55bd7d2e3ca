import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleHash, PlaybookRegistry } from '../../src/engine/registry.js';
import { shippedPlaybooks } from '../../playbooks/index.js';

function files(dir: string, entry: string, helper: string): string {
  writeFileSync(join(dir, 'helper.mjs'), helper);
  writeFileSync(join(dir, 'entry.mjs'), entry);
  return join(dir, 'entry.mjs');
}

test("a playbook's code identity covers the helpers it imports, not its comments or formatting", () => {
  const base = mkdtempSync(join(tmpdir(), 'riposte-bundle-'));
  try {
    const entry = `import { pick } from './helper.mjs';\nexport default async (ctx) => pick(await ctx.lists.contains('l', 'v'));\n`;
    const helper = 'export function pick(x) { return x ? "wipe" : "ticket"; }\n';
    const h1 = bundleHash(files(mkdtempSync(join(base, 'a-')), entry, helper));
    const commented = bundleHash(
      files(mkdtempSync(join(base, 'b-')), `// a comment\n${entry.replace('=>', '=>  ')}`, `/** doc */\n${helper}`),
    );
    const changedHelper = bundleHash(files(mkdtempSync(join(base, 'c-')), entry, helper.replace('"wipe"', '"block"')));
    assert.match(h1, /^[0-9a-f]{16}$/);
    assert.equal(commented, h1, 'comments and whitespace do not change the identity');
    assert.notEqual(changedHelper, h1, 'a changed helper changes the identity');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('shipped playbooks are identified by their bundle; in-memory definitions by their function', () => {
  const registry = new PlaybookRegistry(shippedPlaybooks);
  for (const p of registry.all()) assert.equal(p.identity, 'bundle');
  const entry = shippedPlaybooks[0]!.entry!;
  assert.equal(entry, fileURLToPath(new URL('../../playbooks/mobile-unauthorized-ip.js', import.meta.url)));
  const inMemory = new PlaybookRegistry([{ ...shippedPlaybooks[0]!.definition }]);
  assert.equal(inMemory.all()[0]!.identity, 'function');
  assert.notEqual(inMemory.all()[0]!.hash, registry.all()[0]!.hash);
});
