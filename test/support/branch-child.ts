/**
 * A process running an engine with the branch example playbook, for the `kill -9` test
 * (test/crash/branch-kill.test.ts). Usage:
 *   node dist/test/support/branch-child.js <db path> <directory url> fire|resume
 * `fire` configures the asset and starts one run (its id on stdout); both then run the engine
 * until killed.
 */
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { AppCatalog } from '../../src/broker/catalog.js';
import { Broker } from '../../src/broker/broker.js';
import { StepService } from '../../src/steps/step-service.js';
import { Engine } from '../../src/engine/engine.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { testDirectoryApp } from './directory-app.js';
import { branchPlaybook, BRANCH_PLAYBOOK_ID } from './branch-playbook.js';

const [dbPath, directoryUrl, mode] = process.argv.slice(2);
if (!dbPath || !directoryUrl || (mode !== 'fire' && mode !== 'resume')) {
  process.stderr.write('usage: branch-child <db path> <directory url> fire|resume\n');
  process.exit(2);
}
const store = new SqliteStore({ path: dbPath, secretKey: Buffer.alloc(32, 7) });
await store.migrate();
const registry = new PlaybookRegistry([branchPlaybook(1200)]);
const broker = new Broker(store, new AppCatalog([testDirectoryApp]));
const engine = new Engine(store, new StepService(store, broker), registry, { shortSleepMs: 1000, pollIntervalMs: 50 });
if (mode === 'fire') {
  await store.putAsset({ egressAllow: ['loopback'], name: 'dir', appId: 'test-directory', config: { url: directoryUrl }, secrets: {} }, 'test');
  await store.putPlaybookSettings(
    { playbookId: BRANCH_PLAYBOOK_ID, enabled: true, automation: null, bindings: { directory: 'dir' } },
    'test',
  );
  const { runs } = await new IngestService(store, registry, engine).ingest(
    {
      name: 'branch example',
      label: 'branch',
      severity: 'low',
      source: 'test',
      artifacts: [{ name: 'a', cef: { suser: 'jdoe' } }],
    },
    'test',
  );
  process.stdout.write(`${runs[0]!.id}\n`);
}
engine.start();
setInterval(() => {}, 1 << 30); // stay up until killed
