/**
 * Records the journals replayed by test/engine/journal-replay.test.ts: real runs of the shipped
 * playbooks (and the branch example) against the lab simulators, each written to
 * test/journals/<name>.json. Run it only to add a scenario or after a deliberate, documented
 * change of journal semantics — the point of the files is that today's code must replay what
 * earlier code recorded:
 *
 *   npx tsc -p tsconfig.json && node dist/test/journals/record.js
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '../../src/server/server.js';
import { startTempServer } from '../support/temp-server.js';
import { foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import type { RunRecord } from '../../src/store/records.js';
import type { Store } from '../../src/store/store.js';
import { makeHarness } from '../support/harness.js';
import { startDirectoryServer, testDirectoryApp } from '../support/directory-app.js';
import { branchPlaybook, BRANCH_PLAYBOOK_ID } from '../support/branch-playbook.js';
import type { RecordedJournal } from './recorded.js';
import { runIn } from '../support/wait.js';

const OUT = fileURLToPath(new URL('../../../test/journals/', import.meta.url));

const settled = (
  store: Store,
  runId: string,
  states = ['completed', 'failed', 'needs_attention'],
): Promise<RunRecord> => runIn(store, runId, states, 15_000);

async function save(name: string, description: string, store: Store, run: RunRecord): Promise<void> {
  const file: RecordedJournal = {
    description,
    recordedAt: new Date().toISOString(),
    playbookId: run.playbookId,
    playbookHash: run.playbookHash,
    run: {
      id: run.id,
      incidentId: run.incidentId,
      input: run.input,
      args: run.args,
      dryRun: run.dryRun,
      requestedBy: run.requestedBy,
    },
    status: run.status,
    output: run.output,
    journal: await store.loadJournal(run.id),
  };
  writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(file, null, 2)}\n`);
  console.log(`${name}: ${run.status}, ${file.journal.length} steps`);
}

let sid = 0;
async function alert(srv: RunningServer, result: Record<string, string>): Promise<string> {
  const res = await postSplunkAlert(srv, foundingSearchAlert(`journal_${Date.now()}_${++sid}`, result));
  return (res.json as { runs: string[] }).runs[0]!;
}

async function decideAll(
  srv: RunningServer,
  runId: string,
  token: string,
  decision: 'approve' | 'deny',
): Promise<void> {
  const policy = srv.store.policyStore();
  for (const until = Date.now() + 10_000; (await policy.listApprovals({ runId, status: 'pending' })).length < 2;) {
    if (Date.now() > until) throw new Error('no approvals');
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const a of await policy.listApprovals({ runId, status: 'pending' })) {
    const res = await fetch(`${srv.url}/api/v1/approvals/${a.id}/${decision}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`${decision}: HTTP ${res.status}`);
  }
}

async function founding(): Promise<void> {
  const srv = await startTempServer('riposte-journals-', { lab: true });
  try {
    await srv.store.policyStore().putUser({ name: 'bob', email: null, roles: ['soc-lead'], disabled: false }, 'record');
    const bob = 'rpa_record_bob_0123456789abcdef';
    await srv.store.createApiToken({ name: 'bob', role: 'analyst', token: bob }, 'record');
    const jdoe = { src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE', severity: 'high' };
    const asmith = {
      src_ip: '10.20.30.52',
      user: 'asmith@contoso.example',
      device_name: 'ASMITH-PIXEL',
      severity: 'high',
    };
    const first = await settled(srv.store, await alert(srv, { ...jdoe, dest_ip: '203.0.113.45' }));
    await save(
      'founding-first-offence',
      'founding playbook: first offence (lookups in parallel, low-priority ticket)',
      srv.store,
      first,
    );
    const repeat = await alert(srv, { ...jdoe, dest_ip: '203.0.113.46' });
    await decideAll(srv, repeat, bob, 'approve');
    await save(
      'founding-repeat-approved',
      'founding playbook: repeat offender, supervised: wipe and block parked, approved, contained',
      srv.store,
      await settled(srv.store, repeat),
    );
    await settled(srv.store, await alert(srv, { ...asmith, dest_ip: '203.0.113.47' }));
    const denied = await alert(srv, { ...asmith, dest_ip: '203.0.113.48' });
    await decideAll(srv, denied, bob, 'deny');
    await save(
      'founding-repeat-denied',
      'founding playbook: repeat offender, both approvals denied, ticket still opened',
      srv.store,
      await settled(srv.store, denied),
    );
    await save(
      'founding-benign',
      'founding playbook: destination on the access list, closed as benign',
      srv.store,
      await settled(srv.store, await alert(srv, { ...jdoe, dest_ip: '198.51.100.7' })),
    );
    await save(
      'founding-incomplete',
      'founding playbook: alert without a destination, left open',
      srv.store,
      await settled(
        srv.store,
        await alert(srv, { src_ip: '10.20.30.41', user: 'jdoe@contoso.example', severity: 'high' }),
      ),
    );
    const settings = (await srv.store.getPlaybookSettings('mobile-unauthorized-ip'))!;
    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous', dryRun: true }, 'record');
    await save(
      'founding-dry-run',
      'founding playbook: repeat offender in dry run (wipe and block recorded, not sent)',
      srv.store,
      await settled(srv.store, await alert(srv, { ...jdoe, dest_ip: '203.0.113.49' })),
    );
    await srv.store.putPlaybookSettings({ ...settings, automation: 'autonomous', dryRun: false }, 'record');
    await save(
      'founding-autonomous',
      'founding playbook: repeat offender, autonomous: wipe and block in parallel, contained',
      srv.store,
      await settled(srv.store, await alert(srv, { ...asmith, dest_ip: '203.0.113.50' })),
    );
    const incidentId = (await srv.store.listIncidents({ limit: 1 }))[0]!.id;
    const res = await fetch(`${srv.url}/api/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        incidentId,
        asset: 'entra-lab',
        action: 'getUser',
        params: { user: 'jdoe@contoso.example' },
      }),
    });
    const adhoc = ((await res.json()) as { run: RunRecord }).run.id;
    await save(
      'adhoc-read',
      'ad-hoc action: one directory lookup asked for by a person',
      srv.store,
      await settled(srv.store, adhoc),
    );
  } finally {
    await srv.stop();
  }
}

async function branch(): Promise<void> {
  const directory = await startDirectoryServer(() => 5);
  const h = await makeHarness({
    apps: [testDirectoryApp],
    playbooks: [branchPlaybook(600)],
    engine: { shortSleepMs: 400, pollIntervalMs: 20 },
  });
  try {
    await h.store.putAsset(
      { egressAllow: ['loopback'], name: 'dir', appId: 'test-directory', config: { url: directory.url }, secrets: {} },
      'record',
    );
    await h.store.putPlaybookSettings(
      { playbookId: BRANCH_PLAYBOOK_ID, enabled: true, automation: null, bindings: { directory: 'dir' } },
      'record',
    );
    const [run] = await h.fire({ label: 'branch' });
    await save(
      'branch-example-parked',
      'two parallel branches of two steps, then a park on a timer (issue 10)',
      h.store,
      await settled(h.store, run!.id, ['completed', 'failed', 'needs_attention']),
    );
  } finally {
    await h.close();
    await directory.close();
  }
}

await founding();
await branch();
