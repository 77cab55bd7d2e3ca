/**
 * The lab: local simulators of the founding scenario's vendors (Microsoft Graph for Intune and
 * Entra ID, PAN-OS, Jira), and the assets, role bindings and access list that point Riposte's
 * founding playbook at them. Used by `riposte serve --lab` (the demo), the tests and the benchmark.
 * Not part of the published package: the server loads this module at run time (src/server/lab-loader.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Store } from '../src/store/store.js';
import type { LabModule, RunningLab } from '../src/server/lab-loader.js';
import { GraphSimulator, type GraphSimOptions } from './graph-sim.js';
import { PanosSimulator } from './panos-sim.js';
import { JiraSimulator } from './jira-sim.js';
import { FOUNDING_LABEL, FOUNDING_SPLUNK_MAPPING } from './founding-mapping.js';

export { FOUNDING_LABEL, FOUNDING_SPLUNK_MAPPING } from './founding-mapping.js';

/** The three running simulators of the founding scenario. */
export class Lab implements RunningLab {
  constructor(
    readonly graph: GraphSimulator,
    readonly panos: PanosSimulator,
    readonly jira: JiraSimulator,
    /** The tenant, credentials, users and devices the Graph simulator was seeded with. */
    readonly graphSeed: GraphSimOptions,
  ) {}

  get simulators(): RunningLab['simulators'] {
    return [
      { name: 'Microsoft Graph (Intune, Entra ID)', url: this.graph.url },
      { name: 'PAN-OS firewall', url: this.panos.url },
      { name: 'Jira Cloud', url: this.jira.url },
    ];
  }

  async stop(): Promise<void> {
    await Promise.all([this.graph.stop(), this.panos.stop(), this.jira.stop()]);
  }
}

export const LAB_ASSETS = { mdm: 'intune-lab', directory: 'entra-lab', firewall: 'panos-lab', ticketing: 'jira-lab' } as const;
export const LAB_PLAYBOOK = FOUNDING_LABEL;
/** The Splunk source `riposte serve` creates on first start; the demo's alerts arrive there. */
export const LAB_SPLUNK_SOURCE = 'splunk';
/** Destinations the demo organisation allows its phones to reach (documentation ranges). */
export const LAB_ALLOWED_DESTINATIONS = ['198.51.100.0/24', '192.0.2.10'];

const PANOS_USER = { admin: 'lab-panos-password' };
const JIRA = { email: 'soc-bot@contoso.example', apiToken: 'lab-jira-api-token' };

/** Starts the three simulators on consecutive ports from `firstPort` (0 = random ports). */
export async function startLab(opts: { firstPort?: number; panosCommitDelayMs?: number; graphSeed?: GraphSimOptions } = {}): Promise<Lab> {
  const first = opts.firstPort ?? 0;
  const port = (i: number) => (first === 0 ? 0 : first + i);
  const graphSeed = opts.graphSeed ?? GraphSimulator.demoSeed();
  const graph = new GraphSimulator(graphSeed);
  const panos = new PanosSimulator({ users: PANOS_USER, commitDelayMs: opts.panosCommitDelayMs ?? 5 });
  const jira = new JiraSimulator({ ...JIRA, projects: { SEC: ['Task', 'Bug', 'Incident'] } });
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    for (const [i, sim] of [graph, panos, jira].entries()) {
      await sim.start(port(i));
      started.push(sim);
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw new Error(`could not start the lab simulators on 127.0.0.1 from port ${first}: ${(err as Error).message}`);
  }
  return new Lab(graph, panos, jira, graphSeed);
}

/** The asset definitions (with their lab credentials) for the simulators of a running lab. */
export interface LabAsset {
  name: string;
  appId: string;
  description: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Every simulator listens on 127.0.0.1: the lab's assets are allowed loopback (egress guard). */
  egressAllow: string[];
}

/** Where a lab's simulators listen, with the Graph seed: enough to build the assets of a lab running elsewhere. */
export interface LabEndpoints {
  graphUrl: string;
  panosUrl: string;
  jiraUrl: string;
  graphSeed: Pick<GraphSimOptions, 'tenantId' | 'clientId' | 'clientSecret'>;
}

