/**
 * Credentials in request URLs never reach the log: a source token in the query however its
 * parameter name is encoded (`?%74oken=` is accepted by the parser, so it must be redacted too),
 * and an e-mail approval link's token in the path (whoever reads it could decide the approval).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../src/api/redact-url.js';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { buildApiServer } from '../../src/api/server.js';
import { DEFAULT_SPLUNK_MAPPING } from '../../src/ingest/mapping.js';
import { openTempStore } from '../support/temp-store.js';

test('redactUrl: secret query values by their decoded name, the e-mail link token, fragments', () => {
  assert.equal(redactUrl('/api/v1/ingest/splunk?token=abc'), '/api/v1/ingest/splunk?token=REDACTED');
  assert.equal(redactUrl('/x?%74oken=abc&a=1'), '/x?%74oken=REDACTED&a=1');
  assert.equal(redactUrl('/x?TOKEN=abc'), '/x?TOKEN=REDACTED');
  assert.equal(redactUrl('/x?%54%4F%4B%45%4E=abc'), '/x?%54%4F%4B%45%4E=REDACTED');
  assert.equal(redactUrl('/x?api%5Fkey=abc&password=p&keep=v'), '/x?api%5Fkey=REDACTED&password=REDACTED&keep=v');
  assert.equal(redactUrl('/x?a=1&token'), '/x?a=1&token=REDACTED');
  assert.equal(redactUrl('/x?a=1#frag-with-secret'), '/x?a=1#REDACTED');
  assert.equal(redactUrl('/approvals/email/Zk9vLmJhcg'), '/approvals/email/REDACTED');
  assert.equal(redactUrl('/approvals/email/Zk9vLmJhcg?x=1'), '/approvals/email/REDACTED?x=1');
  assert.equal(redactUrl('/api/v1/incidents/42?limit=5'), '/api/v1/incidents/42?limit=5');
});

test('the access log of a real server holds neither an encoded-name source token nor an e-mail link token', async () => {
  await using temp = await openTempStore('riposte-redact-');
  const SPLUNK = 'splk-src-redact-0123456789abcdef0123456';
  const LINK = 'emaillink-token-0123456789abcdef0123456789';
  await temp.store.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: DEFAULT_SPLUNK_MAPPING, token: SPLUNK }, 'test');
  const lines: string[] = [];
  const app = await buildApiServer({
    store: temp.store, ingest: new IngestService(temp.store, new PlaybookRegistry([]), { wake() {} }),
    logger: { level: 'debug', stream: { write: (l: string) => void lines.push(l) } },
  });
  try {
    const res = await app.inject({
      method: 'POST', url: `/api/v1/ingest/splunk?%74oken=${SPLUNK}`, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ sid: 'sid-1', search_name: null, app: 'a', owner: 'o', results_link: '', result: { user: 'bob', dest_ip: '203.0.113.9' } }),
    });
    assert.equal(res.statusCode, 201, res.body);
    await app.inject({ method: 'GET', url: `/approvals/email/${LINK}` });
    await app.inject({ method: 'POST', url: `/approvals/email/${LINK}` });
  } finally {
    await app.close();
  }
  const log = lines.join('\n');
  assert.match(log, /request completed/);
  assert.equal(log.includes(SPLUNK), false, 'the source token is in the log');
  assert.equal(log.includes(LINK), false, 'the e-mail link token is in the log');
  assert.match(log, /approvals\/email\/REDACTED/);
});
