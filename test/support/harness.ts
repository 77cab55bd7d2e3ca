/** Builds a real engine on a temporary SQLite store for tests. */
import { randomBytes } from 'node:crypto';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { AppCatalog } from '../../src/broker/catalog.js';
import { Broker } from '../../src/broker/broker.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { StepService } from '../../src/steps/step-service.js';
import type { WaitOn } from '../../src/common/wait-on.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { createHitl, type Hitl } from '../../src/policy/hitl.js';
import type { AppDefinition } from '../../src/sdk/app.js';
import type { PlaybookDefinition } from '../../src/sdk/playbook.js';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import type { NewIncident, RunRecord } from '../../src/store/records.js';
import { openTempStore } from './temp-store.js';

export interface Harness {
  dir: string;
  /** The human-in-the-loop layer, when `makeHarness({ hitl })` asked for it. */
  hitl: Hitl | null;
  store: SqliteStore;
  registry: PlaybookRegistry;
  catalog: AppCatalog;
  broker: Broker;
  engine: Engine;
  ingest: IngestService;
  /** Ingests an incident and returns its runs. */
  fire(incident?: Partial<NewIncident>): Promise<RunRecord[]>;
  /** Waits until the run reaches a state other than queued/running (or times out). */
  settle(runId: string, timeoutMs?: number): Promise<RunRecord>;
  /** Replace the engine (same store) — as a restarted process would. */
  restart(playbooks?: Array<PlaybookDefinition | LoadedPlaybook>): Promise<void>;
  close(): Promise<void>;
}

export async function makeHarness(opts: { apps: AppDefinition[]; playbooks: Array<PlaybookDefinition | LoadedPlaybook>; engine?: EngineOptions; hitl?: { approvalTtlMs?: number } }): Promise<Harness> {
  const temp = await openTempStore('riposte-test-');
  const { dir, store } = temp;
  const catalog = new AppCatalog(opts.apps);
  const broker = new Broker(store, catalog, { retryBaseMs: 5, retryMaxMs: 50, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
  const h: Harness = {
    dir, store, catalog, broker, hitl: null,
    registry: new PlaybookRegistry(opts.playbooks),
    engine: null as unknown as Engine,
    ingest: null as unknown as IngestService,
    async fire(incident = {}) {
      const res = await h.ingest.ingest({
        name: 'test incident', label: 'test', severity: 'medium', source: 'test', artifacts: [{ name: 'a', cef: { sourceUserName: 'jdoe' } }], ...incident,
      }, 'test');
      return res.runs;
    },
    async settle(runId, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const run = await store.getRun(runId);
        if (run && run.status !== 'queued' && run.status !== 'running') return run;
        if (Date.now() > until) throw new Error(`run ${runId} did not settle in ${timeoutMs} ms (status ${run?.status})`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async restart(playbooks) {
      await h.engine.stop();
      if (playbooks) h.registry = new PlaybookRegistry(playbooks);
      h.broker.invalidateAsset();
      start();
    },
    async close() {
      await h.engine.stop();
      await temp.close();
    },
  };
  if (opts.hitl) {
    h.hitl = createHitl({ policy: store.policyStore(), secretKey: randomBytes(32), wake: () => h.engine.wake(), ...(opts.hitl.approvalTtlMs ? { approvalTtlMs: opts.hitl.approvalTtlMs } : {}) });
  }
  const start = () => {
    const hitl = h.hitl;
    const steps = new StepService(store, broker, hitl ? { gate: hitl.gate, prompts: hitl.prompts, release: (r, s, why) => hitl.cancelStep(r, s, why) } : {});
    h.engine = new Engine(store, steps, h.registry, { shortSleepMs: 0, ...opts.engine, ...(h.hitl ? { stillWaiting: (w: WaitOn) => h.hitl!.stillWaiting(w) } : {}) });
    h.ingest = new IngestService(store, h.registry, h.engine);
    h.engine.start();
  };
  start();
  return h;
}
