/** `riposte incidents list|show`. */
import type { Command } from 'commander';
import type { IncidentQuery } from '../../store/store.js';
import type { IncidentStatus } from '../../sdk/playbook.js';
import { INCIDENT_STATUSES } from '../../common/domain.js';
import { CliError, positiveInt, printJson, withStore } from '../open-store.js';
import { durationBetween, formatDuration, formatTime, table, terminalSafe as s, truncate } from '../format.js';
import { print } from '../output.js';

const STATUSES: IncidentStatus[] = [...INCIDENT_STATUSES];

export function registerIncidents(program: Command): void {
  const incidents = program.command('incidents').description('list and inspect incidents');

  incidents.command('list')
    .description('incidents, newest first')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--label <label>', 'only this label')
    .option('--q <text>', 'substring of the name or of an artifact value')
    .option('--limit <n>', 'at most n incidents', '50')
    .option('--json', 'machine-readable JSON')
    .action(async (opts: { status?: string; label?: string; q?: string; limit: string; json?: boolean }, cmd: Command) => {
      const query: IncidentQuery = { limit: positiveInt('--limit', opts.limit) };
      if (opts.status !== undefined) {
        if (!STATUSES.includes(opts.status as IncidentStatus)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}, got "${opts.status}"`);
        query.status = opts.status as IncidentStatus;
      }
      if (opts.label !== undefined) query.label = opts.label;
      if (opts.q !== undefined) query.q = opts.q;
      const list = await withStore(cmd, (store) => store.listIncidents(query));
      if (opts.json) return printJson({ incidents: list });
      if (list.length === 0) return print('no incidents');
      print(table(
        ['ID', 'SEVERITY', 'STATUS', 'LABEL', 'NAME', 'REPEATS', 'CREATED'],
        list.map((i) => [String(i.id), i.severity, i.status, i.label, truncate(i.name, 60), String(i.repeatCount), formatTime(i.createdAt)]),
      ));
    });

  incidents.command('show')
    .description('one incident: fields, artifacts, notes and runs')
    .argument('<id>', 'incident id')
    .option('--json', 'machine-readable JSON')
    .action(async (idArg: string, opts: { json?: boolean }, cmd: Command) => {
      const id = positiveInt('incident id', idArg.replace(/^#/, ''));
      const data = await withStore(cmd, async (store) => {
        const incident = await store.getIncident(id);
        if (!incident) throw new CliError(`incident ${id} does not exist`);
        const [notes, runs] = await Promise.all([store.listNotes(id), store.listRuns({ incidentId: id, limit: 1000 })]);
        return { incident, notes, runs };
      });
      if (opts.json) return printJson(data);
      const { incident: i, notes, runs } = data;
      const out: string[] = [`Incident #${i.id}  ${s(i.name)}`];
      const fields: Array<[string, string]> = [
        ['severity', s(i.severity)], ['status', s(i.status)], ['label', s(i.label)],
        ['source', `${s(i.source)}${i.sourceId ? `  (source id ${s(i.sourceId)})` : ''}`],
        ['repeats', `${i.repeatCount}${i.repeatCount > 0 ? `  (last seen ${formatTime(i.lastSeenAt)})` : ''}`],
        ['owner', i.owner === null ? '-' : s(i.owner)], ['created', formatTime(i.createdAt)], ['updated', formatTime(i.updatedAt)],
      ];
      if (i.closedAt) fields.push(['closed', formatTime(i.closedAt)]);
      if (i.tags.length > 0) fields.push(['tags', s(i.tags.join(', '))]);
      if (i.description) fields.push(['about', s(i.description)]);
      for (const [k, v] of fields) out.push(`  ${k.padEnd(8)}  ${v}`);

      out.push('', `Artifacts (${i.artifacts.length})`);
      for (const a of i.artifacts) {
        out.push(`  #${a.id}  ${s(a.name)}${a.label ? `  [${s(a.label)}]` : ''}`);
        const keys = Object.keys(a.cef);
        const w = Math.max(0, ...keys.map((k) => s(k).length));
        for (const k of keys) {
          const types = a.contains[k];
          out.push(`      ${s(k).padEnd(w)} = ${s(String(a.cef[k]))}${types && types.length > 0 ? `  (${s(types.join(', '))})` : ''}`);
        }
      }

      out.push('', `Notes (${notes.length})`);
      for (const n of notes) out.push(`  ${formatTime(n.createdAt)}  ${s(n.author)}`, ...n.text.split('\n').map((l) => `      ${s(l)}`));

      out.push('', `Runs (${runs.length})`);
      if (runs.length > 0) {
        out.push(table(['  RUN', 'PLAYBOOK', 'STATUS', 'STARTED', 'DURATION'], runs.map((r) => {
          const d = durationBetween(r.startedAt, r.finishedAt);
          return [`  ${r.id}`, `${r.playbookId}@${r.playbookVersion}`, r.status, formatTime(r.startedAt), d === null ? '-' : formatDuration(d)];
        })));
      }
      print(out.join('\n'));
    });
}
