/**
 * The escape corpus: playbook code trying, as an attacker would, to reach beyond `ctx` — the
 * server's process, its environment, files, network, timers, credentials, other runs, the journal —
 * or to harm the server and other runs with CPU or memory. Every attempt runs through the real
 * engine in the real sandbox, and the test asserts how it was refused or contained.
 */
import { after, before, describe, it } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import type { RunRecord } from '../../src/store/records.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { sandboxPlaybook, type PlaybookSource } from '../support/sandbox-playbook.js';
import { putTvAsset } from '../support/tv-asset.js';
import { runIn } from '../support/wait.js';

interface Attempt extends PlaybookSource {
  name: string;
  /** The playbook does not even load (its module code is refused): the error must match. */
  refusedAtLoad?: RegExp;
  check(run: RunRecord, h: Harness): void | Promise<void>;
}

const completedWith = (expected: unknown) => (run: RunRecord) => {
  assert.equal(run.status, 'completed', `${run.status}: ${run.error?.message ?? run.attentionReason ?? ''}`);
  assert.deepEqual(run.output, expected);
};
const failedWith = (pattern: RegExp) => (run: RunRecord) => {
  assert.equal(run.status, 'failed', `expected a failed run, got ${run.status} ${JSON.stringify(run.output)}`);
  assert.match(run.error?.message ?? '', pattern);
};
const STOPPED_TIME = /ran for more than 100 ms without waiting on ctx and was stopped/;
const STOPPED_MEMORY = /exceeded its memory limit \(16 MB\) and was stopped/;

