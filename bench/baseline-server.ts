/**
 * The yardstick: a minimal, NON-durable script doing the founding scenario's five vendor calls
 * for each alert, with nothing persisted — a plain node:http handler, as a hand-written
 * integration would be. Riposte's throughput is reported as a ratio of this one's, measured in the
 * same invocation against the same simulators.
 *
 * Its vendor requests go through the same HTTP client as Riposte's apps (`vendorFetch` from
 * src/apps/http.ts: node:http over a keep-alive agent, not fetch), so the ratio compares
 * durability and orchestration, not two HTTP clients of different cost.
 *
 * POST /alert with the same Splunk webhook JSON Riposte receives → 201 {"incidentId": n} at once,
 * then: (token once) findDevice ∥ getUser → wipe ∥ block (PAN-OS key once; dag-tag: one User-ID
 * register, or static-group: set address, set group, commit, poll the job) → Jira search + create
 * with the label riposte-baseline-<n>. GET /stats → {done, failed, lastError}.
 *
 * Usage: node dist/bench/baseline-server.js '<lab endpoints JSON>'; prints its port on stdout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { vendorFetch, type VendorRequest } from '../src/apps/http.js';
import { labAssets, LAB_ALLOWED_DESTINATIONS, type LabEndpoints } from '../lab/index.js';

const endpoints = JSON.parse(process.argv[2] ?? '{}') as LabEndpoints;
const assets = Object.fromEntries(labAssets(endpoints).map((a) => [a.appId, a]));
const graph = assets['microsoft-intune']!.config as { tenantId: string; clientId: string; graphUrl: string; authorityUrl: string };
const graphSecret = assets['microsoft-intune']!.secrets.clientSecret!;
const panos = assets['palo-alto-panos']!.config as { url: string; username: string; blockMode?: string; commitPollIntervalMs: number };
const panosPassword = assets['palo-alto-panos']!.secrets.password!;
const jira = assets['atlassian-jira']!.config as { url: string; email: string; projectKey: string };
const jiraAuth = `Basic ${Buffer.from(`${jira.email}:${assets['atlassian-jira']!.secrets.apiToken}`).toString('base64')}`;
const VSYS = "/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys1']";

const stats = { done: 0, failed: 0, lastError: '' };

const client = { vendor: 'baseline', describeError: (status: number, body: string) => ({ message: body.slice(0, 200) || `HTTP ${status}` }) };

async function call(url: string, init: VendorRequest): Promise<string> {
  const res = await vendorFetch(url, init, client);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text;
}

let token: Promise<string> | undefined;
function graphToken(): Promise<string> {
  token ??= call(`${graph.authorityUrl}/${graph.tenantId}/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: graph.clientId, client_secret: graphSecret, scope: `${graph.graphUrl}/.default`, grant_type: 'client_credentials' }).toString(),
  }).then((t) => (JSON.parse(t) as { access_token: string }).access_token);
  return token;
}

let panosKey: Promise<string> | undefined;
async function panosCall(params: Record<string, string>): Promise<string> {
  panosKey ??= call(`${panos.url}/api/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ type: 'keygen', user: panos.username, password: panosPassword }).toString() })
    .then((t) => /<key>([^<]+)<\/key>/.exec(t)![1]!);
  const key = await panosKey;
  const text = await call(`${panos.url}/api/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-pan-key': key }, body: new URLSearchParams(params).toString() });
  if (!text.includes('status="success"') && !text.includes('already exists, ignore')) throw new Error(`PAN-OS ${params.type}: ${text.slice(0, 200)}`);
  return text;
}

async function block(ip: string, comment: string): Promise<void> {
  if (panos.blockMode === 'dag-tag') {
    const cmd = `<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="${ip}"><tag><member>riposte-block</member></tag></entry></register></payload></uid-message>`;
    await panosCall({ type: 'user-id', vsys: 'vsys1', cmd });
    return;
  }
  const name = `riposte-${ip.replace(/[.:]/g, '-')}`;
  await panosCall({ type: 'config', action: 'set', xpath: `${VSYS}/address/entry[@name='${name}']`, element: `<ip-netmask>${ip}/32</ip-netmask><description>Blocked: ${comment}</description>` });
  await panosCall({ type: 'config', action: 'set', xpath: `${VSYS}/address-group/entry[@name='riposte-block']`, element: `<static><member>${name}</member></static>` });
  const commit = await panosCall({ type: 'commit', cmd: '<commit></commit>' });
  const job = /<job>(\d+)<\/job>/.exec(commit)?.[1];
  while (job !== undefined) {
    await new Promise((r) => setTimeout(r, panos.commitPollIntervalMs));
    if ((await panosCall({ type: 'op', cmd: `<show><jobs><id>${job}</id></jobs></show>` })).includes('<status>FIN</status>')) return;
  }
}

const adf = (text: string) => ({ type: 'doc', version: 1, content: text.split('\n\n').map((p) => ({ type: 'paragraph', content: [{ type: 'text', text: p }] })) });

async function handle(n: number, alert: { result: Record<string, string> }): Promise<void> {
  const r = alert.result;
  const dest = r.dest_ip ?? '';
  if (LAB_ALLOWED_DESTINATIONS.some((a) => (a.includes('/') ? dest.startsWith(a.slice(0, a.lastIndexOf('.') + 1)) : dest === a))) return;
  const bearer = { authorization: `Bearer ${await graphToken()}` };
  const [devices, user] = await Promise.all([
    call(`${graph.graphUrl}/v1.0/deviceManagement/managedDevices?$filter=${encodeURIComponent(`deviceName eq '${r.device_name}'`)}`, { headers: bearer })
      .then((t) => JSON.parse(t) as { value: Array<{ id: string; deviceName: string; serialNumber: string }> }),
    call(`${graph.graphUrl}/v1.0/users/${r.user}?$select=id,userPrincipalName,displayName,mail,department,jobTitle,accountEnabled`, { headers: bearer })
      .then((t) => JSON.parse(t) as { displayName: string; mail: string }),
  ]);
  const device = devices.value[0]!;
  await Promise.all([
    call(`${graph.graphUrl}/v1.0/deviceManagement/managedDevices/${device.id}/wipe`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ keepEnrollmentData: false, keepUserData: false }) }),
    block(r.src_ip!, `baseline alert ${n}`),
  ]);
  const label = `riposte-baseline-${n}`;
  const headers = { authorization: jiraAuth, 'content-type': 'application/json', accept: 'application/json' };
  const found = JSON.parse(await call(`${jira.url}/rest/api/3/search/jql`, { method: 'POST', headers, body: JSON.stringify({
    jql: `project = "${jira.projectKey}" AND labels = "${label}" ORDER BY created ASC`, fields: ['summary', 'labels', 'status'], maxResults: 10,
  }) })) as { issues: unknown[] };
  if (found.issues.length > 0) return;
  const description = [
    `Baseline alert ${n}: ${r.user} on ${r.device_name} reached ${dest}`,
    `Device: ${device.deviceName} (${device.id}), serial ${device.serialNumber}`,
    `User: ${user.displayName} <${user.mail}>`,
    `Source address: ${r.src_ip}. Actions taken: wipe sent, address blocked.`,
  ].join('\n\n');
  await call(`${jira.url}/rest/api/3/issue`, { method: 'POST', headers, body: JSON.stringify({ fields: {
    project: { key: jira.projectKey }, issuetype: { name: 'Task' }, summary: `Recover and examine wiped device ${device.deviceName} (${user.displayName})`,
    labels: ['riposte', label, 'priority-high', 'mobile-unauthorized-ip', 'repeat-offender'], description: adf(description),
  } }) });
}

let counter = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let alert: { result: Record<string, string> };
    try {
      alert = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result: Record<string, string> };
    } catch {
      res.writeHead(400).end();
      return;
    }
    const n = ++counter;
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ incidentId: n }));
    handle(n, alert).then(() => { stats.done++; }, (err: unknown) => { stats.failed++; stats.lastError = (err as Error).message; });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
