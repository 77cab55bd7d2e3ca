/**
 * `riposte demo` finds the server as the other API commands do: `--url`, else $RIPOSTE_URL, else
 * http://127.0.0.1:8080. Checked against a real server on a random port (never 8080).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { cliAsync, startCliServer } from './fixture.js';

/** A loopback URL where nothing listens: a port the OS handed out, then closed. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

describe('riposte demo: server URL', () => {
  let srv: Awaited<ReturnType<typeof startCliServer>>;
  let dead: string;
  before(async () => {
    srv = await startCliServer();
    dead = await deadUrl();
  });
  after(async () => { await srv.stop(); });

  it('sends the alert to $RIPOSTE_URL when --url is not given', async () => {
    const r = await cliAsync(srv.dataDir, { RIPOSTE_URL: `${srv.server.url}/` }, 'demo', '--no-wait');
    assert.equal(r.code, 0, r.stderr);
    const sid = /^Sent Splunk alert sid (\S+):/m.exec(r.stdout)?.[1];
    const id = Number(/^Incident #(\d+) created/m.exec(r.stdout)?.[1]);
    assert.ok(sid && id > 0, r.stdout);
    const incident = await srv.server.store.getIncident(id);
    assert.equal(incident?.sourceId, sid, 'the server behind $RIPOSTE_URL got the alert');
  });

  it('--url wins over $RIPOSTE_URL', async () => {
    const good = await cliAsync(srv.dataDir, { RIPOSTE_URL: dead }, 'demo', '--no-wait', '--url', srv.server.url);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^Incident #\d+ created/m);
    const bad = await cliAsync(srv.dataDir, { RIPOSTE_URL: srv.server.url }, 'demo', '--no-wait', '--url', dead);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`^error: cannot reach Riposte at ${dead.replace(/\./g, '\\.')} `));
  });
});
