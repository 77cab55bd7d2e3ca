/** Text formatting of the CLI: aligned tables, durations, compact JSON, and a run's timeline. */
import type { ActionResultRecord, JournalEntry, RunRecord } from '../store/records.js';
import { terminalSafe } from './terminal-text.js';

export { terminalSafe };

/**
 * Aligned columns separated by two spaces; the last column is not padded. Every cell is one
 * terminal-safe line (a value from outside cannot break the columns or forge a row).
 */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows].map((r) => r.map((cell) => terminalSafe(cell)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** One terminal-safe line of at most `max` characters. */
export function truncate(text: string, max = 120): string {
  const oneLine = terminalSafe(text.replace(/\s*\n\s*/g, ' '));
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** Compact JSON of a value, truncated for a text line. */
export function summarize(value: unknown, max = 120): string {
  if (value === undefined) return '';
  return truncate(typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value), max);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** `2026-11-27 23:35:39 UTC` (times are stored as UTC ISO strings). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const ms = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

/** Milliseconds between two ISO times, or null when either is missing. */
export function durationBetween(start: string | null | undefined, end: string | null | undefined): number | null {
  const a = ms(start);
  const b = ms(end);
  return a === null || b === null ? null : b - a;
}

/**
 * Seqs of steps that ran at the same time as another step (a `Promise.all` in the playbook):
 * their [start, finish) ranges overlap. An unfinished step extends to `now`.
 */
export function parallelSteps(journal: JournalEntry[], now = Date.now()): Set<number> {
  const ranges = journal.map((e) => {
    const start = ms(e.startedAt) ?? 0;
    return { seq: e.seq, start, end: ms(e.finishedAt) ?? (e.status === 'started' || e.status === 'waiting' ? Math.max(now, start) : start) };
  });
  const out = new Set<number>();
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (a.start < b.end && b.start < a.end) {
        out.add(a.seq);
        out.add(b.seq);
      }
    }
  }
  return out;
}

export interface RunDetail {
  run: RunRecord;
  journal: JournalEntry[];
  actionResults: ActionResultRecord[];
  /** The run's incident, when known. */
  incident?: { id: number; name: string } | null;
  /** A child run's parent (null: no longer stored), and the run's own child runs (`ctx.playbook`). */
  parent?: RunRecord | null;
  children?: RunRecord[];
  /** The runs that repeat this one (newest first). */
  reruns?: Array<{ id: string; status: string; requestedBy: string | null; createdAt: string }>;
}

function outcomeOf(e: JournalEntry): string {
  switch (e.status) {
    case 'completed':
      return e.attempts > 1 ? `completed after ${e.attempts} attempts` : 'completed';
    case 'failed':
      return e.error ? `FAILED: ${e.error.message}` : 'FAILED';
    case 'abandoned':
      return 'abandoned: the run ended while it waited';
    case 'waiting':
      return e.kind === 'sleep' ? `waiting until ${formatTime(e.wakeAt)}` : 'PARKED (see note)';
    case 'started':
      return e.kind === 'action' ? 'outcome unknown (intent recorded, no result)' : 'in progress';
    default:
      return String(e.status);
  }
}

/** Attempts worth showing: when there was more than one, or any did not succeed. */
function attemptsWorthShowing(results: ActionResultRecord[]): boolean {
  return results.length > 1 || results.some((r) => r.outcome !== 'succeeded');
}

/**
 * The human-readable timeline of a run: a header, then one line per journal entry in seq order
 * with its offset from the run's start, and the action attempts under a step that needed more
 * than one or failed. Steps that overlapped in time are marked `║`.
 */
export function formatRunTimeline(d: RunDetail, opts: { now?: number; width?: number } = {}): string {
  const { run } = d;
  const now = opts.now ?? Date.now();
  const width = opts.width ?? 120;
  const lines: string[] = [];
  const live = run.status === 'running' || run.status === 'queued';
  // A parked run (waiting, needs attention) stopped at its last update, not now.
  const end = run.finishedAt ?? (live ? new Date(now).toISOString() : run.updatedAt);
  const total = durationBetween(run.startedAt, end);
  const totalNote = run.finishedAt ? '' : live ? ' so far' : ` until parked (${formatTime(run.updatedAt)})`;

  lines.push(`Run ${run.id}  ${run.status.toUpperCase()}`);
  const head: Array<[string, string]> = [
    ['playbook', `${run.playbookId}@${run.playbookVersion}  (code ${run.playbookHash})`],
    ['code', run.origin ? terminalSafe(`${run.origin.repository}@${run.origin.commit ?? '(directory)'}:${run.origin.path}  bundle ${run.playbookHash}`) : '(not recorded)'],
    ['incident', d.incident ? `#${d.incident.id}  ${terminalSafe(d.incident.name)}` : `#${run.incidentId}`],
    ['started', run.startedAt ? formatTime(run.startedAt) : `not yet (created ${formatTime(run.createdAt)})`],
    ['finished', run.finishedAt ? formatTime(run.finishedAt) : '-'],
    ['duration', total === null ? '-' : `${formatDuration(total)}${totalNote}`],
  ];
  if (run.parentRunId !== null) {
    const p = d.parent;
    const of = p ? `${p.playbookId}@${p.playbookVersion}  ${p.status.toUpperCase()}` : '(no longer stored)';
    head.push(['parent', `${run.parentRunId}  ${of}  (its step #${run.parentSeq ?? '?'})`]);
  }
  for (const [i, c] of (d.children ?? []).entries()) {
    const what = `${c.playbookId}@${c.playbookVersion}  ${c.status.toUpperCase()}  (step #${c.parentSeq ?? '?'})`;
    head.push([i === 0 ? 'children' : '', `${c.id}  ${what}`]);
  }
  if (run.status === 'completed' && run.minutesSaved !== null) head.push(['saved', `${run.minutesSaved} analyst minutes`]);
  if (run.status === 'waiting') {
    // Every parked step, not only the one the run is filed under (two approvals, say).
    // In a waiting run, an action entry still `started` is a re-send held back (kill switch): parked too.
    const parked = d.journal
      .filter((e) => e.status === 'waiting' || (e.status === 'started' && e.kind === 'action'))
      .sort((a, b) => a.seq - b.seq);
    for (const [i, e] of parked.entries()) {
      head.push([i === 0 ? 'waits for' : '', terminalSafe(`#${e.seq} ${e.name}${e.asset ? ` [${e.asset}]` : ''}: ${e.detail ?? `its timer, until ${formatTime(e.wakeAt)}`}`)]);
    }
    if (parked.length === 0 && run.waitingOn) head.push(['waits for', terminalSafe(String(run.waitingOn))]);
  }
  if (run.dryRun) head.push(['mode', 'DRY RUN: destructive actions are recorded, not executed']);
  if (run.requestedBy) head.push(['requested', terminalSafe(run.requestedBy)]);
  // Older servers do not send it.
  if ((run.alsoCausedBy ?? []).length > 0) head.push(['also caused', terminalSafe(run.alsoCausedBy.join(', '))]);
  if (run.rerunOf) head.push(['rerun of', terminalSafe(run.rerunOf)]);
  for (const [i, r] of (d.reruns ?? []).entries()) {
    const by = r.requestedBy ? `  by ${r.requestedBy}` : '';
    head.push([i === 0 ? 're-runs' : '', terminalSafe(`${r.id}  ${r.status}${by}  ${formatTime(r.createdAt)}`)]);
  }
  if (run.wakeAt) head.push(['wakes', formatTime(run.wakeAt)]);
  if (run.attentionReason) head.push(['ATTENTION', terminalSafe(run.attentionReason)]);
  if (run.error) head.push(['error', terminalSafe(`${run.error.name}: ${run.error.message}`)]);
  if (run.output !== null && run.output !== undefined) head.push(['output', summarize(run.output, width)]);
  for (const [k, v] of head) lines.push(`  ${k.padEnd(9)}  ${v}`);

  const journal = [...d.journal].sort((a, b) => a.seq - b.seq);
  lines.push('');
  if (journal.length === 0) {
    lines.push('  (no steps recorded yet)');
    return lines.join('\n');
  }
  const parallel = parallelSteps(journal, now);
  const origin = ms(run.startedAt) ?? ms(journal[0]!.startedAt) ?? 0;
  const rows = journal.map((e) => {
    const dur = durationBetween(e.startedAt, e.finishedAt);
    return {
      e,
      cells: [
        `${parallel.has(e.seq) ? '║' : ' '} #${e.seq}`,
        `+${Math.max(0, (ms(e.startedAt) ?? origin) - origin)} ms`,
        terminalSafe(e.name),
        e.asset ? `[${terminalSafe(e.asset)}]` : '',
        dur === null ? '…' : formatDuration(dur),
        terminalSafe(outcomeOf(e)),
      ],
    };
  });
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r.cells[i]!.length)));
  const byStep = new Map<number, ActionResultRecord[]>();
  for (const r of d.actionResults) byStep.set(r.seq, [...(byStep.get(r.seq) ?? []), r]);
  const indent = '        ';

  for (const { e, cells } of rows) {
    lines.push(`  ${cells.map((c, i) => (i < 5 ? (i === 1 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)) : c)).join('  ')}`);
    if (e.input !== null && e.input !== undefined) lines.push(`${indent}in   ${summarize(e.input, width)}`);
    if (e.output !== null && e.output !== undefined) lines.push(`${indent}out  ${summarize(e.output, width)}`);
    if (e.error && e.status !== 'failed') lines.push(`${indent}err  ${truncate(`${e.error.name}: ${e.error.message}`, width)}`);
    if (e.detail) lines.push(`${indent}note ${terminalSafe(e.detail)}`);
    const attempts = (byStep.get(e.seq) ?? []).sort((a, b) => a.attempt - b.attempt || a.id - b.id);
    if (attemptsWorthShowing(attempts)) {
      for (const a of attempts) {
        const err = a.error ? `  ${truncate(`${a.error.name}: ${a.error.message}`, width)}` : '';
        lines.push(`${indent}attempt ${a.attempt}  ${a.outcome.padEnd(10)}  ${formatDuration(a.durationMs).padStart(8)}${err}`);
      }
    }
  }
  if (parallel.size > 0) lines.push('', '  ║ = ran in parallel with another step');
  return lines.join('\n');
}

/** A Git commit id shortened to 12 characters; anything else (`riposte@0.1.0`) whole. */
export function shortCommit(commit: string | null | undefined): string | null {
  if (commit === null || commit === undefined) return null;
  return /^[0-9a-f]{40,64}$/.test(commit) ? commit.slice(0, 12) : commit;
}
