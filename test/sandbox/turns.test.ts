/**
 * Turns: the calls a playbook makes between two waits leave the sandbox together, as the entry's
 * result, and are made on the host in the playbook's order — with `ctx.now()` (answered at once)
 * in its place among them, a refused call rejecting only its own promise, and a turn's calls bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { sandboxPlaybook, type PlaybookSource } from '../support/sandbox-playbook.js';

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
