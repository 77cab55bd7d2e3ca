import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatRunTimeline, parallelSteps, summarize, table, truncate, type RunDetail } from '../../src/cli/format.js';
import { buildDemoAlert } from '../../src/cli/commands/demo.js';
import { parseBindings } from '../../src/cli/commands/playbooks.js';
import type { JournalEntry, RunRecord } from '../../src/store/records.js';

const t0 = Date.parse('2026-01-10T10:00:00.000Z');
const at = (ms: number) => new Date(t0 + ms).toISOString();

function step(seq: number, name: string, start: number, end: number | null, over: Partial<JournalEntry> = {}): JournalEntry {
  return {
    runId: 'r1', seq, kind: 'action', name, asset: null, app: null, action: null, status: end === null ? 'started' : 'completed',
    input: null, output: null, error: null, attempts: 1, startedAt: at(start), finishedAt: end === null ? null : at(end), wakeAt: null, detail: null, ...over,
  };
}

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1', incidentId: 7, playbookId: 'pb', playbookVersion: 2, playbookHash: 'abc123', status: 'completed', input: null, output: null,
    error: null, attentionReason: null, wakeAt: null, minutesSaved: 45, createdAt: at(0), startedAt: at(0), updatedAt: at(2000), finishedAt: at(2000),
    args: null, waitingOn: null, dryRun: false, requestedBy: null, origin: null, parentRunId: null, parentSeq: null, rerunOf: null, alsoCausedBy: [], ...over,
  };
}

