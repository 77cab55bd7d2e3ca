/**
 * Turns: the calls a playbook makes between two waits leave the sandbox together, as the entry's
 * result, and are made on the host in the playbook's order — with `ctx.now()` (answered at once)
 * in its place among them, a refused call rejecting only its own promise, and a turn's calls bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { loadPlaybookModule, sandboxPlaybook, type PlaybookSource } from '../support/sandbox-playbook.js';

const PLAYBOOKS: Record<string, PlaybookSource> = {
  order: {
    body: "const a = ctx.note('first'); const t = ctx.now(); const b = ctx.note('second'); await Promise.all([a, b]); return typeof t.getTime();",
  },
  refused: {
    body: "const bad = ctx.setStatus('pwned').then(() => 'set', (e) => e.message); await ctx.note('after the refused call'); return await bad;",
  },
  flood: {
    // 17 calls of 1 MB in one turn: the 17th goes over the 16 MB a turn may hand to ctx.
    body: "const big = 'x'.repeat(1_000_000); const made = []; try { for (let i = 0; i < 17; i++) made.push(ctx.lists.contains('l', big).catch(() => null)); } catch (e) { await Promise.all(made); return [made.length, e.message]; } return 'all queued';",
  },
  fanOut: {
    // 1,001 calls without waiting: the last is refused where it is made; those before are made.
    body: "const made = []; try { for (let i = 0; i < 1001; i++) made.push(ctx.note('n' + i)); } catch (e) { await Promise.all(made); return [made.length, e.message]; } return 'all queued';",
  },
  rejectsLater: {
    // A refused call no longer throws where it is made: code after it in the same turn still runs.
    body: "let reached = false; const p = ctx.setSeverity('apocalyptic'); reached = true; try { await p; } catch (e) { return [reached, e.message]; } return 'set';",
  },
};

const SDK = fileURLToPath(new URL('../../src/sdk/index.js', import.meta.url));
const SPIN = 'const spin = (ms) => { const t = Date.now(); while (Date.now() - t < ms) {} };';

/** A playbook module written whole (its run need not be an async function). */
async function loadModule(sandbox: Sandbox, id: string, label: string, run: string, moduleCode = ''): Promise<LoadedPlaybook> {
  return loadPlaybookModule(sandbox, (dir) => {
    const file = join(dir, 'playbook.mjs');
    writeFileSync(file, `import { definePlaybook } from ${JSON.stringify(SDK)};\n${SPIN}\n${moduleCode}\nexport default definePlaybook({ id: ${JSON.stringify(id)}, version: 1, triggers: { labels: [${JSON.stringify(label)}] }, roles: {} }, ${run});\n`);
    return file;
  });
}

describe('hostile turns: the server\'s event loop is held at most about one entry\'s limit', () => {
  // One realm, so that the next execution's entry is in the realm the stopped one left work in.
  const sandbox = new Sandbox({ memoryLimitMb: 64, callTimeoutMs: 100, realms: 1 });
  let h: Harness;
  before(async () => {
    h = await makeHarness({ apps: [], playbooks: [
      // A thrown value whose accessors never return, thrown out of the entry itself.
      await loadModule(sandbox, 'throw-slow', 'throwSlow', `(ctx) => { const p = Promise.resolve(1);
        Object.defineProperty(p, 'then', { value() { const e = new Error('x'); Object.defineProperty(e, 'message', { get() { spin(5000); return 'slow'; } }); throw e; } });
        return p; }`),
      // Stopped mid-loop with work left in the microtask queue, which must not run in someone else's entry.
      // (A step in flight keeps its execution from being released meanwhile.)
      await loadModule(sandbox, 'leftover', 'leftover', "async (ctx) => { ctx.sleep(1500).catch(() => {}); Promise.resolve().then(() => spin(3000)); for (;;) {} }"),
      await loadModule(sandbox, 'innocent', 'innocent', "async (ctx) => { await ctx.note('fine'); return 'fine'; }"),
      // Refused calls whose rejection handlers each spin just under the limit.
      await loadModule(sandbox, 'refusals', 'refusals', "async (ctx) => { const ps = []; for (let i = 0; i < 30; i++) ps.push(ctx.setStatus('bad').catch(() => spin(80))); await Promise.all(ps); return 'done'; }"),
    ] });
  });
  after(async () => {
    await h.close();
    sandbox.close();
  });

  const held = async (label: string) => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const [r] = await h.fire({ label });
    const done = await h.settle(r!.id, 20_000);
    delay.disable();
    return { run: done, heldMs: delay.max / 1e6 };
  };

  it('a thrown value is read inside the isolate, under the time limit', async () => {
    const { run, heldMs } = await held('throwSlow');
    assert.equal(run.status, 'failed');
    assert.match(run.error?.message ?? '', /ran for more than 100 ms without waiting on ctx/);
    assert.ok(heldMs < 1000, `the event loop was held ${Math.round(heldMs)} ms`);
  });

  it('work a stopped entry left queued does not run in the next execution\'s entry', async () => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const [culprit] = await h.fire({ label: 'leftover' });
    await new Promise((r) => setTimeout(r, 300));
    const [innocent] = await h.fire({ label: 'innocent' });
    const [a, b] = await Promise.all([h.settle(culprit!.id, 20_000), h.settle(innocent!.id, 20_000)]);
    delay.disable();
    assert.equal(a.status, 'failed');
    assert.equal(b.status, 'completed', b.error?.message);
    assert.ok(delay.max / 1e6 < 1000, `the event loop was held ${Math.round(delay.max / 1e6)} ms`);
  });

  it('refusals answered one after another are one stretch, stopped at the limit', async () => {
    const { run, heldMs } = await held('refusals');
    assert.equal(run.status, 'failed');
    assert.match(run.error?.message ?? '', /ran for more than 100 ms without waiting on ctx/);
    assert.ok(heldMs < 1000, `the event loop was held ${Math.round(heldMs)} ms`);
  });
});

