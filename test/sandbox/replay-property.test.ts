/**
 * Replay through the sandbox boundary: random playbook shapes (see test/support/shapes.ts) run in
 * the isolate with random vendor latencies, parked on timers and restarted at random points. The
 * playbook's continuations run inside the isolate, one host entry per outcome: the order of steps
 * must be exactly what it is in process — never non-determinism, never a re-sent recorded step.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import { newRunId } from '../../src/store/ids.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { sandboxPlaybook } from '../support/sandbox-playbook.js';
import { shapeArb } from '../support/shapes.js';
import { prng, until } from '../support/wait.js';
import { putTvAsset } from '../support/tv-asset.js';

const RUNS = Number(process.env.RIPOSTE_PROPERTY_RUNS ?? 15);
const INTERPRETER = fileURLToPath(new URL('../support/shape-interpreter.js', import.meta.url));
const sandbox = new Sandbox();
let playbook: LoadedPlaybook;

before(async () => {
  playbook = await sandboxPlaybook(sandbox, {
    id: 'shape',
    module: `import { interpret } from ${JSON.stringify(INTERPRETER)};`,
    body: "return { result: await interpret(ctx, { id: 'test-vendor' }, 'tv', args.shape, 30) };",
  });
});
after(() => sandbox.close());

test('property (sandbox): any shape and latencies, parked and restarted at random points, replays exactly', async () => {
  await fc.assert(fc.asyncProperty(shapeArb({ park: true }), fc.integer(), fc.boolean(), async (shape, seed, restartOnPark) => {
    const vendor = new TestVendor();
    const rnd = prng(seed);
    vendor.latency = () => Math.floor(rnd() * 6);
    const h = await makeHarness({ apps: [makeTestApp(vendor)], playbooks: [playbook], engine: { shortSleepMs: 20, pollIntervalMs: 20 } });
    try {
      await putTvAsset(h.store);
      const { incident } = await h.store.ingest({ name: 'i', label: 'none', severity: 'low', source: 'test', artifacts: [{ name: 'a', cef: { suser: 'x' } }] }, [], 'test');
      const run = await h.store.createRun(incident.id, { id: newRunId(), playbookId: 'shape', playbookVersion: 1, playbookHash: playbook.hash, args: { shape } }, 'test');
      h.engine.wake();
      const done = await until('the run to finish', async () => {
        const r = (await h.store.getRun(run.id))!;
        if (r.status === 'waiting' && restartOnPark) await h.restart();
        return ['completed', 'failed', 'needs_attention'].includes(r.status) ? r : undefined;
      }, 20_000);
      assert.equal(done.status, 'completed', `${done.status}: ${done.attentionReason ?? done.error?.message ?? ''}`);
      const reads = vendor.applied.filter((a) => a.action === 'echo').map((a) => (a.input as { value: string }).value);
      assert.equal(new Set(reads).size, reads.length, 'a recorded read was sent again');
      const destroyed = vendor.applied.filter((a) => a.action === 'destroy').map((a) => (a.input as { target: string }).target);
      assert.equal(new Set(destroyed).size, destroyed.length, 'a destroy was applied twice');
    } finally {
      await h.close();
    }
  }), { numRuns: RUNS, includeErrorInReport: true });
});
