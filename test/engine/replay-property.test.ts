/**
 * Property tests of replay: random playbook shapes (branches × effects × loops × races) with
 * random vendor latencies, replayed (a) after parking on timers at random points, with engine
 * restarts, and (b) after a crash at every kind of point: the run is restarted on a copy of the
 * store that holds only a prefix of its writes, in commit order, as `kill -9` would leave it.
 * Replay must never report non-determinism, and never re-send a step whose outcome was recorded.
 *
 * Reproduce a failure with RIPOSTE_PROPERTY_SEED=<seed printed by fast-check>; more runs with
 * RIPOSTE_PROPERTY_RUNS=<n>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { definePlaybook, type PlaybookDefinition } from '../../src/sdk/index.js';
import type { JournalEntry, RunRecord } from '../../src/store/records.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { interpret, shapeArb, type Shape } from '../support/shapes.js';
import { prng } from '../support/wait.js';

const RUNS = Number(process.env.RIPOSTE_PROPERTY_RUNS ?? 25);
const SEED = process.env.RIPOSTE_PROPERTY_SEED === undefined ? undefined : Number(process.env.RIPOSTE_PROPERTY_SEED);
const PARK_MS = 30;
const SHORT_SLEEP_MS = 20;

function playbook(app: ReturnType<typeof makeTestApp>, shape: Shape): PlaybookDefinition {
  return definePlaybook({ id: 'shape', version: 1, triggers: { labels: ['test'] }, roles: {} }, async (ctx) => ({
    result: await interpret(ctx, app, 'tv', shape, PARK_MS),
  }));
}

async function setup(vendor: TestVendor, shape: Shape): Promise<{ h: Harness; pb: PlaybookDefinition }> {
  const app = makeTestApp(vendor);
  const pb = playbook(app, shape);
  const h = await makeHarness({
    apps: [app],
    playbooks: [pb],
    engine: { shortSleepMs: SHORT_SLEEP_MS, pollIntervalMs: 20 },
  });
  await h.store.putAsset(
    { egressAllow: ['loopback'], name: 'tv', appId: 'test-vendor', config: { url: 'http://127.0.0.1:1' }, secrets: { token: 't' } },
    'test',
  );
  return { h, pb };
}

/** Waits until the run finished, restarting the engine whenever it parks if asked to. */
async function finish(h: Harness, runId: string, restartOnPark: boolean): Promise<RunRecord> {
  const until = Date.now() + 20_000;
  for (;;) {
    const run = await h.settle(runId, 20_000);
    if (run.status !== 'waiting') return run;
    if (Date.now() > until) throw new Error(`run ${runId} still waiting`);
    if (restartOnPark) await h.restart();
    await new Promise((r) => setTimeout(r, 5));
  }
}

function explain(run: RunRecord): string {
  return `run ended ${run.status}: ${run.attentionReason ?? run.error?.message ?? ''}`;
}

/** Checks that hold after any execution history: each changing step applied once, notes once. */
async function checkEffects(
  h: Harness,
  run: RunRecord,
  vendor: TestVendor,
  appliedBefore: string[] = [],
): Promise<JournalEntry[]> {
  const journal = await h.store.loadJournal(run.id);
  const targets = [
    ...appliedBefore,
    ...vendor.applied.filter((a) => a.action === 'destroy').map((a) => (a.input as { target: string }).target),
  ];
  assert.equal(new Set(targets).size, targets.length, `a destroy was applied twice: ${targets.join(', ')}`);
  const destroyed = journal
    .filter((e) => e.name === 'tv.destroy' && e.status === 'completed')
    .map((e) => (e.input as { target: string }).target);
  assert.deepEqual(
    [...targets].sort(),
    [...destroyed].sort(),
    'every completed destroy was applied exactly once, and no other',
  );
  const notes = (await h.store.listNotes(run.incidentId)).map((n) => n.text);
  assert.equal(new Set(notes).size, notes.length, `a note was added twice: ${notes.join(' | ')}`);
  const noted = journal
    .filter((e) => e.kind === 'note' && e.status === 'completed')
    .map((e) => (e.input as { text: string }).text);
  assert.deepEqual([...notes].sort(), [...noted].sort());
  const resolutions = journal.map((e) => e.resolution).filter((r): r is number => r !== null && r !== undefined);
  assert.equal(new Set(resolutions).size, resolutions.length, 'two outcomes were handed over at the same place');
  return journal;
}