const ATTEMPTS: Attempt[] = [
  { name: 'process', body: 'return typeof process;', check: completedWith('undefined') },
  { name: 'globalThis.process', body: 'return String(globalThis.process);', check: completedWith('undefined') },
  { name: 'require', body: "try { return String(require(['f', 's'].join(''))); } catch (e) { return 'refused'; }", check: completedWith('refused') },
  { name: 'module and exports', body: 'return [typeof module, typeof exports, typeof __dirname].join();', check: completedWith('undefined,undefined,undefined') },
  // SES tames the Function constructors reachable from objects; `Function` itself evaluates in the frozen realm.
  { name: 'Function constructor of a plain object', body: "try { return String(({}).constructor.constructor('return typeof process')()); } catch (e) { return 'refused'; }", check: completedWith('refused') },
  { name: 'Function constructor of ctx', body: "try { return String(ctx.note.constructor('return typeof process')()); } catch (e) { return 'refused'; }", check: completedWith('refused') },
  { name: 'async function constructor', body: "try { const AF = (async () => {}).constructor; return await AF('return typeof process')(); } catch (e) { return 'refused'; }", check: completedWith('refused') },
  { name: 'the global Function', body: "return Function('return typeof process + typeof require')();", check: completedWith('undefinedundefined') },
  { name: 'eval', body: "return eval('typeof process + typeof require + typeof fetch');", check: completedWith('undefinedundefinedundefined') },
  { name: 'the global object', body: "return Object.getOwnPropertyNames(globalThis).filter((k) => /^(process|require|Buffer|fetch|setTimeout|global|__riposte.*)$/.test(k));", check: completedWith([]) },
  { name: 'a new global', body: "try { globalThis.stash = 'x'; return 'written'; } catch (e) { return e instanceof TypeError ? 'refused' : String(e); }", check: completedWith('refused') },
  // A literal import('fs') does not even build (see the test below); a computed one gets this far.
  { name: 'dynamic import of fs', body: "try { await import(['f', 's'].join('')); return 'imported'; } catch (e) { return 'refused'; }", check: completedWith('refused') },
  { name: 'dynamic import of node:child_process', body: "try { await import(['node:child', 'process'].join('_')); return 'imported'; } catch (e) { return 'refused'; }", check: completedWith('refused') },
  { name: 'timers', body: 'return [typeof setTimeout, typeof setInterval, typeof setImmediate, typeof queueMicrotask].join();', check: completedWith('undefined,undefined,undefined,undefined') },
  { name: 'network', body: 'return [typeof fetch, typeof XMLHttpRequest, typeof WebSocket].join();', check: completedWith('undefined,undefined,undefined') },
  { name: 'Buffer and the environment', body: "return [typeof Buffer, typeof Deno, typeof Bun, (globalThis.process?.env ?? 'none')].join();", check: completedWith('undefined,undefined,undefined,none') },
  { name: 'Error.prepareStackTrace to reach host frames', body: "try { Error.prepareStackTrace = (_e, frames) => frames; return 'installed'; } catch (e) { return e instanceof TypeError ? 'refused' : String(e); }", check: completedWith('refused') },
  { name: 'an error\'s stack names no host frame', body: "try { await ctx.lists.contains(1, 2); } catch (e) { return String(e.stack).split('\\n').filter((l) => /node:|riposte\\/dist|\\.ts:/.test(l)); } return 'no error';", check: completedWith([]) },
  { name: 'a host error does not carry a host realm', body: "try { await ctx.lists.contains('no-such-list', 'x'); } catch (e) { let viaConstructor; try { viaConstructor = e.constructor.constructor('return typeof process')(); } catch { viaConstructor = 'refused'; } return [e.constructor === ActionFailedError, viaConstructor].join(); } return 'no error';", check: completedWith('true,refused') },
  { name: 'the host function is not reachable from playbook code', module: 'const atLoad = typeof globalThis.__riposte_host;', body: 'return atLoad;', check: completedWith('undefined') },
  { name: 'a huge call through ctx', body: "try { await ctx.note('x'.repeat(2 * 1024 * 1024)); return 'sent'; } catch (e) { return e.message; }", check: completedWith('a call to ctx carries at most 1048576 bytes of JSON') },
  { name: 'a value ctx does not take', body: "try { await ctx.setStatus('pwned'); return 'set'; } catch (e) { return e.message; }", check: completedWith('setStatus: unknown status "pwned"') },
  { name: 'the host function is gone once the run starts', body: "return [typeof globalThis.__riposte_host, typeof globalThis.__riposte_guest].join();", check: completedWith('undefined,undefined') },
  {
    name: 'forging a step result only fools the playbook itself',
    // The guest keeps each step's resolvers in a Map: catch them on their way in, and resolve one.
    // Patching the Map the guest keeps resolvers in: the realm is frozen, so the module fails to load.
    module: "const set = Map.prototype.set; Map.prototype.set = function (k, v) { return set.call(this, k, v); };",
    body: "return 'loaded';",
    refusedAtLoad: /Cannot assign to read only property 'set'/,
    check() {},
  },
  { name: 'a step outcome is a copy: changing it changes nothing recorded', body: "const r = await ctx.asset({ id: 'test-vendor' }, 'tv').echo({ value: 'a' }); r.value = 'b'; return r.value;",
    async check(run, h) { completedWith('b')(run); assert.deepEqual((await h.store.loadJournal(run.id))[0]!.output, { value: 'a' }); } },
  { name: 'state of another run (module-level)', module: 'let seen = 0;', body: 'seen += 1; return seen;', check: completedWith(1) },
  { name: 'prototype pollution', body: "try { Object.prototype.polluted = 'yes'; return 'polluted'; } catch (e) { return e instanceof TypeError ? 'refused' : String(e); }", check: completedWith('refused') },
  { name: 'patching a built-in another run relies on', body: "try { Array.prototype.map = () => ['wipe everything']; return 'patched'; } catch (e) { return e instanceof TypeError ? 'refused' : String(e); }", check: completedWith('refused') },
  { name: 'freezing intrinsics does not break the next run', body: 'Object.freeze(Object.prototype); Object.freeze(Array.prototype); return [1].map((x) => x + 1)[0];', check: completedWith(2) },
  { name: 'an infinite loop in the first segment', body: 'for (;;) {}', check: failedWith(STOPPED_TIME) },
  { name: 'a busy loop after an await, in one branch', body: "await Promise.all([ctx.note('a'), ctx.note('b').then(() => { const end = Date.now() + 10_000; while (Date.now() < end) {} })]); return 'finished';", check: failedWith(STOPPED_TIME) },
  { name: 'an endless chain of microtasks', body: 'const spin = () => Promise.resolve().then(spin); spin(); await ctx.note("x");', check: failedWith(STOPPED_TIME) },
  { name: 'Atomics.wait', body: 'const a = new Int32Array(new SharedArrayBuffer(4)); Atomics.wait(a, 0, 0); return "woke";', check: failedWith(STOPPED_TIME) },
  { name: 'an infinite loop in WebAssembly', body: "const code = new Uint8Array([0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,7,5,1,1,102,0,0,10,9,1,7,0,3,64,12,0,11,11]); new WebAssembly.Instance(new WebAssembly.Module(code)).exports.f(); return 'returned';", check: failedWith(STOPPED_TIME) },
  { name: 'a memory bomb', body: "const hoard = []; for (;;) hoard.push(new Array(1e6).fill(Math.random()));", check: failedWith(STOPPED_MEMORY) },
  { name: 'a string that doubles until it cannot', body: "let s = 'x'; for (;;) s = s + s + String(s.length);", check: failedWith(/memory limit|Invalid string length|stopped/) },
  { name: 'unbounded recursion', body: "const f = (n) => f(n + 1) + 1; try { f(0); } catch (e) { return e instanceof RangeError; }", check: completedWith(true) },
  { name: 'an asset the run is not given: its name refers to nothing configured', body: "try { await ctx.asset({ id: 'test-vendor' }, 'admin-db').echo({ value: 'x' }); return 'reached'; } catch (e) { return e.record.message; }", check: completedWith('asset "admin-db" is not configured') },
  { name: 'credentials: ctx carries none', body: 'return JSON.stringify(ctx).match(/token|secret|password/gi) ?? [];', check: completedWith([]) },
  { name: 'ctx cannot be changed to reach further', body: "try { ctx.roles.extra = {}; } catch { return 'frozen'; } return 'changed';", check: completedWith('frozen') },
  { name: 'waiting on something that is not ctx', body: 'await new Promise(() => {}); return "never";', check: failedWith(/waits for something that is not a ctx step/) },
  { name: 'an async WebAssembly compile (completes outside any ctx step)', body: "const code = new Uint8Array([0,97,115,109,1,0,0,0]); await WebAssembly.compile(code); await ctx.note('compiled'); return 'compiled';", check: failedWith(/waits for something that is not a ctx step/) },
];

