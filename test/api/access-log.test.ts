import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlaybookRegistry } from '../../src/engine/registry.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { buildApiServer } from '../../src/api/server.js';
import { DEFAULT_SPLUNK_MAPPING } from '../../src/ingest/mapping.js';
import { openTempStore } from '../support/temp-store.js';

const GENERIC = 'gen-src-access-log-0123456789abcdef0123';
const SPLUNK = 'splk-src-access-log-0123456789abcdef012';
const ADMIN = 'api-admin-access-log-0123456789abcdef01';

async function server(level: string) {
  const temp = await openTempStore('riposte-access-');
  const { store } = temp;
  await store.putSource({ name: 'webhook', kind: 'generic', mapping: null, token: GENERIC }, 'test');
  await store.putSource({ name: 'splunk', kind: 'splunk-webhook', mapping: DEFAULT_SPLUNK_MAPPING, token: SPLUNK }, 'test');
  await store.createApiToken({ name: 'admin', role: 'admin', token: ADMIN }, 'test');
  const lines: Array<Record<string, unknown>> = [];
  const app = await buildApiServer({
    store, ingest: new IngestService(store, new PlaybookRegistry([]), { wake() {} }),
    logger: { level, stream: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } },
  });
  let n = 0;
  return {
    app, lines,
    postGeneric: (token = GENERIC) => app.inject({
      method: 'POST', url: '/api/v1/incidents', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      payload: JSON.stringify({ name: 'n', label: 'access-log', severity: 'low', sourceId: `a-${++n}`, artifacts: [{ name: 'a', cef: { suser: 'bob' } }] }),
    }),
    postSplunk: () => app.inject({
      method: 'POST', url: `/api/v1/ingest/splunk?token=${SPLUNK}`, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ sid: `sid-${++n}`, search_name: null, app: 'a', owner: 'o', results_link: '', result: { user: 'bob', dest_ip: '203.0.113.9' } }),
    }),
    async close() {
      await app.close();
      await temp.close();
    },
  };
}

const completed = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l['msg'] === 'request completed');

describe('access log', () => {
  it('at info: one line per request, except successful alerts, which are summed up per route and status', async () => {
    const s = await server('info');
    assert.equal((await s.postGeneric()).statusCode, 201);
    assert.equal((await s.postGeneric()).statusCode, 201);
    assert.equal((await s.postSplunk()).statusCode, 201);
    assert.equal((await s.postGeneric('wrong-token-value')).statusCode, 401);
    assert.equal((await s.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode, 200);
    assert.equal(s.lines.some((l) => l['msg'] === 'incoming request'), false, 'one line per request, not two');
    const each = completed(s.lines);
    assert.deepEqual(each.map((l) => (l['res'] as { statusCode: number }).statusCode).sort(), [200, 401]);
    for (const l of each) {
      assert.equal(typeof l['responseTime'], 'number');
      assert.ok(typeof (l['req'] as { url?: unknown }).url === 'string');
    }
    assert.equal(s.lines.some((l) => l['msg'] === 'requests answered'), false, 'the summary comes later');
    await s.close();
    const summary = s.lines.filter((l) => l['msg'] === 'requests answered');
    assert.deepEqual(summary.map((l) => [l['route'], l['statusCode'], l['count']]).sort(), [
      ['/api/v1/incidents', 201, 2], ['/api/v1/ingest/splunk', 201, 1],
    ]);
    for (const l of summary) assert.equal(typeof l['maxResponseTime'], 'number');
    assert.equal(JSON.stringify(s.lines).includes(SPLUNK), false, 'no token in the log');
  });

  it('at debug: every successful alert has its line too', async () => {
    const s = await server('debug');
    assert.equal((await s.postGeneric()).statusCode, 201);
    assert.equal((await s.postSplunk()).statusCode, 201);
    const each = completed(s.lines);
    assert.equal(each.length, 2);
    assert.match(JSON.stringify(each), /token=REDACTED/);
    await s.close();
    assert.equal(s.lines.some((l) => l['msg'] === 'requests answered'), false);
  });
});
