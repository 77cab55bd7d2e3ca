/**
 * The audit stream to Splunk HEC: every entry once in order, at-least-once across a busy receiver
 * (503), a wrong token and a restart, resuming from the persisted cursor; the token never in errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { memoryKeyring } from '../../src/store/audit-keyring.js';
import { AuditExporter } from '../../src/audit/export/exporter.js';
import { HecSink } from '../../src/audit/export/hec-sink.js';
import { startHecReceiver } from '../support/hec-receiver.js';
import { suiteTempDir } from '../support/temp-store.js';
import { until } from '../support/wait.js';

const tmp = suiteTempDir('riposte-hec-');
const TOKEN = `hec-${randomBytes(8).toString('hex')}`;
const keys = memoryKeyring();
const secretKey = randomBytes(32);

async function open(path: string): Promise<SqliteStore> {
  const s = new SqliteStore({ path, secretKey, auditKeys: keys });
  await s.migrate();
  return s;
}

const ids = (events: { event: unknown }[]) => events.map((e) => (e.event as { id: number }).id);

describe('audit export to Splunk HEC', () => {
  it('delivers every entry in order, survives a busy receiver, resumes after a restart from the cursor', async () => {
    const hec = await startHecReceiver(TOKEN);
    const db = join(tmp.sub(), 'riposte.db');
    try {
      let store = await open(db);
      for (let i = 1; i <= 5; i++) await store.appendAudit({ actor: 'alice', action: 'login', detail: { i } });
      const errors: string[] = [];
      const sink = new HecSink({ url: hec.url, token: TOKEN });
      hec.busy(2);
      let exp = new AuditExporter(store, sink, { batch: 2, pollMs: 20, minBackoffMs: 10, maxBackoffMs: 40, onError: (e) => errors.push((e as Error).message) });
      exp.start();
      await until('hec.events.length === 5', async () => hec.events.length === 5, 10_000);
      await exp.stop();
      assert.deepEqual(ids(hec.events), [1, 2, 3, 4, 5]);
      assert.equal(errors.length, 2);
      assert.match(errors[0]!, /HEC http:\/\/127\.0\.0\.1:\d+ refused the batch: HTTP 503, code 9 "Server is busy"/);
      assert.equal(await store.auditExportCursor(sink.name), 5);
      const first = hec.events[0]!;
      assert.equal(first.sourcetype, 'riposte:audit');
      assert.equal(typeof first.time, 'number');
      assert.equal((first.event as { keyId: string }).keyId, keys.current().id, 'the event carries the keyed link');
      assert.ok(hec.requests.every((r) => r.auth === `Splunk ${TOKEN}`));

      // Restart: new entries while down; the cursor survives in the database.
      for (let i = 6; i <= 7; i++) await store.appendAudit({ actor: 'bob', action: 'logout', detail: { i } });
      await store.close();
      store = await open(db);
      exp = new AuditExporter(store, new HecSink({ url: hec.url, token: TOKEN }), { pollMs: 20 });
      exp.start();
      await until('hec.events.length === 7', async () => hec.events.length === 7, 10_000);
      await exp.stop();
      assert.deepEqual(ids(hec.events), [1, 2, 3, 4, 5, 6, 7], 'nothing lost, nothing skipped');
      await store.close();
    } finally {
      await hec.close();
    }
  });

  it('a wrong token is retried with backoff, nothing is skipped, and the token is in no error', async () => {
    const hec = await startHecReceiver(TOKEN);
    const db = join(tmp.sub(), 'riposte.db');
    const store = await open(db);
    try {
      await store.appendAudit({ actor: 'alice', action: 'login' });
      const wrong = `wrong-${randomBytes(8).toString('hex')}`;
      const errors: string[] = [];
      const exp = new AuditExporter(store, new HecSink({ url: hec.url, token: wrong }), {
        pollMs: 10, minBackoffMs: 20, maxBackoffMs: 1000, onError: (e) => errors.push((e as Error).message),
      });
      exp.start();
      await until('errors.length >= 3', async () => errors.length >= 3, 10_000);
      await exp.stop();
      assert.match(errors[0]!, /HTTP 403, code 4 "Invalid token"/);
      assert.ok(errors.every((m) => !m.includes(wrong) && !m.includes(TOKEN)), 'no token in error messages');
      assert.equal(exp.failures >= 3, true);
      assert.equal(await store.auditExportCursor(`hec:${new URL(hec.url).origin}`), 0, 'the cursor did not move');
      assert.equal(hec.events.length, 0);
    } finally {
      await store.close();
      await hec.close();
    }
  });

  it('an unreachable receiver delays the stream and loses nothing', async () => {
    const db = join(tmp.sub(), 'riposte.db');
    const store = await open(db);
    const hec = await startHecReceiver(TOKEN);
    const url = hec.url;
    await hec.close(); // nobody listens there now
    try {
      await store.appendAudit({ actor: 'alice', action: 'login' });
      const sink = new HecSink({ url, token: TOKEN, timeoutMs: 500 });
      await assert.rejects(new AuditExporter(store, sink).drain(), /HEC http:\/\/127\.0\.0\.1:\d+: fetch failed/);
      assert.equal(await store.auditExportCursor(sink.name), 0);
    } finally {
      await store.close();
    }
  });

  it('refuses a HEC URL carrying credentials or a query', () => {
    assert.throws(() => new HecSink({ url: 'https://u:p@splunk.example:8088', token: 't' }), /must not carry credentials/);
    assert.throws(() => new HecSink({ url: 'https://splunk.example:8088/?token=t', token: 't' }), /must not carry credentials or a query/);
    assert.throws(() => new HecSink({ url: 'ftp://splunk.example', token: 't' }), /must be http\(s\)/);
  });
});
