/**
 * Hostile clients (issue 13): every answer carries the security headers (no sniffing, no framing,
 * no script, no Referer, no caching), errors and the e-mail approval page included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { buildApiServer } from '../../src/api/server.js';
import { SECURITY_HEADERS } from '../../src/api/security-headers.js';
import { openTempStore } from '../support/temp-store.js';

async function server() {
  const temp = await openTempStore('riposte-hostile-');
  const app = await buildApiServer({
    store: temp.store, ingest: new IngestService(temp.store, new PlaybookRegistry([]), { wake() {} }),
  });
  return { app, async close() { await app.close(); await temp.close(); } };
}

test('every answer carries the security headers: success, 401, 404, 405', async () => {
  const s = await server();
  try {
    for (const [method, url, status] of [['GET', '/api/v1/health', 200], ['GET', '/api/v1/incidents', 401],
      ['GET', '/approvals/email/some-link-token', 404], ['DELETE', '/api/v1/health', 405]] as const) {
      const res = await s.app.inject({ method, url });
      assert.equal(res.statusCode, status, `${method} ${url}`);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[name], value, `${name} on ${method} ${url}`);
    }
  } finally {
    await s.close();
  }
});
