/**
 * Four-eyes whoever starts the run: the principal that caused a run (the analyst who submitted the
 * incident, the user who asked for an ad-hoc action) can never approve its destructive actions —
 * not through the API, not through the CLI — while another eligible person can. A run started by a
 * source (Splunk) has no person behind it, so any eligible person may approve. Four-eyes cannot be
 * turned off on an asset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTempServer } from '../support/temp-server.js';
import { callApi, foundingSearchAlert, postSplunkAlert } from '../support/server-http.js';
import { labOf } from '../support/lab.js';
import type { ApprovalRecord } from '../../src/store/policy-records.js';
import { until } from '../support/wait.js';

const exec = promisify(execFile);
const JDOE_IPHONE = '9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';

test('four-eyes: whoever caused a run never approves its destructive actions', async (t) => {
  const srv = await startTempServer('riposte-four-eyes-', { lab: true });
  const api = (method: string, path: string, token: string, body?: unknown) => callApi(srv, method, path, token, body);
  try {
    const policy = srv.store.policyStore();
    const tokens: Record<string, string> = {};
    for (const name of ['alice', 'bob']) {
      await policy.putUser({ name, email: null, roles: ['analyst'], disabled: false }, 'test');
      tokens[name] = `rpa_test_${name}_token_0123456789`;
      await srv.store.createApiToken({ name, role: 'analyst', token: tokens[name]! }, 'test');
    }
    const incident = (n: number) => ({
      name: `crafted ${n}`,
      label: 'mobile-unauthorized-ip',
      severity: 'high',
      sourceId: `alice-${n}`,
      artifacts: [
        {
          name: 'a',
          cef: {
            destinationAddress: '203.0.113.45',
            sourceAddress: '10.20.30.41',
            sourceUserName: 'jdoe@contoso.example',
            deviceHostname: 'JDOE-IPHONE',
          },
        },
      ],
    });

    await t.test('an analyst who submitted the incident cannot approve its wipe; another analyst can', async () => {
      const first = await api('POST', '/incidents', tokens.alice!, incident(1));
      assert.equal(first.status, 201, JSON.stringify(first.json));
      await until(
        'first offence run',
        async () => (await srv.store.getRun(first.json.runs[0]))?.status === 'completed',
      );
      const second = await api('POST', '/incidents', tokens.alice!, incident(2));
      const runId = second.json.runs[0] as string;
      const run = await until('parked run', async () => {
        const r = await srv.store.getRun(runId);
        return r?.status === 'waiting' ? r : undefined;
      });
      assert.equal(run.requestedBy, 'user:alice');
      const pending = await until('approvals', async () => {
        const a = await policy.listApprovals({ runId });
        return a.length === 2 ? a : undefined;
      });
      for (const a of pending) {
        assert.equal(a.requestedBy, 'user:alice');
        const self = await api('POST', `/approvals/${a.id}/approve`, tokens.alice!, {});
        assert.equal(self.status, 403, JSON.stringify(self.json));
        assert.equal(self.json.error.code, 'four_eyes');
      }
      // Nor through the CLI.
      const cli = await exec(
        process.execPath,
        ['bin/riposte.js', 'approvals', 'approve', pending[0]!.id, '--url', srv.url, '--token', tokens.alice!],
        {
          env: { ...process.env, RIPOSTE_DATA_DIR: srv.dataDir },
        },
      ).then(
        () => null,
        (err: { stderr: string; code: number }) => err,
      );
      assert.ok(cli, 'the CLI refused');
      assert.match(cli.stderr, /four-eyes/);
      assert.equal(labOf(srv).graph.wipeCount(JDOE_IPHONE), 0, 'nothing was wiped');
      for (const a of pending)
        assert.equal((await api('POST', `/approvals/${a.id}/approve`, tokens.bob!, {})).status, 200);
      await until('contained', async () => (await srv.store.getRun(runId))?.status === 'completed');
      assert.equal(labOf(srv).graph.wipeCount(JDOE_IPHONE), 1);
    });

    await t.test('an ad-hoc action: its requester cannot approve it', async () => {
      const incidentId = (await srv.store.listIncidents({ limit: 1 }))[0]!.id;
      const r = await api('POST', '/actions', tokens.bob!, {
        incidentId,
        asset: 'panos-lab',
        action: 'blockIp',
        params: { ip: '10.9.9.9' },
      });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      const approval = await until('approval', async () => (await policy.listApprovals({ runId: r.json.run.id }))[0]);
      assert.equal(approval.requestedBy, 'user:bob');
      assert.equal(
        (await api('POST', `/approvals/${approval.id}/approve`, tokens.bob!, {})).json.error.code,
        'four_eyes',
      );
      // alice submitted the incident (she chose what is on it): by default she may not approve its runs either.
      const author = await api('POST', `/approvals/${approval.id}/approve`, tokens.alice!, {});
      assert.equal(author.json.error.code, 'four_eyes');
      assert.match(author.json.error.message, /alice wrote or changed the incident before this run took its snapshot/);
      assert.equal((await api('POST', `/approvals/${approval.id}/approve`, srv.credentials.adminToken, {})).status, 200);
      // Denying one's own request is allowed: it only stops an action.
      const again = await api('POST', '/actions', tokens.bob!, {
        incidentId,
        asset: 'panos-lab',
        action: 'blockIp',
        params: { ip: '10.9.9.8' },
      });
      const mine = await until('approval', async () => (await policy.listApprovals({ runId: again.json.run.id }))[0]);
      const denied = await api('POST', `/approvals/${mine.id}/deny`, tokens.bob!, { comment: 'wrong address' });
      assert.equal(denied.status, 200, JSON.stringify(denied.json));
      assert.equal(denied.json.approval.status, 'denied');
    });

    await t.test('a run caused by a source (Splunk) may be approved by any eligible person', async () => {
      const post = (sid: string) =>
        postSplunkAlert(srv, foundingSearchAlert(sid, {
          dest_ip: '203.0.113.46',
          src_ip: '10.20.30.42',
          user: 'asmith@contoso.example',
          device_name: 'ASMITH-PIXEL',
          severity: 'high',
        })).then((res) => res.json as { runs: string[] });
      const a = await post('fe-1');
      await until('first', async () => (await srv.store.getRun(a.runs[0]!))?.status === 'completed');
      const b = await post('fe-2');
      const pending: ApprovalRecord[] = await until('approvals', async () => {
        const x = await policy.listApprovals({ runId: b.runs[0]! });
        return x.length === 2 ? x : undefined;
      });
      assert.equal(pending[0]!.requestedBy, 'source:splunk');
      assert.equal((await api('POST', `/approvals/${pending[0]!.id}/approve`, tokens.alice!, {})).status, 200);
    });

    await t.test('four-eyes cannot be turned off on an asset', async () => {
      const r = await api('PUT', '/assets/intune-lab/policy', srv.credentials.adminToken, {
        requireApproval: true,
        approvers: { users: ['alice'], roles: [] },
        fourEyes: false,
      });
      assert.equal(r.status, 400);
      assert.match(JSON.stringify(r.json), /four-eyes cannot be turned off/);
    });
  } finally {
    await srv.stop();
  }
});
