/**
 * A playbook file's declared trigger condition is checked when it is loaded into the sandbox
 * (`loadPlaybookFile`): a condition that does not parse, or uses anything not allowed, refuses
 * the whole playbook with the parse error; a good one reaches the registry as declared.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlaybookFile } from '../../src/sandbox/load.js';
import { Sandbox, SandboxError } from '../../src/sandbox/sandbox.js';
import { writePlaybookFile } from '../support/sandbox-playbook.js';
import { tempDir, type TempDir } from '../support/temp-store.js';

describe('a playbook file declaring triggers.when', () => {
  let sandbox: Sandbox;
  let tmp: TempDir;
  before(() => {
    sandbox = new Sandbox();
    tmp = tempDir('riposte-trigger-when-');
  });
  after(() => {
    sandbox.close();
    tmp.remove();
  });
  const source = { repository: 'test', commit: null, path: 'playbook.mjs' };
  const load = (when: string) =>
    loadPlaybookFile(sandbox,
      writePlaybookFile(tmp.dir, { id: 'conditional', triggers: { labels: ['test'], when }, body: 'return 1;' }), source);

  it('is loaded with its condition when the condition is valid', async () => {
    const p = await load('severity >= "high" && artifact.destinationAddress in list("unauthorized-ips")');
    assert.deepEqual(p.config.triggers,
      { labels: ['test'], when: 'severity >= "high" && artifact.destinationAddress in list("unauthorized-ips")' });
  });

  it('is refused at load when the condition does not parse, with the parse error and where', async () => {
    await assert.rejects(load('severity >= "high" &&'), (err: unknown) => {
      assert.ok(err instanceof SandboxError);
      assert.equal(err.message,
        "the playbook's definition is not valid: triggers.when: trigger condition: does not parse: "
        + 'Expected expression after && at column 22: severity >= "high" &&▸');
      return true;
    });
  });

  it('is refused at load when the condition uses something not allowed', async () => {
    await assert.rejects(load('artifact.x == "a" || process.exit(1)'),
      /triggers\.when: trigger condition: unknown function process\.exit \(only has\(…\) and list\(…\)\) at column 22/);
    await assert.rejects(load('severity >= "urgent"'), /triggers\.when: trigger condition: unknown severity "urgent"/);
  });

  it('is refused when the condition is not a string', async () => {
    const file = writePlaybookFile(tmp.dir, { id: 'conditional', triggers: { labels: ['test'] }, body: 'return 1;' });
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"labels":["test"]', '"labels":["test"],"when":42'));
    await assert.rejects(loadPlaybookFile(sandbox, file, source), /triggers\.when: .*expected string/i);
  });
});