test('property: any shape and latencies, parked on timers and restarted at random points, replays without non-determinism or re-sends', async () => {
  await fc.assert(
    fc.asyncProperty(shapeArb({ park: true }), fc.integer(), fc.boolean(), async (shape, seed, restartOnPark) => {
      const vendor = new TestVendor();
      const rnd = prng(seed);
      vendor.latency = () => Math.floor(rnd() * 6);
      const { h } = await setup(vendor, shape);
      try {
        const [run] = await h.fire();
        const done = await finish(h, run!.id, restartOnPark);
        assert.equal(done.status, 'completed', explain(done));
        await checkEffects(h, done, vendor);
        // Parking loses nothing: no read was ever asked twice.
        const reads = vendor.applied
          .filter((a) => a.action === 'echo')
          .map((a) => (a.input as { value: string }).value);
        assert.equal(new Set(reads).size, reads.length, `a recorded read was sent again: ${reads.join(', ')}`);
      } finally {
        await h.close();
      }
    }),
    { numRuns: RUNS, includeErrorInReport: true, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
});

/** The store methods through which a run's writes go, in the order they are queued. */
const WRITE_METHODS = [
  'putJournal',
  'appendJournal',
  'updateJournal',
  'applyRunEffect',
  'patchRun',
  'recordActionResult',
] as const;
type WriteCall = { method: (typeof WRITE_METHODS)[number]; args: unknown[] };

function recordWrites(store: SqliteStore): WriteCall[] {
  const log: WriteCall[] = [];
  const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const method of WRITE_METHODS) {
    const orig = s[method]!.bind(store);
    s[method] = (...args: unknown[]) => {
      log.push({ method, args: structuredClone(args.filter((a) => typeof a !== 'function')) });
      return orig(...args);
    };
  }
  return log;
}

test("property: a crash after any write (the store holds a prefix of the run's writes) replays without non-determinism or re-sends", async () => {
  await fc.assert(
    fc.asyncProperty(
      shapeArb({ park: false }),
      fc.integer(),
      fc.integer(),
      fc.double({ min: 0, max: 1, noNaN: true }),
      async (shape, seed1, seed2, cutAt) => {
        // The original execution, with every write it queued recorded in order.
        const vendor = new TestVendor();
        const rnd1 = prng(seed1);
        vendor.latency = () => Math.floor(rnd1() * 6);
        const first = await setup(vendor, shape);
        const log = recordWrites(first.h.store);
        let run: RunRecord;
        let incident;
        try {
          [run] = (await first.h.fire()) as [RunRecord];
          const done = await finish(first.h, run.id, false);
          assert.equal(done.status, 'completed', explain(done));
          incident = (await first.h.store.getIncident(run.incidentId))!;
        } finally {
          await first.h.close();
        }
        const cut = Math.floor(cutAt * log.length);
        const prefix = log
          .slice(0, cut)
          .filter((w) => w.method !== 'patchRun' || (w.args[1] as { status?: string }).status !== 'completed');

        // The crash: a new store with the same incident and run, holding only the first `cut` writes.
        const vendor2 = new TestVendor();
        const rnd2 = prng(seed2);
        vendor2.latency = () => Math.floor(rnd2() * 6);
        const second = await setup(vendor2, shape);
        try {
          await second.h.engine.stop();
          await second.h.store.ingest(
            {
              name: incident.name,
              label: 'test',
              severity: incident.severity,
              source: 'test',
              artifacts: [{ name: 'a', cef: { sourceUserName: 'jdoe' } }],
            },
            [
              {
                id: run.id,
                playbookId: run.playbookId,
                playbookVersion: run.playbookVersion,
                playbookHash: run.playbookHash,
              },
            ],
            'test',
          );
          const s = second.h.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
          for (const w of prefix) await s[w.method]!(...w.args);
          const before = await second.h.store.loadJournal(run.id);
          // What the vendor had done by then: every destroy whose intent was committed may have been sent.
          const appliedBefore = before
            .filter((e) => e.name === 'tv.destroy')
            .map((e) => (e.input as { target: string }).target);
          for (const t of appliedBefore)
            vendor2.applied.push({ action: 'destroy', input: { target: t }, key: 'before-crash' });
          const preexisting = vendor2.applied.length;
          await second.h.restart();
          const done = await finish(second.h, run.id, false);
          assert.equal(done.status, 'completed', explain(done));
          vendor2.applied.splice(0, preexisting);
          const journal = await checkEffects(second.h, done, vendor2, appliedBefore);
          // What was recorded before the crash is what the replay kept: same steps, same outcomes, same order.
          const bySeq = new Map(journal.map((e) => [e.seq, e]));
          for (const e of before) {
            const now = bySeq.get(e.seq);
            assert.ok(now, `step ${e.seq} (${e.name}) vanished`);
            assert.deepEqual(
              [now.kind, now.name, now.input],
              [e.kind, e.name, e.input],
              `step ${e.seq} changed identity`,
            );
            if (e.status === 'completed' && e.resolution !== null) {
              assert.deepEqual(
                [now.output, now.resolution],
                [e.output, e.resolution],
                `recorded outcome of step ${e.seq} changed`,
              );
            }
          }
          // A read whose outcome was recorded is never asked again.
          const recordedReads = new Set(
            before
              .filter((e) => e.name === 'tv.echo' && e.status === 'completed')
              .map((e) => (e.input as { value: string }).value),
          );
          for (const a of vendor2.applied.filter((x) => x.action === 'echo')) {
            assert.ok(
              !recordedReads.has((a.input as { value: string }).value),
              `recorded read ${(a.input as { value: string }).value} was sent again`,
            );
          }
        } finally {
          await second.h.close();
        }
      },
    ),
    { numRuns: RUNS, includeErrorInReport: true, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
});
