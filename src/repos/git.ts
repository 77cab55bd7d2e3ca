/**
 * The Git operations a repository sync needs, by running Debian's `git` (the one client that speaks
 * every transport an operator may use: file://, git://, ssh, https). Each repository is kept as a
 * bare mirror under the data directory; a commit is exported with `git archive` into a fresh
 * directory, so no checkout, hook or configuration of the repository ever runs here.
 *
 * Safety: arguments are passed as an array (no shell); a URL or ref starting with `-` is refused
 * (option injection); transports are limited by GIT_ALLOW_PROTOCOL (no `ext::`, which runs a
 * command); git never prompts (GIT_TERMINAL_PROMPT=0) and every call has a time limit. The URL is
 * never logged with credentials: `redactUrl` strips them from messages.
 *
 * Failure semantics: every function throws GitError with git's own message (redacted); nothing is
 * left half-written that the next sync would trust (a failed clone removes its directory).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

const ALLOWED_PROTOCOLS = 'file:git:http:https:ssh';
const TIMEOUT_MS = 120_000;

/** user:password@ or token@ in a URL never reaches a message, a log or an API answer. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

export function validateGitUrl(url: string): void {
  if (typeof url !== 'string' || url.length === 0 || url.length > 2000) throw new GitError('the repository URL must be 1-2000 characters');
  if (url.startsWith('-')) throw new GitError(`repository URL "${redactUrl(url)}" may not start with "-"`);
  if (/[\0\r\n]/.test(url)) throw new GitError('the repository URL contains a control character');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const scpLike = /^[^/:]+@[^/:]+:/.test(url); // git@host:org/repo.git (ssh)
  if (scheme === undefined && !scpLike) {
    throw new GitError(`repository URL "${redactUrl(url)}" must be file://, git://, ssh://, https:// or user@host:path`);
  }
  if (scheme !== undefined && !ALLOWED_PROTOCOLS.split(':').includes(scheme)) {
    throw new GitError(`repository URL scheme "${scheme}" is not allowed (allowed: ${ALLOWED_PROTOCOLS.split(':').join(', ')})`);
  }
}

export function validateRef(ref: string): void {
  if (typeof ref !== 'string' || !/^[A-Za-z0-9._/-]{1,200}$/.test(ref) || ref.startsWith('-') || ref.includes('..')) {
    throw new GitError(`ref "${String(ref).slice(0, 200)}" is not a branch or tag name`);
  }
}

function gitEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    // ssh: never ask; a host key must be known already.
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
  };
}

function git(args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: gitEnv(), timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n').filter((l) => l !== '').slice(-3).join(' / ');
        reject(new GitError(redactUrl(why || `git ${args[0]} failed`)));
      } else resolve(stdout);
    });
  });
}

/** Clones (first time) or fetches the repository into a bare mirror at `dir`. */
export async function fetchMirror(url: string, dir: string): Promise<void> {
  validateGitUrl(url);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    try {
      await git(['clone', '--bare', '--quiet', '--no-recurse-submodules', '--', url, dir]);
      // The mirror's configuration would keep the URL with its credentials: every fetch names the URL instead.
      await git(['--git-dir', dir, 'remote', 'remove', 'origin']);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return;
  }
  await git(['--git-dir', dir, 'fetch', '--quiet', '--prune', '--force', '--', url,
    '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', '+HEAD:refs/remotes/origin/HEAD']);
}

/** The commit a ref points at in the mirror (null ref: the remote's default branch). */
export async function resolveCommit(dir: string, ref: string | null): Promise<string> {
  if (ref !== null) validateRef(ref);
  const candidates = ref === null ? ['refs/remotes/origin/HEAD', 'HEAD'] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  for (const c of candidates) {
    try {
      return (await git(['--git-dir', dir, 'rev-parse', '--verify', '--quiet', `${c}^{commit}`])).trim();
    } catch {
      // try the next
    }
  }
  throw new GitError(ref === null ? 'the repository has no default branch (is it empty?)' : `no branch or tag "${ref}" in the repository`);
}

/** Writes the files of `commit` into the empty directory `dest` (git archive | tar -x). */
export function exportCommit(dir: string, commit: string, dest: string): Promise<void> {
  if (!/^[0-9a-f]{40,64}$/.test(commit)) return Promise.reject(new GitError(`"${commit}" is not a commit id`));
  mkdirSync(dest, { recursive: true });
  return new Promise((resolve, reject) => {
    const archive = spawn('git', ['--git-dir', dir, 'archive', '--format=tar', commit], { env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    // --no-same-owner/permissions: files belong to us; tar refuses absolute paths and `..` by default.
    const tar = spawn('tar', ['-x', '--no-same-owner', '--no-same-permissions', '-C', dest], { stdio: ['pipe', 'ignore', 'pipe'] });
    archive.stdout.pipe(tar.stdin);
    let errors = '';
    archive.stderr.on('data', (d: Buffer) => { errors += d.toString(); });
    tar.stderr.on('data', (d: Buffer) => { errors += d.toString(); });
    const timer = setTimeout(() => { archive.kill(); tar.kill(); }, TIMEOUT_MS);
    let pending = 2;
    let failed = false;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        clearTimeout(timer);
        reject(new GitError(`${what} failed: ${errors.trim().slice(0, 500) || `exit ${code}`}`));
      }
      if (--pending === 0 && !failed) {
        clearTimeout(timer);
        resolve();
      }
    };
    archive.on('close', done('git archive'));
    tar.on('close', done('tar'));
    archive.on('error', (e) => { if (!failed) { failed = true; clearTimeout(timer); reject(new GitError(e.message)); } });
    tar.on('error', (e) => { if (!failed) { failed = true; clearTimeout(timer); reject(new GitError(e.message)); } });
  });
}

/** One entry of a commit's tree: mode (`100644`, `120000` symlink, `160000` submodule), size, path. */
export interface TreeEntry {
  mode: string;
  size: number;
  path: string;
}

/** Every file of `commit`, with its size, without exporting anything (`git ls-tree -r -l -z`). */
export async function listTree(dir: string, commit: string): Promise<TreeEntry[]> {
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new GitError(`"${commit}" is not a commit id`);
  const out = await git(['--git-dir', dir, 'ls-tree', '-r', '-l', '-z', '--full-tree', commit]);
  return out.split('\0').filter((l) => l !== '').map((line) => {
    const tab = line.indexOf('\t');
    const [mode, , , size] = line.slice(0, tab).split(/\s+/);
    return { mode: mode!, size: size === '-' ? 0 : Number(size), path: line.slice(tab + 1) };
  });
}
