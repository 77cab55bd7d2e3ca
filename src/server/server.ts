/**
 * `riposte serve`: opens the store, resumes interrupted runs, starts the engine and the HTTP API
 * and — with `--lab` — the vendor simulators with demo assets bound to the founding playbook.
 * The lab lives outside `src/` and is loaded at run time (lab-loader.ts), before the store is
 * opened, so a missing lab refuses to start without touching the data directory.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import pino from 'pino';
import type { ServeConfig } from '../config.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { loadMasterKeys } from '../store/master-key.js';
import { writeServerPid } from './server-pid.js';
import { loadAuditKeyring } from '../store/audit-keyring.js';
import { startAuditTrail } from '../audit/trail.js';
import { PlaybookRegistry } from '../engine/registry.js';
import { Engine } from '../engine/engine.js';
import { StepService } from '../steps/step-service.js';
import { Broker } from '../broker/broker.js';
import { firstPartyCatalog } from '../apps/catalog.js';
import { IngestService } from '../ingest/ingest-service.js';
import { buildApiServer } from '../api/server.js';
import { routesOf, type SeenRoute } from '../api/route-access.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { loadAdhocPlaybook } from './builtin-playbooks.js';
import { PlaybookCatalog } from '../repos/catalog.js';
import { RepoSyncer } from '../repos/sync.js';
import { registerRepoRoutes } from '../api/routes/repos.js';
import { stopBundler } from '../sandbox/bundle.js';
import { ensureCredentials, type Credentials } from './credentials.js';
import { loadLab, type RunningLab } from './lab-loader.js';
import { createHitl, type Hitl } from '../policy/hitl.js';
import { registerHitlRoutes } from '../api/routes/hitl.js';
import { registerRunApprovalRoutes } from '../api/routes/run-approvals.js';
import { registerStartRoutes } from '../api/routes/starts.js';
import { registerScheduleRoutes } from '../api/routes/schedules.js';
import { RunStarter } from '../ingest/run-starter.js';
import { Scheduler } from '../ingest/scheduler.js';
import { registerPlaybookTriggerRoutes } from '../api/routes/playbook-triggers.js';

import { startSearchIndexer } from '../store/sqlite/search-indexer.js';

export interface RunningServer {
  url: string;
  hitl: Hitl;
  credentials: Credentials;
  credentialsCreated: boolean;
  store: SqliteStore;
  engine: Engine;
  scheduler: Scheduler;
  /** The lab's simulators (with `--lab`); tests get the full lab with `labOf` (test/support/lab.ts). */
  lab: RunningLab | null;
  /** Every HTTP route the server registered, with its declared access (route-access.ts). */
  routes(): readonly SeenRoute[];
  stop(): Promise<void>;
}

/** The PEM files of `--tls-cert/--tls-key`, read before anything starts; a missing file is named. */
function readTls(tls: ServeConfig['tls']): { cert: Buffer; key: Buffer } | undefined {
  if (!tls) return undefined;
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const pem = { cert: read('certificate', tls.certFile), key: read('key', tls.keyFile) };
  try {
    createSecureContext(pem); // a key that does not match the certificate fails here, before anything starts
  } catch (err) {
    throw new Error(`TLS certificate ${tls.certFile} and key ${tls.keyFile} are not usable together: ${(err as Error).message}`);
  }
  return pem;
}