describe('turns: one crossing per turn, calls in the playbook\'s order', () => {
  const sandbox = new Sandbox({ memoryLimitMb: 128 });
  let h: Harness;

  before(async () => {
    const loaded: LoadedPlaybook[] = [];
    for (const [name, src] of Object.entries(PLAYBOOKS)) {
      const p = await sandboxPlaybook(sandbox, { ...src, id: `turn-${name.toLowerCase()}`, triggers: { labels: [name] } });
      loaded.push(p);
    }
    h = await makeHarness({ apps: [], playbooks: loaded });
  });
  after(async () => {
    await h.close();
    sandbox.close();
  });

  const run = async (label: string) => {
    const [r] = await h.fire({ label });
    assert.ok(r, 'a run started');
    return h.settle(r.id, 20_000);
  };

  it('makes the calls of a turn in the order the playbook made them, ctx.now() in its place', async () => {
    const r = await run('order');
    assert.equal(r.status, 'completed', r.error?.message);
    assert.equal(r.output, 'number');
    const journal = await h.store.loadJournal(r.id);
    assert.deepEqual(journal.map((e) => [e.seq, e.kind]), [[0, 'note'], [1, 'now'], [2, 'note']]);
    assert.deepEqual(journal.filter((e) => e.kind === 'note').map((e) => (e.input as { text: string }).text), ['first', 'second']);
  });

  it('a refused call rejects its own promise; the other calls of the turn are made', async () => {
    const r = await run('refused');
    assert.equal(r.status, 'completed', r.error?.message);
    assert.equal(r.output, 'setStatus: unknown status "pwned"');
    const journal = await h.store.loadJournal(r.id);
    assert.deepEqual(journal.map((e) => e.kind), ['note'], 'the refused call left nothing in the journal');
  });

  it('a refused call rejects; it does not throw where it is made', async () => {
    const r = await run('rejectsLater');
    assert.equal(r.status, 'completed', r.error?.message);
    assert.deepEqual(r.output, [true, 'setSeverity: unknown severity "apocalyptic"']);
  });

  it('a turn makes at most 1000 calls: the one beyond is refused at once, those before are made', async () => {
    const r = await run('fanOut');
    assert.equal(r.status, 'completed', r.error?.message);
    assert.deepEqual(r.output, [1000, 'the playbook made more than 1000 calls to ctx without waiting once']);
    assert.equal((await h.store.loadJournal(r.id)).length, 1000);
  });

  it('a turn hands ctx at most 16 MB: the call beyond it is refused at once, those before are made', async () => {
    const r = await run('flood');
    assert.equal(r.status, 'completed', r.error?.message);
    assert.deepEqual(r.output, [16, 'the playbook handed more than 16777216 bytes of JSON to ctx without waiting once']);
    assert.equal((await h.store.loadJournal(r.id)).length, 16);
  });
});