describe('the timeline of a parked run', () => {
  it('names every step the run waits on, not only the first', () => {
    const d: RunDetail = {
      run: run({ status: 'waiting', finishedAt: null, waitingOn: 'approval:a-1', minutesSaved: 45 }),
      journal: [
        step(0, 'mdm.findDevice', 0, 10),
        step(1, 'mdm.wipeDevice', 20, null, { status: 'waiting', asset: 'intune', detail: 'waits for approval a-1 (riposte approvals show a-1)' }),
        step(2, 'firewall.blockIp', 20, null, { status: 'waiting', asset: 'panos', detail: 'waits for approval a-2 (riposte approvals show a-2)' }),
      ],
      actionResults: [], incident: null,
    };
    const out = formatRunTimeline(d, { now: t0 + 5000 });
    assert.match(out, /waits for\s+#1 mdm\.wipeDevice \[intune\]: waits for approval a-1/);
    assert.match(out, /#2 firewall\.blockIp \[panos\]: waits for approval a-2/);
    assert.match(out, /#1\s+\+20 ms\s+mdm\.wipeDevice\s+\[intune\]\s+…\s+PARKED/);
    assert.doesNotMatch(out, /saved/, 'a waiting run has saved nothing yet');
  });
});

describe('the timeline of a run with child playbooks', () => {
  it("names a child's parent and a parent's children, with their playbook, status and step", () => {
    const parent = run({ id: 'p-1', status: 'waiting', finishedAt: null, waitingOn: 'run:c-2' });
    const detail = 'waits for child run c-2 of playbook enrich (riposte runs show c-2)';
    const d: RunDetail = {
      run: parent,
      journal: [
        step(0, 'playbook.lookup', 0, 10, { kind: 'playbook' }),
        step(1, 'playbook.enrich', 20, null, { kind: 'playbook', status: 'waiting', detail }),
      ],
      actionResults: [], incident: null, parent: null,
      children: [
        run({ id: 'c-1', playbookId: 'lookup', playbookVersion: 3, parentRunId: 'p-1', parentSeq: 0 }),
        run({ id: 'c-2', playbookId: 'enrich', status: 'needs_attention', parentRunId: 'p-1', parentSeq: 1 }),
      ],
    };
    const out = formatRunTimeline(d, { now: t0 + 5000 });
    assert.match(out, /waits for\s+#1 playbook\.enrich: waits for child run c-2 of playbook enrich/);
    assert.match(out, /children\s+c-1  lookup@3  COMPLETED  \(step #0\)\n\s+c-2  enrich@2  NEEDS_ATTENTION  \(step #1\)/);
    assert.doesNotMatch(out, /parent /);

    const child = formatRunTimeline({
      run: run({ id: 'c-1', parentRunId: 'p-1', parentSeq: 0 }), journal: [], actionResults: [],
      parent: run({ id: 'p-1', playbookId: 'triage', status: 'waiting' }), children: [],
    });
    assert.match(child, /parent\s+p-1  triage@2  WAITING  \(its step #0\)/);
    const orphan = formatRunTimeline({ run: run({ parentRunId: 'gone', parentSeq: 4 }), journal: [], actionResults: [], parent: null });
    assert.match(orphan, /parent\s+gone  \(no longer stored\)  \(its step #4\)/);
  });
});

describe('format helpers', () => {
  it('aligns table columns', () => {
    const out = table(['ID', 'NAME', 'X'], [['1', 'short', 'a'], ['22', 'a longer name', 'b']]).split('\n');
    assert.equal(out[0], 'ID  NAME           X');
    assert.equal(out[2], '22  a longer name  b');
  });

  it('truncates to one line and a maximum length', () => {
    assert.equal(truncate('a\n  b'), 'a b');
    const long = truncate('x'.repeat(300), 120);
    assert.equal(long.length, 120);
    assert.ok(long.endsWith('…'));
    assert.equal(summarize({ a: 1 }), '{"a":1}');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(999), '999 ms');
    assert.equal(formatDuration(1500), '1.5 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
    assert.equal(formatDuration(3_720_000), '1 h 2 min');
  });

  it('finds steps whose time ranges overlap, not those that merely touch', () => {
    const p = parallelSteps([step(0, 'a', 0, 10), step(1, 'b', 10, 50), step(2, 'c', 11, 40), step(3, 'd', 50, 60)]);
    assert.deepEqual([...p].sort(), [1, 2]);
    // An unfinished step extends to now.
    assert.deepEqual([...parallelSteps([step(0, 'a', 0, null), step(1, 'b', 5, 6)], t0 + 100)].sort(), [0, 1]);
  });
});

describe('formatRunTimeline', () => {
  const detail: RunDetail = {
    run: run({ output: { outcome: 'contained' } }),
    incident: { id: 7, name: 'Phone reached bad IP' },
    journal: [
      step(2, 'directory.getUser', 21, 90, { asset: 'entra', input: { user: 'jdoe' }, output: { found: true, blob: 'y'.repeat(400) } }),
      step(0, 'lists.contains', 10, 12, { kind: 'list', input: { list: 'allow', value: '1.2.3.4' }, output: false }),
      step(1, 'mdm.findDevice', 20, 140, { asset: 'intune' }),
      step(3, 'mdm.wipeDevice', 150, 1650, { asset: 'intune', attempts: 2, detail: 'reconciled: not applied, sent once more' }),
    ],
    actionResults: [
      { id: 1, runId: 'r1', seq: 3, attempt: 1, app: 'i', asset: 'intune', action: 'wipeDevice', idempotencyKey: 'k', outcome: 'timeout', input: null, output: null, error: { name: 'RetryableError', message: 'timed out', retryable: true, applied: 'unknown' }, startedAt: at(150), durationMs: 1000 },
      { id: 2, runId: 'r1', seq: 3, attempt: 2, app: 'i', asset: 'intune', action: 'wipeDevice', idempotencyKey: 'k', outcome: 'succeeded', input: null, output: null, error: null, startedAt: at(1300), durationMs: 350 },
      { id: 3, runId: 'r1', seq: 1, attempt: 1, app: 'i', asset: 'intune', action: 'findDevice', idempotencyKey: 'k', outcome: 'succeeded', input: null, output: null, error: null, startedAt: at(20), durationMs: 120 },
    ],
  };
  const text = formatRunTimeline(detail, { now: t0 + 5000 });
  const lines = text.split('\n');

  it('has a header with playbook, hash, incident, duration and minutes saved', () => {
    assert.match(text, /^Run r1 {2}COMPLETED/);
    assert.match(text, /pb@2 {2}\(code abc123\)/);
    assert.match(text, /#7 {2}Phone reached bad IP/);
    assert.match(text, /duration +2\.0 s/);
    assert.match(text, /saved +45 analyst minutes/);
  });

  it('lists steps in seq order with offsets, assets and durations', () => {
    const stepLines = lines.filter((l) => /#\d+ /.test(l) && /\+\d+ ms/.test(l));
    assert.deepEqual(stepLines.map((l) => /#(\d+)/.exec(l)![1]), ['0', '1', '2', '3']);
    assert.match(stepLines[1]!, /\+20 ms +mdm\.findDevice +\[intune\] +120 ms +completed/);
    assert.match(stepLines[3]!, /mdm\.wipeDevice .*1\.5 s +completed after 2 attempts/);
  });

  it('marks parallel steps and only them', () => {
    const marked = lines.filter((l) => l.startsWith('  ║ #')).map((l) => /#(\d+)/.exec(l)![1]);
    assert.deepEqual(marked, ['1', '2']);
    assert.match(text, /║ = ran in parallel/);
  });

  it('summarizes inputs and outputs, truncated, and shows detail text', () => {
    assert.match(text, /in +\{"list":"allow","value":"1\.2\.3\.4"\}/);
    const out = lines.find((l) => l.includes('"blob"'))!;
    assert.ok(out.trim().length <= 130, out);
    assert.ok(out.endsWith('…'));
    assert.match(text, /note reconciled: not applied, sent once more/);
  });

  it('shows attempts only for a step with retries or failures', () => {
    assert.match(text, /attempt 1 +timeout +1\.0 s +RetryableError: timed out/);
    assert.match(text, /attempt 2 +succeeded +350 ms/);
    assert.equal(lines.filter((l) => l.includes('attempt ')).length, 2);
  });

  it('shows the attention reason and an unknown outcome for a parked run', () => {
    const parked = formatRunTimeline({
      run: run({ status: 'needs_attention', finishedAt: null, attentionReason: 'step 0 mdm.wipeDevice: outcome unknown' }),
      journal: [step(0, 'mdm.wipeDevice', 5, null)], actionResults: [],
    }, { now: t0 + 10_000 });
    assert.match(parked, /NEEDS_ATTENTION/);
    assert.match(parked, /ATTENTION +step 0 mdm\.wipeDevice: outcome unknown/);
    assert.match(parked, /#0 .*… +outcome unknown/);
    assert.doesNotMatch(parked, /saved/);
  });

  it('says so when no step was recorded', () => {
    assert.match(formatRunTimeline({ run: run({ status: 'queued', startedAt: null, finishedAt: null }), journal: [], actionResults: [] }), /no steps recorded yet/);
  });
});

describe('demo alert body', () => {
  it('has the Splunk webhook shape with string values only', () => {
    const b = buildDemoAlert({ user: 'jdoe@contoso.example', device: 'JDOE-IPHONE', deviceId: 'dev-1', dest: '203.0.113.45', src: '10.20.30.41', now: new Date(t0) });
    assert.deepEqual(Object.keys(b).sort(), ['app', 'owner', 'result', 'results_link', 'search_name', 'sid']);
    assert.equal(b.search_name, 'Mobile device reached unauthorized IP');
    assert.equal(b.app, 'search');
    assert.equal(b.owner, 'admin');
    assert.match(b.sid, new RegExp(`^scheduler__admin__search__RMD5[0-9a-f]+_at_${t0 / 1000}_\\d+$`));
    assert.ok(b.results_link.startsWith('http://splunk.example.local:8000/app/search/@go?sid='));
    for (const [k, v] of Object.entries(b.result)) assert.equal(typeof v, 'string', k);
    assert.deepEqual(b.result, {
      dest_ip: '203.0.113.45', src_ip: '10.20.30.41', user: 'jdoe@contoso.example', device_name: 'JDOE-IPHONE', device_id: 'dev-1',
      src_mac: '3c:22:fb:12:34:56', dest_port: '443', severity: 'high', _time: String(t0 / 1000),
    });
  });

  it('makes a new sid on every call and omits device_id unless given', () => {
    const opts = { user: 'u', device: 'd', dest: '1.1.1.1', src: '2.2.2.2', now: new Date(t0) };
    const sids = new Set(Array.from({ length: 50 }, () => buildDemoAlert(opts).sid));
    assert.equal(sids.size, 50);
    assert.equal('device_id' in buildDemoAlert(opts).result, false);
  });
});

describe('parseBindings', () => {
  it('parses role=asset pairs and refuses malformed or repeated ones', () => {
    assert.deepEqual(parseBindings(['mdm=intune', 'firewall=pa-1']), { mdm: 'intune', firewall: 'pa-1' });
    assert.throws(() => parseBindings(['mdm']), /must look like <role>=<asset>/);
    assert.throws(() => parseBindings(['mdm=a', 'mdm=b']), /bound twice/);
  });
});
