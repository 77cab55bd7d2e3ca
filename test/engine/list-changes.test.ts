/**
 * `ctx.lists.add` / `ctx.lists.remove` through the real engine and store, with the same playbook
 * code run in process and in the sandbox: outcomes, the journal, the audit trail, replay (the
 * change is never made twice), the policy gate (dry run, manual level) and refused input.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { MODES, playbookIn, type Mode } from '../support/playbook-modes.js';
import type { PlaybookSource } from '../support/sandbox-playbook.js';
import { runIn } from '../support/wait.js';

const sandbox = new Sandbox();
after(() => sandbox.close());

const LIST = 'blocked-ips';

async function setup(mode: Mode, src: PlaybookSource, hitl = false): Promise<Harness> {
  const playbook = await playbookIn(mode, sandbox, { id: 'lists-pb', ...src });
  const h = await makeHarness({ apps: [], playbooks: [playbook], ...(hitl ? { hitl: {} } : {}) });
  await h.store.createList(LIST, 'addresses to block', 'user:admin');
  await h.store.addListItems(LIST, ['192.0.2.10'], 'user:admin');
  return h;
}

async function runOnce(h: Harness, states?: string[]) {
  const [run] = await h.fire();
  return runIn(h.store, run!.id, states);
}

/** The audit entries of list changes, oldest first. */
async function listAudit(h: Harness) {
  const all = await h.store.listAudit({ limit: 500 });
  return all.filter((e) => e.action.startsWith('list.') && e.action !== 'list.create');
}

