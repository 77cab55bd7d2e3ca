/**
 * The import directions of docs/architecture.md, checked: each folder of src/ may import only the
 * layers below it. A lower layer importing a higher one (store → policy, broker → engine, engine →
 * policy …) fails here with the file and the import named. `lab/` (the vendor simulators of the
 * demo) is never imported statically by src/: `serve --lab` loads it at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = join(ROOT, 'src');

/** Layer → the layers it may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  sdk: ['common'],
  store: ['common', 'sdk'],
  broker: ['common', 'sdk', 'store'],
  apps: ['common', 'sdk', 'broker'],
  policy: ['common', 'sdk', 'store'],
  steps: ['common', 'sdk', 'store', 'broker', 'policy'],
  engine: ['common', 'sdk', 'store', 'steps'],
  sandbox: ['common', 'sdk', 'engine'],
  repos: ['common', 'sdk', 'store', 'engine', 'sandbox', 'playbooks', 'testing'],
  ingest: ['common', 'sdk', 'store', 'engine'],
  // Audit checkpoints and the SIEM stream: read the store, write files and sockets, nothing above.
  audit: ['common', 'store'],
  api: ['common', 'sdk', 'store', 'broker', 'policy', 'engine', 'ingest', 'repos'],
  // The authoring kit runs the engine hermetically: everything below the API, no server.
  testing: ['common', 'sdk', 'store', 'broker', 'apps', 'policy', 'steps', 'engine', 'ingest', 'sandbox'],
  server: [
    'sandbox',
    'repos',
    'common',
    'sdk',
    'store',
    'broker',
    'apps',
    'policy',
    'steps',
    'engine',
    'ingest',
    'api',
    'audit',
    'config',
    'playbooks',
  ],
  cli: [
    'sandbox',
    'repos',
    'common',
    'sdk',
    'store',
    'broker',
    'apps',
    'policy',
    'steps',
    'engine',
    'ingest',
    'api',
    'server',
    'audit',
    'config',
    'playbooks',
    'testing',
  ],
  config: ['common', 'sdk', 'store', 'policy', 'audit'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The layer of a path: its folder under src/, `config` for src/config.ts, or the top-level folder outside src/. */
function layerOf(path: string): string {
  const fromSrc = relative(SRC, path);
  if (!fromSrc.startsWith('..')) {
    const first = fromSrc.split('/')[0]!;
    return first.endsWith('.ts') || first.endsWith('.js') ? first.replace(/\.(ts|js)$/, '') : first;
  }
  return relative(ROOT, path).split('/')[0]!;
}

// Static imports and re-exports only: a dynamic import() is how `serve --lab` loads the lab.
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'/gm;

test('every import in src/ goes down the layers', () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const layer = layerOf(file);
    const allowed = ALLOWED[layer];
    if (!allowed) {
      problems.push(
        `${relative(ROOT, file)}: folder "${layer}" is not in the layer table of this test (and docs/architecture.md)`,
      );
      continue;
    }
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = layerOf(resolve(dirname(file), m[1] ?? m[2]!));
      if (target !== layer && !allowed.includes(target))
        problems.push(`${relative(ROOT, file)} imports ${m[1] ?? m[2]} (${layer} → ${target})`);
    }
  }
  assert.deepEqual(problems, []);
});
