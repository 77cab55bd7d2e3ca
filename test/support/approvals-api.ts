/**
 * The API in process with the human-in-the-loop routes, over a real SQLite store, and a way to
 * give runs pending approval requests (through the real ApprovalService) without an engine.
 */
import { randomBytes } from 'node:crypto';
import { makeHarness, type Harness } from '../api/harness.js';
import { createHitl, type Hitl } from '../../src/policy/hitl.js';
import type { ApprovalRequest } from '../../src/policy/approvals.js';
import type { ApprovalRecord } from '../../src/store/policy-records.js';
import { registerHitlRoutes } from '../../src/api/routes/hitl.js';
import { registerRunApprovalRoutes } from '../../src/api/routes/run-approvals.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { AppCatalog } from '../../src/broker/catalog.js';

export interface ApprovalsApi {
  h: Harness;
  hitl: Hitl;
  /** A new incident with runs of these ids; returns the incident's id. */
  incidentWithRuns(runIds: string[]): Promise<number>;
  /** A pending approval request for step `seq` of a run: by default a wipe, requested by `system`. */
  request(runId: string, seq: number, over?: Partial<ApprovalRequest>): Promise<ApprovalRecord>;
  close(): Promise<void>;
}

/** What an approval is for: the action, its asset and parameters. */
type Target = Pick<ApprovalRequest, 'app' | 'action' | 'kind' | 'asset' | 'params'>;

export const wipe = (deviceId: string): Target =>
  ({ app: 'microsoft-intune', action: 'wipeDevice', kind: 'contain', asset: 'intune-lab', params: { deviceId } });
export const block = (ip: string): Target =>
  ({ app: 'palo-alto-panos', action: 'blockIp', kind: 'contain', asset: 'panos-lab', params: { ip } });

const ALERT_CEF = { sourceUserName: 'jdoe@contoso.example', destinationAddress: '203.0.113.45' };

export async function makeApprovalsApi(): Promise<ApprovalsApi> {
  let hitl: Hitl | null = null;
  const h = await makeHarness({
    extraRoutes: (app, store) => {
      const hl = createHitl({ policy: store.policyStore(), secretKey: randomBytes(32), wake: () => {} });
      const none = { registry: new PlaybookRegistry([]), catalog: new AppCatalog([]), wake: () => {} };
      registerHitlRoutes(app, { store, hitl: hl, ...none });
      registerRunApprovalRoutes(app, { store, hitl: hl });
      hitl = hl;
    },
  });
  const hl = hitl!;
  let n = 0;
  return {
    h, hitl: hl,
    async incidentWithRuns(runIds) {
      const { incident } = await h.store.ingest({
        name: `Mobile device reached unauthorized IP ${++n}`, label: 'mobile-unauthorized-ip', severity: 'high',
        source: 'test',
        artifacts: [{ name: 'alert', cef: ALERT_CEF }],
      }, runIds.map((id) => ({ id, playbookId: 'mobile-unauthorized-ip', playbookVersion: 1, playbookHash: 'h1' })),
      'test');
      return incident.id;
    },
    request(runId, seq, over = {}) {
      return hl.approvals.ensure({
        runId, seq, ...wipe('dev-1'), reasons: ['supervised: contain actions need approval'],
        approvers: { users: [], roles: ['admin', 'analyst'] }, quorum: 1, fourEyes: true, requestedBy: 'system',
        ttlMs: 3_600_000, ...over,
      });
    },
    close: () => h.close(),
  };
}
