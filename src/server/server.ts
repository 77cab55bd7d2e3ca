/**
 * `riposte serve`: opens the store, resumes interrupted runs, starts the engine and the HTTP API
 * and — with `--lab` — the vendor simulators with demo assets bound to the founding playbook.
 * The lab lives outside `src/` and is loaded at run time (lab-loader.ts), before the store is
 * opened, so a missing lab refuses to start without touching the data directory.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { ServeConfig } from '../config.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { loadSecretKey } from '../store/secrets.js';
import { PlaybookRegistry } from '../engine/registry.js';
import { Engine } from '../engine/engine.js';
import { StepService } from '../steps/step-service.js';
import { Broker } from '../broker/broker.js';
import { firstPartyCatalog } from '../apps/catalog.js';
import { IngestService } from '../ingest/ingest-service.js';
import { buildApiServer } from '../api/server.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { loadBuiltinPlaybooks } from './builtin-playbooks.js';
import { ensureCredentials, type Credentials } from './credentials.js';
import { loadLab, type RunningLab } from './lab-loader.js';
import { createHitl, type Hitl } from '../policy/hitl.js';
import { registerHitlRoutes } from '../api/routes/hitl.js';
import { registerRunApprovalRoutes } from '../api/routes/run-approvals.js';
import { registerPlaybookTriggerRoutes } from '../api/routes/playbook-triggers.js';

import { startSearchIndexer } from '../store/sqlite/search-indexer.js';

export interface RunningServer {
  url: string;
  hitl: Hitl;
  credentials: Credentials;
  credentialsCreated: boolean;
  store: SqliteStore;
  engine: Engine;
  /** The lab's simulators (with `--lab`); tests get the full lab with `labOf` (test/support/lab.ts). */
  lab: RunningLab | null;
  stop(): Promise<void>;
}

export async function startServer(config: ServeConfig): Promise<RunningServer> {
  const labModule = config.lab ? await loadLab() : null;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const logger = pino({ level: config.logLevel });
  const secretKey = loadSecretKey({ dataDir: config.dataDir, env: process.env });
  const store = new SqliteStore({ path: join(config.dataDir, 'riposte.db'), secretKey, synchronous: config.sqliteSync });
  await store.migrate();
  const { credentials, created } = await ensureCredentials(store, config.dataDir);

  let lab: RunningLab | null = null;
  if (labModule !== null) {
    try {
      lab = await labModule.startDemoLab(store, { firstPort: config.labPort });
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  // Every playbook runs in the sandbox, the shipped ones too: built from their files, never imported here.
  const sandbox = new Sandbox();
  let registry: PlaybookRegistry;
  try {
    registry = new PlaybookRegistry(await loadBuiltinPlaybooks(sandbox));
  } catch (err) {
    sandbox.close();
    await lab?.stop();
    await store.close();
    throw err;
  }
  const catalog = firstPartyCatalog();
  const broker = new Broker(store, catalog);
  const waker = { wake: () => {} };
  const hitl = createHitl({
    policy: store.policyStore(), secretKey, wake: () => waker.wake(), ...(config.mail ? { mail: config.mail } : {}),
    onError: (err) => logger.error({ err }, 'notification failed'),
  });
  const steps = new StepService(store, broker, { gate: hitl.gate, prompts: hitl.prompts, release: (run, seq, why) => hitl.cancelStep(run, seq, why) });
  const engine = new Engine(store, steps, registry, {
    stillWaiting: (w) => hitl.stillWaiting(w),
    concurrency: config.engineConcurrency,
    onRunSettled: (run, result) => logger.info({ runId: run.id, playbook: run.playbookId, incidentId: run.incidentId, status: result.status }, 'run settled'),
    onError: (err) => logger.error({ err }, 'engine error'),
  });
  waker.wake = () => engine.wake();
  const ingest = new IngestService(store, registry, engine);
  const api = await buildApiServer({
    store, ingest, logger: logger.child({ component: 'api' }),
    extraRoutes: (app) => {
      registerHitlRoutes(app, { store, hitl, registry, catalog, wake: () => engine.wake() });
      registerRunApprovalRoutes(app, { store, hitl });
      registerPlaybookTriggerRoutes(app, { store, registry });
    },
  });
  try {
    await api.listen({ host: config.host, port: config.port });
  } catch (err) {
    sandbox.close();
    await lab?.stop();
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'EADDRINUSE' ? `${config.host}:${config.port} is already in use (another Riposte?); choose another with --port` : `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  engine.start();
  // New incidents go into the search index in batches, off the ingest path (search finds them meanwhile).
  const searchIndexer = startSearchIndexer(store.db, { onError: (err) => logger.error({ err }, 'search indexing failed') });
  const port = (api.server.address() as AddressInfo).port;
  const url = `http://${config.host}:${port}`;

  let stopping: Promise<void> | null = null;
  return {
    url, credentials, credentialsCreated: created, store, engine, lab, hitl,
    stop() {
      stopping ??= (async () => {
        await api.close();
        await engine.stop();
        sandbox.close();
        searchIndexer.stop();
        await lab?.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
