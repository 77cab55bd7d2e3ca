/**
 * Child playbooks between sandboxed playbooks: parent and child are files loaded into the sandbox
 * (as a repository's playbooks are), and `ctx.playbook` crosses the isolate boundary as one
 * validated host call. The child's output, its failure (an ActionFailedError inside the isolate)
 * and a refused call all reach the parent's code.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { tempDir } from '../support/temp-store.js';
import { loadPlaybookFile } from '../../src/sandbox/load.js';
import { makeHarness } from '../support/harness.js';
import { makeTestApp, TestVendor } from '../support/test-app.js';
import { runIn } from '../support/wait.js';

const SDK = JSON.stringify(fileURLToPath(new URL('../../src/sdk/index.js', import.meta.url)));
const sandbox = new Sandbox();
after(() => sandbox.close());

const PARENT = `
import { definePlaybook, ActionFailedError } from ${SDK};
export default definePlaybook({ id: 'sb-parent', version: 1, triggers: { labels: ['test'] }, roles: {} },
  async (ctx) => {
    const ok = await ctx.playbook('sb-child', { user: 'jdoe' });
    let failed = null;
    try {
      await ctx.playbook('sb-child', { fail: true });
    } catch (e) {
      failed = { isActionFailed: e instanceof ActionFailedError, name: e.record.name, message: e.message };
    }
    let refused = null;
    await ctx.playbook('sb-child', [1, 2]).catch((e) => { refused = e.message; });
    return { ok, failed, refused };
  });
`;

const CHILD = `
import { definePlaybook } from ${SDK};
export default definePlaybook({ id: 'sb-child', version: 1, triggers: { labels: [] }, roles: {} },
  async (ctx, incident, args) => {
    if (args.fail) throw new Error('asked to fail');
    await ctx.sleep(100);
    return { user: args.user, incident: incident.id };
  });
`;

test('sandboxed parent and child: output, failure and a refused call cross the isolate boundary', async () => {
  using tmp = tempDir('riposte-child-sb-');
  writeFileSync(join(tmp.dir, 'parent.mjs'), PARENT);
  writeFileSync(join(tmp.dir, 'child.mjs'), CHILD);
  const source = { repository: 'test', commit: null };
  const parent = await loadPlaybookFile(sandbox, join(tmp.dir, 'parent.mjs'), { ...source, path: 'parent.mjs' });
  const child = await loadPlaybookFile(sandbox, join(tmp.dir, 'child.mjs'), { ...source, path: 'child.mjs' });
  const h = await makeHarness({ apps: [makeTestApp(new TestVendor())], playbooks: [parent, child] });
  try {
    const [run] = await h.fire();
    const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
    assert.equal(done.status, 'completed', done.error?.message ?? done.attentionReason ?? '');
    const out = done.output as {
      ok: unknown; failed: { isActionFailed: boolean; name: string; message: string }; refused: string;
    };
    assert.deepEqual(out.ok, { user: 'jdoe', incident: run!.incidentId });
    assert.equal(out.failed.isActionFailed, true);
    assert.equal(out.failed.name, 'ChildRunFailed');
    assert.match(out.failed.message, /\(playbook sb-child\) failed: Error: asked to fail/);
    assert.match(out.refused, /ctx\.playbook\("sb-child"\): input must be a JSON object, got an array/);
    const children = await h.store.listChildRuns(run!.id);
    assert.deepEqual(children.map((c) => [c.parentSeq, c.playbookId, c.status, c.playbookHash]), [
      [0, 'sb-child', 'completed', child.hash],
      [1, 'sb-child', 'failed', child.hash],
    ]);
    const journal = await h.store.loadJournal(run!.id);
    assert.deepEqual(journal.map((e) => [e.kind, e.status]), [['playbook', 'completed'], ['playbook', 'failed']]);
  } finally {
    await h.close();
  }
});