export function labEndpoints(lab: Lab): LabEndpoints {
  return { graphUrl: lab.graph.url, panosUrl: lab.panos.url, jiraUrl: lab.jira.url, graphSeed: lab.graphSeed };
}

export function labAssets(lab: Lab | LabEndpoints): LabAsset[] {
  const e = lab instanceof Lab ? labEndpoints(lab) : lab;
  const seed = e.graphSeed;
  const graphConfig = { tenantId: seed.tenantId, clientId: seed.clientId, authorityUrl: e.graphUrl, graphUrl: e.graphUrl };
  const assets: Array<Omit<LabAsset, 'egressAllow'>> = [
    { name: LAB_ASSETS.mdm, appId: 'microsoft-intune', description: 'Lab Intune (Graph simulator)', config: graphConfig, secrets: { clientSecret: seed.clientSecret } },
    { name: LAB_ASSETS.directory, appId: 'microsoft-entra-id', description: 'Lab Entra ID (Graph simulator)', config: graphConfig, secrets: { clientSecret: seed.clientSecret } },
    {
      name: LAB_ASSETS.firewall, appId: 'palo-alto-panos', description: 'Lab PAN-OS firewall (XML API simulator)',
      // Dynamic address group tagging: blocks take effect without a commit, as a busy SOC would run it.
      config: { url: e.panosUrl, username: 'admin', blockMode: 'dag-tag', commitPollIntervalMs: 5, commitTimeoutMs: 10_000 }, secrets: { password: PANOS_USER.admin },
    },
    {
      name: LAB_ASSETS.ticketing, appId: 'atlassian-jira', description: 'Lab Jira Cloud (REST v3 simulator)',
      config: { url: e.jiraUrl, email: JIRA.email, projectKey: 'SEC' }, secrets: { apiToken: JIRA.apiToken },
    },
  ];
  return assets.map((a) => ({ ...a, egressAllow: ['loopback'] }));
}

/**
 * Points the founding playbook at the lab: upserts the lab assets (their URLs change with the
 * ports), binds the playbook's roles to them unless an operator bound them elsewhere, creates the
 * access list if it does not exist, and gives the `splunk` source the founding mapping, so the
 * demo's searches reach the founding playbook. The source must exist: Riposte's first start (or
 * `ensureCredentials`) creates it. `lab` may be a lab running in another process (its endpoints).
 */
export async function provisionLab(store: Store, lab: Lab | LabEndpoints, actor = 'system:lab'): Promise<void> {
  for (const asset of labAssets(lab)) await store.putAsset(asset, actor);
  const settings = await store.getPlaybookSettings(LAB_PLAYBOOK);
  const bindings = { ...LAB_ASSETS, ...(settings?.bindings ?? {}) };
  await store.putPlaybookSettings({ playbookId: LAB_PLAYBOOK, enabled: settings?.enabled ?? true, automation: settings?.automation ?? null, bindings }, actor);
  if ((await store.getListItems('allowed-destinations')) === null) {
    await store.createList(
      'allowed-destinations', 'Destinations mobile devices may reach (IPs and CIDRs)', actor, 'ip');
    await store.addListItems('allowed-destinations', LAB_ALLOWED_DESTINATIONS, actor);
  }
  const splunk = (await store.listSources()).find((s) => s.name === LAB_SPLUNK_SOURCE);
  if (splunk === undefined) {
    throw new Error(`provisionLab: there is no "${LAB_SPLUNK_SOURCE}" source yet; ` +
      "it is created on Riposte's first start (ensureCredentials)");
  }
  // Written only when it differs: a restart of the demo adds no audit entry.
  if (!isDeepStrictEqual(splunk.mapping, FOUNDING_SPLUNK_MAPPING)) {
    await store.setSourceMapping(LAB_SPLUNK_SOURCE, FOUNDING_SPLUNK_MAPPING, actor);
  }
}

/** `riposte serve --lab`: starts the simulators and provisions the demo; stops them if that fails. */
export async function startDemoLab(store: Store, opts: { firstPort: number }): Promise<Lab> {
  const lab = await startLab({ firstPort: opts.firstPort });
  try {
    await provisionLab(store, lab);
  } catch (err) {
    await lab.stop();
    throw err;
  }
  return lab;
}

// The server loads this module by URL; this line makes the compiler check it has what the server needs.
({ startDemoLab }) satisfies LabModule;
