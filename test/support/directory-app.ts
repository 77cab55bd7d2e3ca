/**
 * A minimal directory app over HTTP for engine tests that cross a process boundary (the test's
 * directory server lives in the test process and survives the engine's `kill -9`), and the server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { defineApp, capabilities } from '../../src/sdk/index.js';
import { baseUrl, readJson, vendorFetch } from '../../src/apps/http.js';

export const testDirectoryApp = defineApp({
  id: 'test-directory',
  name: 'Test directory',
  vendor: 'Riposte tests',
  product: 'HTTP directory',
  version: '1.0.0',
  implements: ['directory'],
  config: z.object({ url: z.string() }),
  secrets: [],
  actions: (action) => ({
    getUser: action({
      description: 'directory capability',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: capabilities.directory.getUser.input,
      output: capabilities.directory.getUser.output,
      timeoutMs: 5_000,
      async handler(input, ctx) {
        const res = await vendorFetch(
          `${baseUrl(ctx.config.url)}/users/${encodeURIComponent(input.user)}`,
          { signal: ctx.signal },
          {
            vendor: 'test directory',
            describeError: (status) => ({ message: `HTTP ${status}` }),
          },
        );
        const user = await readJson<{ id: string; userName: string }>(res, 'test directory');
        return { found: true, user };
      },
    }),
  }),
});

export interface DirectoryServer {
  url: string;
  /** GET /users/<name> requests answered. */
  calls: number;
  close(): Promise<void>;
}

export async function startDirectoryServer(latencyMs: () => number): Promise<DirectoryServer> {
  const state = { calls: 0 };
  const server: Server = createServer((req, res) => {
    const m = /^\/users\/([^/]+)$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !m) {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => {
      state.calls++;
      const name = decodeURIComponent(m[1]!);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: `id-${name}`, userName: name }));
    }, latencyMs());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return state.calls;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
