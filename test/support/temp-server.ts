/**
 * A real Riposte server (src/server/server.ts) on a new temporary data folder: free ports, warnings
 * only, the environment ignored. Its `stop()` stops the server and then removes the folder, also
 * when stopping failed; `await using` calls it. If the server does not start, the folder goes too.
 */
import type { ServeConfig } from '../../src/config.js';
import { serveConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { tempDir } from './temp-store.js';

export interface TempServer extends RunningServer, AsyncDisposable {
  /** The server's data folder (for a CLI run against it: RIPOSTE_DATA_DIR). */
  readonly dataDir: string;
}

export async function startTempServer(prefix: string, flags: Partial<ServeConfig> = {}): Promise<TempServer> {
  const tmp = tempDir(prefix);
  let srv: RunningServer;
  try {
    srv = await startServer(serveConfig({ dataDir: tmp.dir, port: 0, labPort: 0, logLevel: 'warn', ...flags }, {}));
  } catch (err) {
    tmp.remove();
    throw err;
  }
  const stopServer = srv.stop.bind(srv);
  const stop = async (): Promise<void> => {
    try {
      await stopServer();
    } finally {
      tmp.remove();
    }
  };
  return Object.assign(srv, { dataDir: tmp.dir, stop, [Symbol.asyncDispose]: stop });
}
