/**
 * `<dataDir>/server.pid`: which process serves this data directory, so that maintenance that must
 * not run beside a server (a master key rotation: the server keeps its keys in memory) can refuse.
 * Advisory: a crashed server leaves the file behind, and a dead pid in it counts as no server.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SERVER_PID_FILE = 'server.pid';

/** Writes this process's pid; the returned function removes the file if it is still ours. */
export function writeServerPid(dataDir: string): () => void {
  const path = join(dataDir, SERVER_PID_FILE);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return () => {
    if (liveServerPid(dataDir) === process.pid) rmSync(path, { force: true });
  };
}

/** The pid of a live process recorded as serving `dataDir`, or null. */
export function liveServerPid(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, SERVER_PID_FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
