#!/usr/bin/env node
// µs per audit append (the ingestion hot path appends one or more per alert): an in-memory store,
// N appends in one transaction, so the figure is the chain head read + link hash + insert, without
// fsync. Also the link hash alone. Usage: npx tsc -p tsconfig.json && node scripts/audit-append-cost.mjs [N]
// (AUDIT_PLAIN=1: without a keyring, i.e. plain SHA-256 links as before migration 17).
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../dist/src/store/sqlite/sqlite-store.js';
import * as chain from '../dist/src/store/audit-chain.js';

const N = Number(process.argv[2] ?? 20000);
const keyring = process.env.AUDIT_PLAIN ? undefined : await import('../dist/src/store/audit-keyring.js').then((m) => m.memoryKeyring(), () => undefined);
const store = new SqliteStore({ path: ':memory:', secretKey: randomBytes(32), ...(keyring ? { auditKeys: keyring } : {}) });
await store.migrate();
const log = store['r'].audit;
const detail = { incidentId: 123, name: 'Phishing report', runs: ['r-1', 'r-2'], source: 'splunk', sourceId: 'sid-42' };
const run = (n) => store.db.transaction(() => {
  for (let i = 0; i < n; i++) log.appendInTx({ actor: 'token:ingest', action: 'incident.create', target: `incident:${i}`, detail });
})();
run(2000); // warm up
let t = process.hrtime.bigint();
run(N);
const perAppend = Number(process.hrtime.bigint() - t) / 1000 / N;
const fields = { id: 1, at: new Date().toISOString(), actor: 'token:ingest', action: 'incident.create', target: 'incident:1' };
const json = chain.canonicalJson(detail);
const link = keyring ? (p, f, d) => chain.linkHash(p, f, d, keyring.current().key) : (p, f, d) => chain.hashEntryWithDetailJson(p, f, d);
for (let i = 0; i < 20000; i++) link('0'.repeat(64), fields, json);
t = process.hrtime.bigint();
for (let i = 0; i < N; i++) link('0'.repeat(64), fields, json);
const perHash = Number(process.hrtime.bigint() - t) / 1000 / N;
console.log(`${keyring ? 'keyed (HMAC-SHA-256)' : 'plain SHA-256'}: ${perAppend.toFixed(2)} µs per append, ${perHash.toFixed(2)} µs per link hash (N=${N})`);
await store.close();