describe('escape corpus: playbook code reaches nothing but ctx', () => {
  const sandbox = new Sandbox({ callTimeoutMs: 100, memoryLimitMb: 16, cpuBudgetMs: 1000 });
  const vendor = new TestVendor();
  let h: Harness;
  const loaded: LoadedPlaybook[] = [];
  const loadErrors = new Map<number, Error | null>();

  before(async () => {
    for (const [i, a] of ATTEMPTS.entries()) {
      if (a.refusedAtLoad) {
        loadErrors.set(i, await sandboxPlaybook(sandbox, { ...a, id: `attack-${i}` }).then(() => null, (err: Error) => err));
        continue;
      }
      const p = await sandboxPlaybook(sandbox, { ...a, id: `attack-${i}` });
      p.config.triggers.labels.splice(0, 1, `attack-${i}`);
      loaded.push(p);
    }
    h = await makeHarness({ apps: [makeTestApp(vendor)], playbooks: loaded });
    await putTvAsset(h.store);
  });
  after(async () => {
    await h.close();
    sandbox.close();
  });
  // A run interrupted with its realm (another's memory bomb) waits a moment, then runs again alone.
  const finished = (runId: string) => runIn(h.store, runId, ['completed', 'failed', 'needs_attention'], 20_000);

  it(`has at least 30 attempts (${ATTEMPTS.length})`, () => assert.ok(ATTEMPTS.length >= 30));

  for (const [i, a] of ATTEMPTS.entries()) {
    it(a.name, async () => {
      if (a.refusedAtLoad) {
        const err = loadErrors.get(i);
        assert.ok(err, 'the playbook loaded');
        assert.match(err.message, a.refusedAtLoad);
        return;
      }
      const [run] = await h.fire({ label: `attack-${i}` });
      assert.ok(run, 'a run started');
      await a.check(await finished(run.id), h);
      // Whatever the attempt did, the next run of the same code starts clean.
      const [again] = await h.fire({ label: `attack-${i}` });
      const second = await finished(again!.id);
      if (a.name.startsWith('state of another run')) await a.check(second, h);
    });
  }

  it('an import of anything but the SDK and the repository\'s own files does not build', async () => {
    for (const spec of ['fs', 'node:child_process', 'zod', '../../src/store/secrets.js']) {
      await assert.rejects(sandboxPlaybook(sandbox, { module: `import * as m from ${JSON.stringify(spec)}; globalThis.m = m;`, body: 'return 1;' }),
        (err: Error) => err.name === 'BundleError' && (/cannot be imported by playbook code|Could not resolve/).test(err.message));
    }
  });

  it('a busy loop and a memory bomb leave the server responsive and a neighbour run unharmed', async () => {
    const neighbour = ATTEMPTS.findIndex((a) => a.name === 'process');
    const spin = ATTEMPTS.findIndex((a) => a.name.startsWith('a busy loop after an await'));
    const bomb = ATTEMPTS.findIndex((a) => a.name === 'a memory bomb');
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const runs = await Promise.all([spin, bomb, neighbour, spin, neighbour].map(async (i) => (await h.fire({ label: `attack-${i}` }))[0]!));
    const settled = await Promise.all(runs.map((r) => finished(r.id)));
    delay.disable();
    assert.deepEqual(settled.map((r) => r.status), ['failed', 'failed', 'completed', 'failed', 'completed']);
    // The event loop was held at most about one entry's time limit (100 ms here) at a time.
    assert.ok(delay.max / 1e6 < 400, `the event loop was blocked for ${Math.round(delay.max / 1e6)} ms`);
  });

  it('the host realm stayed clean', () => {
    assert.equal((({}) as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.isFrozen(Object.prototype), false);
  });
});