for (const mode of MODES) {
  describe(`custom-list changes from a playbook (${mode})`, () => {
    test('add and remove report whether the list changed; each change is journaled and audited', async () => {
      const h = await setup(mode, {
        body: `
          const out = [];
          out.push(await ctx.lists.add('${LIST}', '203.0.113.9'));
          out.push(await ctx.lists.add('${LIST}', '203.0.113.9'));
          out.push(await ctx.lists.add('${LIST}', '198.51.100.0/24'));
          out.push(await ctx.lists.remove('${LIST}', '192.0.2.99'));
          out.push(await ctx.lists.remove('${LIST}', '192.0.2.10'));
          out.push(await ctx.lists.contains('${LIST}', '198.51.100.7'));
          return out;`,
      });
      try {
        const run = await runOnce(h);
        assert.equal(run.status, 'completed', JSON.stringify(run.error));
        assert.deepEqual(run.output, [
          { added: true }, { added: false }, { added: true }, { removed: false }, { removed: true }, true,
        ]);
        assert.deepEqual(await h.store.getListItems(LIST), ['198.51.100.0/24', '203.0.113.9']);
        const journal = await h.store.loadJournal(run.id);
        assert.deepEqual(journal.map((e) => [e.kind, e.name, e.status]), [
          ['list-change', 'lists.add', 'completed'], ['list-change', 'lists.add', 'completed'],
          ['list-change', 'lists.add', 'completed'], ['list-change', 'lists.remove', 'completed'],
          ['list-change', 'lists.remove', 'completed'], ['list', 'lists.contains', 'completed'],
        ]);
        assert.deepEqual(journal[0]!.input, { list: LIST, value: '203.0.113.9' });
        assert.deepEqual(journal.map((e) => e.resolution), [0, 1, 2, 3, 4, 5]);
        // Only real changes are audited (as for the CLI and API), each naming the run, step and playbook.
        const audit = await listAudit(h);
        assert.deepEqual(audit.map((e) => [e.actor, e.action, e.target]), [
          ['user:admin', 'list.add', `list:${LIST}`],
          [`run:${run.id}`, 'list.add', `list:${LIST}`],
          [`run:${run.id}`, 'list.add', `list:${LIST}`],
          [`run:${run.id}`, 'list.remove', `list:${LIST}`],
        ]);
        assert.deepEqual(audit[1]!.detail, { count: 1, items: ['203.0.113.9'], runId: run.id, step: 0, playbook: 'lists-pb' });
        assert.deepEqual(audit[3]!.detail, { count: 1, items: ['192.0.2.10'], runId: run.id, step: 4, playbook: 'lists-pb' });
        assert.equal((await h.store.verifyAudit()).ok, true);
      } finally {
        await h.close();
      }
    });

    for (const lostHandOver of [false, true]) {
      const when = lostHandOver ? 'recorded but not yet handed to the playbook (a crash in between)' : 'recorded';
      test(`a replay hands back the outcome ${when} and does not change the list again`, async () => {
        const h = await setup(mode, {
          body: `
            const first = await ctx.lists.add('${LIST}', '203.0.113.9');
            await ctx.sleep(40);
            return { first, after: await ctx.lists.contains('${LIST}', '203.0.113.9') };`,
        });
        try {
          const [run] = await h.fire();
          await runIn(h.store, run!.id, ['waiting']);
          // An operator takes the item out while the run is parked: a replay that made the change
          // again would put it back.
          assert.equal(await h.store.removeListItems(LIST, ['203.0.113.9'], 'user:op'), 1);
          if (lostHandOver) await h.store.updateJournal(run!.id, 0, { status: 'completed', resolution: null });
          const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
          assert.equal(done.status, 'completed', JSON.stringify(done.error ?? done.attentionReason));
          assert.deepEqual(done.output, { first: { added: true }, after: false });
          assert.deepEqual(await h.store.getListItems(LIST), ['192.0.2.10']);
          const byRun = (await listAudit(h)).filter((e) => e.actor === `run:${run!.id}`);
          assert.equal(byRun.length, 1, 'the change was made once');
          const journal = await h.store.loadJournal(run!.id);
          assert.deepEqual(journal[0]!.output, { added: true });
          assert.equal(typeof journal[0]!.resolution, 'number');
        } finally {
          await h.close();
        }
      });
    }

    for (const gate of [true, false]) {
      test(`dry run${gate ? ' (through the policy gate)' : ' (no policy configured)'}: the list is left alone, the journal says what would have changed`, async () => {
        const h = await setup(mode, {
          body: `
            return [
              await ctx.lists.add('${LIST}', '203.0.113.9'),
              await ctx.lists.add('${LIST}', '192.0.2.10'),
              await ctx.lists.remove('${LIST}', '192.0.2.10'),
            ];`,
        }, gate);
        try {
          await h.store.putPlaybookSettings({ playbookId: 'lists-pb', enabled: true, automation: 'autonomous', bindings: {}, dryRun: true }, 'test');
          const run = await runOnce(h);
          assert.equal(run.status, 'completed', JSON.stringify(run.error));
          assert.deepEqual(run.output, [
            { added: false, dryRun: true }, { added: false, dryRun: true }, { removed: false, dryRun: true },
          ]);
          assert.deepEqual(await h.store.getListItems(LIST), ['192.0.2.10']);
          const journal = await h.store.loadJournal(run.id);
          assert.deepEqual(journal.map((e) => e.detail), [
            `dry run: would have added "203.0.113.9" to custom list "${LIST}"; the list was not changed`,
            `dry run: "192.0.2.10" is already in custom list "${LIST}": adding it would change nothing; the list was not changed`,
            `dry run: would have removed "192.0.2.10" from custom list "${LIST}"; the list was not changed`,
          ]);
          assert.deepEqual((await listAudit(h)).map((e) => e.actor), ['user:admin']);
        } finally {
          await h.close();
        }
      });
    }

    test('automation level manual: a list change waits for an approval bound to the list, then happens once', async () => {
      const h = await setup(mode, { automation: 'manual', body: `return await ctx.lists.add('${LIST}', '203.0.113.9');` }, true);
      try {
        const hitl = h.hitl!;
        await hitl.policy.putUser({ name: 'alice', email: null, roles: ['soc-lead'], disabled: false }, 'test');
        const [run] = await h.fire();
        const parked = await runIn(h.store, run!.id, ['waiting']);
        assert.match(parked.waitingOn ?? '', /^approval:/);
        assert.deepEqual(await h.store.getListItems(LIST), ['192.0.2.10']);
        const [approval] = await hitl.policy.listApprovals({ status: 'pending' });
        assert.equal(approval!.asset, `list:${LIST}`);
        assert.equal(approval!.action, 'lists.add');
        assert.deepEqual(approval!.params, { list: LIST, value: '203.0.113.9' });
        assert.match(approval!.reasons[0]!, /automation level manual/);
        await hitl.approvals.decide(approval!.id, { name: 'alice', roles: ['soc-lead'] }, 'approve', 'api');
        const done = await runIn(h.store, run!.id, ['completed', 'failed', 'needs_attention']);
        assert.equal(done.status, 'completed', JSON.stringify(done.error ?? done.attentionReason));
        assert.deepEqual(done.output, { added: true });
        assert.deepEqual(await h.store.getListItems(LIST), ['192.0.2.10', '203.0.113.9']);
        const journal = await h.store.loadJournal(run!.id);
        assert.equal(journal.length, 1);
        assert.match(journal[0]!.detail ?? '', /approved by alice \(api\)/);
      } finally {
        await h.close();
      }
    });

    test('an unknown list fails the step; a bad list name or value is refused before anything is journaled', async () => {
      const h = await setup(mode, {
        body: `
          const out = [];
          const calls = [
            ['add', 'no-such-list', '203.0.113.9'], ['add', 'bad name!', '203.0.113.9'],
            ['add', '${LIST}', ' 203.0.113.9'], ['add', '${LIST}', '10.0.0.0/33'], ['remove', '${LIST}', 42],
            ['remove', '${LIST}', ''],
          ];
          for (const [op, list, value] of calls) {
            try {
              await ctx.lists[op](list, value);
              out.push('changed');
            } catch (e) {
              out.push({ failed: e instanceof ActionFailedError ? e.record.name : null, message: e.message });
            }
          }
          return out;`,
      });
      try {
        const run = await runOnce(h);
        assert.equal(run.status, 'completed', JSON.stringify(run.error));
        const out = run.output as Array<{ failed: string | null; message: string }>;
        assert.equal(out[0]!.failed, 'ListNotFound');
        assert.match(out[0]!.message, /custom list "no-such-list" does not exist: a playbook changes the items of an existing list \(create it with `riposte lists create no-such-list`\)/);
        assert.deepEqual(out.slice(1).map((o) => o.failed), [null, null, null, null, null]);
        assert.equal(out[1]!.message, `ctx.lists.add: invalid list name "bad name!": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
        assert.equal(out[2]!.message, `ctx.lists.add("${LIST}", …): list item " 203.0.113.9" has leading or trailing whitespace`);
        assert.equal(out[3]!.message, `ctx.lists.add("${LIST}", …): malformed CIDR "10.0.0.0/33": prefix must be an integer from 0 to 32`);
        assert.equal(out[4]!.message, `ctx.lists.remove("${LIST}", …): the value must be a string, got number`);
        assert.equal(out[5]!.message, `ctx.lists.remove("${LIST}", …): list item must be a non-empty string`);
        const journal = await h.store.loadJournal(run.id);
        assert.deepEqual(journal.map((e) => [e.name, e.status, e.error?.name]), [['lists.add', 'failed', 'ListNotFound']]);
        assert.deepEqual(await h.store.getListItems(LIST), ['192.0.2.10']);
      } finally {
        await h.close();
      }
    });
  });
}
