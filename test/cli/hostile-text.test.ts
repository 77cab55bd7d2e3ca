/**
 * Issue 13, "The CLI prints alert text raw": every text field of the data holds escape sequences
 * (window title, clear screen, one-byte CSI, a bidi override, a carriage return); every read
 * command, in human and `--json` form, and the error paths must bring none of them raw to the
 * terminal, and still show the text (escaped) or carry it intact (JSON).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { cli, removeDir, tempDir, type CliResult } from './fixture.js';

const H = 'x\u001b]0;pwned\u0007\u001b[2J\u009bq\u202e\r\u0085y';
const SHOWN = '\\u001b]0;pwned\\u0007\\u001b[2J\\u009bq\\u202e';
// What a terminal acts on: every control character but the newline, DEL, C1, bidi controls.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const RUN_ID = 'dddddddd-4444-4444-8444-444444444444';

let dataDir = '';

before(async () => {
  dataDir = tempDir();
  const store = await openSqliteStore({ dataDir, env: {} });
  try {
    const { incident } = await store.ingest({
      name: `alert ${H}`, label: `label-${H}`, severity: 'high', source: `src-${H}`, sourceId: `sid-${H}`,
      description: `about ${H}`, owner: `owner-${H}`, tags: [`tag-${H}`],
      artifacts: [{ name: `artifact ${H}`, cef: { sourceAddress: H, [`key${H}`]: `value ${H}` }, contains: { sourceAddress: ['ip'] } }],
    }, [{ id: RUN_ID, playbookId: 'pb', playbookVersion: 1, playbookHash: 'abcdef0123456789' }], `actor-${H}`);
    await store.addNote({ incidentId: incident.id, author: `author-${H}`, text: `note ${H}\nsecond line ${H}` });
    await store.appendJournal({
      runId: RUN_ID, seq: 0, kind: 'action', name: `step ${H}`, asset: `asset-${H}`, app: 'app', action: 'act', status: 'failed',
      input: { v: H }, output: { v: H }, error: { name: 'VendorError', message: `vendor said ${H}`, retryable: false, applied: 'no' },
      attempts: 1, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), wakeAt: null, detail: `detail ${H}`,
    });
    await store.updateRun(RUN_ID, {
      status: 'needs_attention', startedAt: new Date().toISOString(), attentionReason: `attention ${H}`,
      error: { name: 'Error', message: `run error ${H}`, retryable: false, applied: 'no' },
    });
    await store.createList('hostile', `list description ${H}`, `actor-${H}`);
    await store.addListItems('hostile', [`item ${H}`], `actor-${H}`);
    await store.createCase({ dedupeKey: `k-${H}`, incidentId: incident.id, title: `case ${H}`, description: `case text ${H}\n${H}`, priority: 'high', labels: [`l-${H}`] }, `actor-${H}`);
    await store.putAsset({ name: 'hostile-asset', appId: 'http', description: `asset ${H}`, config: { baseUrl: 'https://example.test', note: H }, secrets: {} }, `actor-${H}`);
  } finally {
    await store.close();
  }
});

after(() => removeDir(dataDir));

function assertNoRaw(r: CliResult, what: string): void {
  const at = (s: string) => s.search(RAW);
  assert.equal(at(r.stdout), -1, `${what}: raw control character on stdout at ${at(r.stdout)}: ${JSON.stringify(r.stdout.slice(Math.max(0, at(r.stdout) - 40), at(r.stdout) + 10))}`);
  assert.equal(at(r.stderr), -1, `${what}: raw control character on stderr: ${JSON.stringify(r.stderr)}`);
}

const READS: string[][] = [
  ['incidents', 'list'], ['incidents', 'show', '1'], ['runs', 'list'], ['runs', 'show', RUN_ID], ['audit', 'list'],
  ['lists', 'list'], ['lists', 'show', 'hostile'], ['cases', 'list'], ['cases', 'show', 'CASE-1'],
  ['assets', 'list'], ['assets', 'show', 'hostile-asset'],
];

test('every read command shows hostile text escaped, never raw', () => {
  for (const args of READS) {
    const r = cli(dataDir, ...args);
    const what = args.join(' ');
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assertNoRaw(r, what);
    // `runs list` shows only ids, names of playbooks and times: nothing from outside.
    if (what !== 'runs list') assert.ok(r.stdout.includes('\\u001b'), `${what} shows the text escaped:\n${r.stdout}`);
  }
  const show = cli(dataDir, 'incidents', 'show', '1').stdout;
  assert.ok(show.includes(SHOWN), show);
  assert.ok(!/^second line/m.test(show), 'a newline in a note cannot start an unindented line');
});

test('--json output carries the text intact as JSON, with C1, DEL and bidi controls escaped', () => {
  for (const args of READS) {
    const r = cli(dataDir, ...args, '--json');
    const what = `${args.join(' ')} --json`;
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assertNoRaw(r, what);
    assert.ok(JSON.stringify(JSON.parse(r.stdout)).includes(JSON.stringify(H).slice(1, -1)), `${what} keeps the value`);
  }
});

test('error messages and commander errors quoting hostile input are escaped', () => {
  for (const args of [['lists', 'show', H], ['incidents', 'list', '--status', H], ['runs', 'show', H], ['incidents', `--${H}`], [H]]) {
    const r = cli(dataDir, ...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assertNoRaw(r, `error of ${JSON.stringify(args)}`);
  }
});
