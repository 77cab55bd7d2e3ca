import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlaybookRegistry, inMemoryPlaybook } from '../../src/engine/registry.js';
import { buildPlaybookBundle } from '../../src/sandbox/bundle.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { loadBuiltinPlaybooks } from '../../src/server/builtin-playbooks.js';
import { definePlaybook } from '../../src/sdk/index.js';
import { tempDir } from '../support/temp-store.js';

const SDK = fileURLToPath(new URL('../../src/sdk/index.js', import.meta.url));

function repo(base: string, name: string, entry: string, helper: string): string {
  const dir = mkdtempSync(join(base, `${name}-`));
  writeFileSync(join(dir, 'helper.mjs'), helper);
  writeFileSync(join(dir, 'entry.mjs'), entry);
  return join(dir, 'entry.mjs');
}

test("a playbook's code identity covers the helpers it imports, not its comments or formatting", async () => {
  using tmp = tempDir('riposte-bundle-');
  const entry = `import { definePlaybook } from ${JSON.stringify(SDK)};\nimport { pick } from './helper.mjs';\n`
    + `export default definePlaybook({ id: 'p', version: 1, triggers: { labels: [] }, roles: {} }, async (ctx) => pick(await ctx.lists.contains('l', 'v')));\n`;
  const helper = 'export function pick(x) { return x ? "wipe" : "ticket"; }\n';
  const h1 = (await buildPlaybookBundle(repo(tmp.dir, 'a', entry, helper))).hash;
  const commented = (await buildPlaybookBundle(repo(tmp.dir, 'b', `// a comment\n${entry.replace('=>', '=>  ')}`, `/** doc */\n${helper}`))).hash;
  const changedHelper = (await buildPlaybookBundle(repo(tmp.dir, 'c', entry, helper.replace('"wipe"', '"block"')))).hash;
  assert.match(h1, /^[0-9a-f]{16}$/);
  assert.equal(commented, h1, 'comments and whitespace do not change the identity');
  assert.notEqual(changedHelper, h1, 'a changed helper changes the identity');
});

test('built-in playbooks are loaded from their bundles; in-memory definitions are identified by their function', async () => {
  const sandbox = new Sandbox();
  try {
    const registry = new PlaybookRegistry(await loadBuiltinPlaybooks(sandbox));
    const founding = registry.get('mobile-unauthorized-ip');
    assert.ok(founding);
    assert.equal(founding.identity, 'bundle');
    assert.deepEqual(founding.source, { repository: 'builtin', commit: null, path: 'playbooks/mobile-unauthorized-ip.ts' });
    assert.deepEqual(founding.config.roles, { mdm: 'mdm', directory: 'directory', firewall: 'firewall', ticketing: 'ticketing' });
    assert.equal(registry.get('adhoc-action')?.identity, 'bundle');
    const mem = inMemoryPlaybook(definePlaybook({ id: 'm', version: 1, triggers: { labels: [] }, roles: {} }, async () => 1));
    assert.equal(mem.identity, 'function');
  } finally {
    sandbox.close();
  }
});
