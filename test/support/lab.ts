/** The lab a test server was started with (`lab: true`), with its simulators typed. */
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/server.js';
import { Lab } from '../../lab/index.js';

export function labOf(srv: RunningServer): Lab {
  // The server loaded lab/index.js by URL: the same module instance as this import, so instanceof holds.
  assert.ok(srv.lab instanceof Lab, 'the server was started without the lab (serveConfig lab: true)');
  return srv.lab;
}
