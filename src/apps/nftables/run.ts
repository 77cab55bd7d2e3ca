/**
 * Runs the `nft` CLI, optionally inside a network namespace (`ip netns exec <ns> nft …`), with an
 * argument array (no shell) and the script on stdin, and maps its failures to the SDK error family.
 *
 * An `nft -f` batch is one kernel transaction: when nft reports an error nothing was applied. Only
 * a child killed mid-run (timeout or abort) leaves the outcome unknown.
 */
import { spawn } from 'node:child_process';
import { RetryableError, TerminalError } from '../../sdk/errors.js';

export interface NftRunConfig {
  netns?: string | undefined;
  nftPath: string;
  ipPath: string;
}

/** A failed nft run that reached nft itself (exit status ≠ 0), with its stderr. */
export class NftCommandError extends TerminalError {
  constructor(message: string, readonly stderr: string) {
    super(message, { applied: 'no', vendorCode: 'nft' });
  }
}

/** Stderr without the caret lines nft prints under the offending command; capped. */
export function cleanStderr(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '' && !/^[\s^~]+$/.test(l));
  const text = lines.join('\n').trim();
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** True when nft said the table, set, chain or element does not exist. */
export function isNoSuchObject(err: unknown): boolean {
  return err instanceof NftCommandError && /No such file or directory/.test(err.stderr);
}

function where(cfg: NftRunConfig): string {
  return cfg.netns === undefined ? '' : ` in network namespace ${cfg.netns}`;
}

/** Classifies a non-zero exit of nft (or of `ip netns exec`). */
function failure(cfg: NftRunConfig, code: number | null, stderr: string): Error {
  const text = cleanStderr(stderr);
  const exec = /exec of "([^"]*)" failed: (.*)/.exec(text);
  if (exec) {
    if (/No such file/.test(exec[2]!)) {
      return new TerminalError(`nftables: ${exec[1]} not found${where(cfg)}; install the Debian package nftables`, { applied: 'no' });
    }
    return new TerminalError(`nftables: cannot execute ${exec[1]}${where(cfg)}: ${exec[2]}`, { applied: 'no' });
  }
  const ns = /Cannot open network namespace "([^"]*)": (.*)/.exec(text);
  if (ns && /No such file/.test(ns[2]!)) {
    return new TerminalError(`nftables: network namespace ${ns[1]} does not exist`, { applied: 'no' });
  }
  if (/Operation not permitted|Permission denied|you must be root/.test(text)) {
    return new TerminalError(`nftables: needs CAP_NET_ADMIN (run as root)${where(cfg)}: ${text}`, { applied: 'no' });
  }
  // The ruleset changed under the transaction (generation bump) or the kernel was busy.
  if (/Interrupted system call|Resource temporarily unavailable/.test(text)) {
    return new RetryableError(`nftables: transient failure${where(cfg)}: ${text}`, { applied: 'no', retryAfterMs: 200 });
  }
  return new NftCommandError(`nftables${where(cfg)}: ${text || `nft exited with status ${code ?? '?'}`}`, stderr);
}

/**
 * Runs `nft <args>` and resolves with its stdout. `stdin` is written to nft's standard input
 * (used with `-f -`). Throws TerminalError / RetryableError as described above.
 */
export function runNft(cfg: NftRunConfig, args: string[], opts: { signal: AbortSignal; stdin?: string }): Promise<string> {
  const [cmd, argv] = cfg.netns === undefined
    ? [cfg.nftPath, args]
    : [cfg.ipPath, ['netns', 'exec', cfg.netns, cfg.nftPath, ...args]];
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) {
      reject(new RetryableError('nftables: aborted before nft was started', { applied: 'no' }));
      return;
    }
    const child = spawn(cmd, argv, { signal: opts.signal, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError ??= e;
    });
    // EPIPE when nft exits before reading its input: the exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (spawnError?.code === 'ENOENT') {
        reject(cfg.netns === undefined
          ? new TerminalError(`nftables: ${cfg.nftPath} not found; install the Debian package nftables`, { applied: 'no' })
          : new TerminalError(`nftables: ${cfg.ipPath} not found (needed for network namespaces); install the Debian package iproute2`, { applied: 'no' }));
        return;
      }
      if (spawnError?.code === 'EACCES') {
        reject(new TerminalError(`nftables: cannot execute ${cmd}: permission denied`, { applied: 'no' }));
        return;
      }
      if (signal !== null || spawnError?.name === 'AbortError') {
        const why = opts.signal.aborted ? 'timed out or was aborted' : `was killed by ${signal ?? 'a signal'}`;
        reject(new RetryableError(`nftables: nft ${why}${where(cfg)}; the change may or may not have been applied`, { applied: 'unknown' }));
        return;
      }
      if (spawnError !== undefined) {
        reject(new TerminalError(`nftables: could not run ${cmd}: ${spawnError.message}`, { applied: 'no' }));
        return;
      }
      if (code !== 0) {
        reject(failure(cfg, code, stderr));
        return;
      }
      resolve(Buffer.concat(out).toString('utf8'));
    });
  });
}
