/**
 * The benchmark's organisation: N users, each with one phone and one source address, seeded into
 * the Graph simulator (lab process) and used to build the alerts (load generator). Deterministic,
 * so both processes derive the same data from N.
 */
import { GraphSimulator, type GraphSimOptions } from '../lab/graph-sim.js';

export const userName = (i: number) => `user${i}@contoso.example`;
export const deviceName = (i: number) => `PHONE-${i}`;
export const deviceId = (i: number) => `d0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
/** One source address per user (10.64.0.1 …); blocks of a user's later alerts find it registered. */
export const sourceIp = (i: number) => `10.${64 + Math.floor(i / 62500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
/** Not on the access list (203.0.113.0/24 is not allowed by the lab's list). */
export const DESTINATION = '203.0.113.45';

export function benchSeed(users: number): GraphSimOptions {
  const base = GraphSimulator.demoSeed();
  const u = [], d = [];
  for (let i = 0; i < users; i++) {
    u.push({
      id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, userPrincipalName: userName(i), displayName: `User ${i}`,
      givenName: 'User', surname: String(i), mail: userName(i), department: 'Field sales', jobTitle: 'Account executive',
    });
    d.push({
      id: deviceId(i), deviceName: deviceName(i), serialNumber: `SN${i.toString(16).padStart(8, '0')}`, operatingSystem: 'iOS',
      osVersion: '17.5.1', model: 'iPhone 14', manufacturer: 'Apple', userPrincipalName: userName(i), lastSyncDateTime: new Date().toISOString(),
    });
  }
  return { ...base, users: u, devices: d };
}

let sidCounter = 0;

/** A Splunk webhook alert (the founding scenario's) for user `i`; every call is a new alert (new sid). */
export function splunkAlert(i: number, tag: string) {
  const sid = `scheduler__admin__search__RMD5bench_${tag}_${process.pid}_${++sidCounter}`;
  return {
    sid, search_name: 'Mobile device reached unauthorized IP', app: 'search', owner: 'admin',
    results_link: `http://splunk.example.local:8000/app/search/@go?sid=${sid}`,
    result: { dest_ip: DESTINATION, src_ip: sourceIp(i), user: userName(i), device_name: deviceName(i), src_mac: '3c:22:fb:12:34:56', dest_port: '443', severity: 'high' },
  };
}

/** A generic-route alert whose label no playbook listens to: ingestion only, no run. */
export function ingestOnlyAlert(n: number, tag: string) {
  const i = n % 5000;
  return {
    name: `Bench ingest-only alert ${n}: ${userName(i)} on ${deviceName(i)}`,
    label: 'bench-ingest-only',
    severity: 'medium',
    sourceId: `bench-${tag}-${process.pid}-${n}`,
    artifacts: [{
      name: 'Network connection',
      cef: { destinationAddress: DESTINATION, sourceAddress: sourceIp(i), sourceUserName: userName(i), deviceHostname: deviceName(i), destinationPort: '443' },
    }],
  };
}
