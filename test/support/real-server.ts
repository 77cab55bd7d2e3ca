/**
 * Real-server suites (OpenLDAP, nftables, Request Tracker, SMTP) need programs from Debian
 * packages. `npm test` installs them (as root) and starts the servers (scripts/test.mjs); where
 * they are missing the suite FAILS (never skips) with a message naming the package to install.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Requirement {
  /** Program looked up on PATH or an absolute path. */
  program: string;
  /** Debian package(s) that provide it. */
  packages: string;
}

function onPath(program: string): boolean {
  if (program.startsWith('/')) return existsSync(program);
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Throws a clear error naming what is missing and how to install it. */
export function requirePrograms(suite: string, reqs: Requirement[]): void {
  const missing = reqs.filter((r) => !onPath(r.program));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.flatMap((m) => m.packages.split(/\s+/)))].join(' ');
  throw new Error(
    `${suite} needs ${missing.map((m) => m.program).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed. ` +
    `Install with: sudo apt-get install -y ${pkgs}   (or run scripts/services/install.sh as root; ` +
    'npm test does this itself when it runs as root)',
  );
}

/** Throws unless running as root (network namespaces and nftables need it). */
export function requireRoot(suite: string): void {
  if (process.getuid && process.getuid() !== 0) {
    throw new Error(`${suite} needs root (it creates network namespaces and nftables rules); run it as root or in CI`);
  }
}
