/**
 * `riposte demo`: fires the founding scenario's alert at a running server the way Splunk's webhook
 * alert action would, then (by default) waits for the run and prints its timeline.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { readCredentials, credentialsPath } from '../../server/credentials.js';
import type { ActionResultRecord, IncidentRecord, JournalEntry, RunRecord } from '../../store/records.js';
import { CliError, dataDirOf } from '../open-store.js';
import { serverUrl } from '../api-client.js';
import { formatRunTimeline } from '../format.js';
import { print, writeErr } from '../output.js';

export interface DemoAlertOptions {
  user: string;
  device: string;
  deviceId?: string;
  dest: string;
  src: string;
  /** Defaults to the current time. */
  now?: Date;
}

export interface SplunkDemoBody {
  sid: string;
  search_name: string;
  app: string;
  owner: string;
  results_link: string;
  result: Record<string, string>;
}

let sidCounter = 0;

/** A Splunk webhook body as the stock alert action posts it: every `result` value is a string. */
export function buildDemoAlert(o: DemoAlertOptions): SplunkDemoBody {
  const epoch = Math.floor((o.now ?? new Date()).getTime() / 1000);
  // A scheduled search's sid; new on every call, so each demo is a new alert (not a duplicate).
  const sid = `scheduler__admin__search__RMD5${randomBytes(8).toString('hex')}_at_${epoch}_${++sidCounter}`;
  const result: Record<string, string> = {
    dest_ip: o.dest,
    src_ip: o.src,
    user: o.user,
    device_name: o.device,
    src_mac: '3c:22:fb:12:34:56',
    dest_port: '443',
    severity: 'high',
    _time: String(epoch),
  };
  if (o.deviceId !== undefined && o.deviceId !== '') result['device_id'] = o.deviceId;
  return {
    sid,
    search_name: 'Mobile device reached unauthorized IP',
    app: 'search',
    owner: 'admin',
    results_link: `http://splunk.example.local:8000/app/search/@go?sid=${encodeURIComponent(sid)}`,
    result,
  };
}

interface HttpAnswer { status: number; body: unknown }

async function http(url: string, init: RequestInit, base: string): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new CliError(`cannot reach Riposte at ${base} (${why}): is the server running? Start it with \`riposte serve --lab\` (or npm start)`);
  }
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
  return { status: res.status, body };
}

function apiMessage(a: HttpAnswer): string {
  const e = (a.body as { error?: { code?: string; message?: string } } | null)?.error;
  return e?.message ? `${e.message}${e.code ? ` (${e.code})` : ''}` : String(a.body).slice(0, 200);
}

interface RunAnswer { run: RunRecord; journal: JournalEntry[]; actionResults: ActionResultRecord[] }

async function waitForRun(base: string, runId: string, token: string, timeoutMs: number): Promise<RunAnswer> {
  const headers = { authorization: `Bearer ${token}` };
  const until = Date.now() + timeoutMs;
  for (;;) {
    const a = await http(`${base}/api/v1/runs/${encodeURIComponent(runId)}`, { headers }, base);
    if (a.status !== 200) throw new CliError(`GET run ${runId}: HTTP ${a.status}: ${apiMessage(a)}`);
    const answer = a.body as RunAnswer;
    if (answer.run.status !== 'queued' && answer.run.status !== 'running') return answer;
    if (Date.now() > until) {
      throw new CliError(`run ${runId} is still ${answer.run.status} after ${timeoutMs / 1000} s; follow it with: riposte runs show ${runId}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('send the demo Splunk alert ("Mobile device reached unauthorized IP") to a running server')
    .option('--url <url>', 'base URL of the running server (default: $RIPOSTE_URL or http://127.0.0.1:8080)')
    .option('--user <upn>', 'user in the alert', 'jdoe@contoso.example')
    .option('--device <name>', 'device name in the alert', 'JDOE-IPHONE')
    .option('--device-id <id>', 'Intune device id in the alert (optional)')
    .option('--dest <ip>', 'destination address', '203.0.113.45')
    .option('--src <ip>', 'source (device) address', '10.20.30.41')
    .option('--no-wait', 'do not wait for the runs to finish')
    .action(async (opts: {
      url?: string; user: string; device: string; deviceId?: string; dest: string; src: string; wait: boolean;
    }, cmd: Command) => {
      const dataDir = dataDirOf(cmd);
      const creds = readCredentials(dataDir);
      if (!creds) {
        throw new CliError(`no credentials at ${credentialsPath(dataDir)}: start the server first with \`riposte serve --lab\` (or npm start), or point --data-dir at the server's data directory`);
      }
      const base = serverUrl(opts.url);
      const body = buildDemoAlert({ user: opts.user, device: opts.device, deviceId: opts.deviceId, dest: opts.dest, src: opts.src });
      const a = await http(`${base}/api/v1/ingest/splunk?token=${encodeURIComponent(creds.splunkToken)}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      }, base);
      if (a.status !== 200 && a.status !== 201) throw new CliError(`the server refused the alert: HTTP ${a.status}: ${apiMessage(a)}`);
      const answer = a.body as { incidentId: number; created: boolean; runs?: string[]; repeatCount?: number };

      print(`Sent Splunk alert sid ${body.sid}: ${body.result['user']} on ${body.result['device_name']} reached ${body.result['dest_ip']}`);
      if (!answer.created) {
        print(`Incident #${answer.incidentId}: duplicate alert (seen ${(answer.repeatCount ?? 0) + 1} times); no new run`);
        return;
      }
      const runIds = answer.runs ?? [];
      print(`Incident #${answer.incidentId} created; ${runIds.length === 0 ? 'no playbook matched it' : `run${runIds.length > 1 ? 's' : ''} ${runIds.join(', ')}`}`);
      if (!opts.wait || runIds.length === 0) return;

      const headers = { authorization: `Bearer ${creds.adminToken}` };
      const inc = await http(`${base}/api/v1/incidents/${answer.incidentId}`, { headers }, base);
      const incident = inc.status === 200 ? (inc.body as { incident: IncidentRecord }).incident : null;
      for (const runId of runIds) {
        const detail = await waitForRun(base, runId, creds.adminToken, 30_000);
        print('');
        print(formatRunTimeline({ ...detail, incident: incident ? { id: incident.id, name: incident.name } : null }));
        const outcome = (detail.run.output as { outcome?: string } | null)?.outcome;
        print('');
        if (outcome === 'first-offence') print('First offence: run it again for the repeat-offender path (npx riposte demo).');
        if (detail.run.status === 'waiting' && detail.run.waitingOn?.startsWith('approval:')) {
          print(`Repeat offender: the wipe and the firewall block wait for an analyst's approval (the playbook is supervised).`);
          print(`  npx riposte approvals list`);
          print(`  npx riposte approvals approve --run ${runId}      then: npx riposte runs show ${runId}`);
        }
        if (detail.run.status === 'failed' || detail.run.status === 'needs_attention' || detail.run.status === 'cancelled') {
          writeErr(`run ${runId} ended ${detail.run.status}: see the timeline above, or riposte runs show ${runId}\n`);
          process.exitCode = 1;
        }
      }
    });
}