export async function startServer(config: ServeConfig): Promise<RunningServer> {
  const tls = readTls(config.tls);
  const labModule = config.lab ? await loadLab() : null;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const logger = pino({ level: config.logLevel });
  const keys = loadMasterKeys({ dataDir: config.dataDir, env: process.env, keyFile: config.keyFile, keyCommand: config.keyCommand, create: true });
  const auditKeys = loadAuditKeyring({ dataDir: config.dataDir, env: process.env });
  const store = new SqliteStore({
    path: join(config.dataDir, 'riposte.db'), secretKey: keys.current, nextKey: keys.next, auditKeys, synchronous: config.sqliteSync,
    onWarning: (message) => logger.warn(message),
  });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }

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

  // Every playbook runs in the sandbox, the shipped ones too: the built-in repository is synced
  // (built from its files, never imported here) and every repository's active commit loaded.
  const sandbox = new Sandbox();
  const registry = new PlaybookRegistry();
  const onRepoError = (err: unknown) => logger.error({ err }, 'playbook repositories');
  const reloadPlaybooks = () => playbookCatalog.refresh().catch(onRepoError);
  const repos = new RepoSyncer(store, sandbox, { mirrorsDir: join(config.dataDir, 'repos'), onError: onRepoError, onChange: reloadPlaybooks });
  let playbookCatalog: PlaybookCatalog;
  try {
    playbookCatalog = new PlaybookCatalog(store, sandbox, registry, { fixed: [await loadAdhocPlaybook(sandbox)], onError: onRepoError });
    const builtin = await repos.syncBuiltin();
    // Not fatal: a repository may already use an id a newer Riposte ships; the previous built-in
    // activation (if any) stays, and the operator sees why in the log and in `repos show builtin`.
    if (builtin.status === 'refused' || builtin.status === 'failed') {
      logger.error({ errors: builtin.errors }, 'the built-in playbooks were not activated');
    }
    await playbookCatalog.refresh(true);
    sandbox.warm();
  } catch (err) {
    sandbox.close();
    await lab?.stop();
    await store.close();
    throw err;
  } finally {
    await stopBundler();
  }
  const catalog = firstPartyCatalog();
  const broker = new Broker(store, catalog);
  const waker = { wake: () => {} };
  const hitl = createHitl({
    policy: store.policyStore(), secretKey: store.keyRing().keys(), wake: () => waker.wake(), ...(config.mail ? { mail: config.mail } : {}),
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
  const scheduler = new Scheduler(store, registry, engine, {
    onError: (err) => logger.error({ err }, 'schedule failed'),
    onFire: (s, fireAt, result) =>
      logger.info({ schedule: s.id, playbook: s.playbookId, fireAt, ...result }, 'schedule fired'),
  });
  const api = await buildApiServer({
    store, ingest, logger: logger.child({ component: 'api' }), authFailureLimits: config.authFailures,
    timeouts: config.httpTimeouts,
    ...(tls ? { tls } : {}),
    extraRoutes: (app) => {
      registerHitlRoutes(app, { store, hitl, registry, catalog, wake: () => engine.wake() });
      registerRunApprovalRoutes(app, { store, hitl });
      registerRepoRoutes(app, { store, ingest, repos, onError: onRepoError, onChange: reloadPlaybooks });
      registerStartRoutes(app, { store, hitl, starter: new RunStarter(store, registry, engine) });
      registerScheduleRoutes(app, { store, hitl, scheduler });
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
  // Checkpoints and the SIEM stream: off the request path, failures logged (never their credentials).
  const auditTrail = startAuditTrail(store, auditKeys, config.audit, (err, what) => logger.error({ err }, what));
  engine.start();
  playbookCatalog.start();
  // `riposte secrets rotate-key` refuses while this process lives: it holds the key in memory.
  const releasePid = writeServerPid(config.dataDir);
  repos.startSchedule();
  // Fires, once, what was due while the server was down; then keeps one timer for the next tick.
  await scheduler.start();
  // New incidents go into the search index in batches, off the ingest path (search finds them meanwhile).
  const searchIndexer = startSearchIndexer(store.db, { onError: (err) => logger.error({ err }, 'search indexing failed') });
  const port = (api.server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://${config.host}:${port}`;

  let stopping: Promise<void> | null = null;
  return {
    url, credentials, credentialsCreated: created, store, engine, scheduler, lab, hitl,
    routes: () => routesOf(api),
    stop() {
      stopping ??= (async () => {
        await api.close();
        playbookCatalog.stop();
        repos.stopSchedule();
        await scheduler.stop();
        await engine.stop();
        sandbox.close();
        searchIndexer.stop();
        await auditTrail.stop();
        await lab?.stop();
        await store.close();
        releasePid();
      })();
      return stopping;
    },
  };
}
