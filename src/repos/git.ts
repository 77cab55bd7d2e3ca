/**
 * The Git operations a repository sync needs, by running Debian's `git` (the one client that speaks
 * every transport an operator may use: file://, git://, ssh, https). Each repository is kept as a
 * bare mirror under the data directory; a commit is exported with `git archive` into a fresh
 * directory, so no checkout, hook or configuration of the repository ever runs here.
 *
 * Safety: arguments are passed as an array (no shell); a URL or ref starting with `-` is refused
 * (option injection); transports are limited by GIT_ALLOW_PROTOCOL (no `ext::`, which runs a
 * command); git never prompts (GIT_TERMINAL_PROMPT=0), reads no user or system configuration
 * (GIT_CONFIG_GLOBAL=/dev/null, GIT_CONFIG_NOSYSTEM: no insteadOf, no credential helper) and every
 * call has a time limit. Credentials (http(s) only, see git-url.ts) never go on a command line,
 * where ps and /proc/<pid>/cmdline show them, nor into the mirror's configuration: git fetches the
 * bare URL and gets them as an `Authorization` header through its environment (GIT_CONFIG_COUNT),
 * which only our own user can read; with credentials, redirects are not followed (the header
 * would go to the other host). Every message git prints has the credentials, in each form they
 * could take, and any URL userinfo replaced by `***`.
 *
 * Failure semantics: every function throws GitError with git's own message (redacted); nothing is
 * left half-written that the next sync would trust (a failed clone removes its directory).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import {
  ALLOWED_SCHEMES, type GitCredentials, type ParsedGitUrl,
  formatCredentials, parseCredentials, parseGitUrl, redactSecrets,
} from './git-url.js';

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

const ALLOWED_PROTOCOLS = ALLOWED_SCHEMES.join(':');
const TIMEOUT_MS = 120_000;

/**
 * user:password@ or token@ in a URL (up to the authority's last `@`), and the given credentials in
 * every form, never reach a message, a log or an API answer.
 */
export function redactUrl(text: string, credentials: GitCredentials | null = null): string {
  return redactSecrets(text, credentials);
}

/**
 * Checks a repository URL (git-url.ts) and splits its credentials off. Credentials, given apart
 * (`extra`) or returned, are in the form the store keeps: `user:password`.
 */
export function validateGitUrl(url: string, extra: string | null = null): { url: string; credentials: string | null } {
  const parsed = parseUrl(url, extra);
  return { url: parsed.url, credentials: parsed.credentials === null ? null : formatCredentials(parsed.credentials) };
}

function parseUrl(url: string, extra: string | null): ParsedGitUrl {
  try {
    return parseGitUrl(url, extra === null ? null : parseCredentials(extra));
  } catch (err) {
    throw new GitError((err as Error).message);
  }
}

export function validateRef(ref: string): void {
  if (typeof ref !== 'string' || !/^[A-Za-z0-9._/-]{1,200}$/.test(ref) || ref.startsWith('-') || ref.includes('..')) {
    throw new GitError(`ref "${String(ref).slice(0, 200)}" is not a branch or tag name`);
  }
}

function gitEnv(credentials: GitCredentials | null = null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    // HOME stays: ssh reads its keys and known_hosts there. Git's own ~/.gitconfig does not apply.
    HOME: process.env['HOME'] ?? '/tmp',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS,
    GIT_TERMINAL_PROMPT: '0',
    // ssh: never ask; a host key must be known already.
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
  };
  if (credentials !== null) {
    const basic = Buffer.from(formatCredentials(credentials)).toString('base64');
    Object.assign(env, {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      GIT_CONFIG_KEY_1: 'http.followRedirects',
      GIT_CONFIG_VALUE_1: 'false',
    });
  }
  return env;
}

function git(args: string[], cwd?: string, credentials: GitCredentials | null = null): Promise<string> {
  return new Promise((resolve, reject) => {
    const opts = { cwd, env: gitEnv(credentials), timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 };
    execFile('git', args, opts, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n').filter((l) => l !== '').slice(-3).join(' / ');
        reject(new GitError(redactUrl(why || `git ${args[0]} failed`, credentials)));
      } else resolve(stdout);
    });
  });
}

/**
 * Clones (first time) or fetches the repository into a bare mirror at `dir`. `url` must hold no
 * credentials (the store keeps them apart); `credentials` travel in git's environment only.
 */
export async function fetchMirror(url: string, dir: string, credentials: string | null = null): Promise<void> {
  const parsed = parseUrl(url, credentials);
  // A URL with credentials in it would put them on git's command line.
  if (credentials === null && parsed.credentials !== null) {
    throw new GitError('fetchMirror takes the URL without its credentials');
  }
  const creds = parsed.credentials;
  url = parsed.url;
  // Git answers a 401 by asking for a user name, which it may not: say what really happened.
  const explain = (err: unknown): unknown => {
    if (!(err instanceof GitError) || !/could not read (Username|Password)/.test(err.message)) return err;
    return new GitError(`${url}: the server asks for credentials (HTTP 401) and ${creds === null
      ? 'none are set: give them with https://user:token@… or --credentials-env' : 'refused the ones set'}`);
  };
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    try {
      await git(['clone', '--bare', '--quiet', '--no-recurse-submodules', '--', url, dir], undefined, creds);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw explain(err);
    }
    return;
  }
  await git(['--git-dir', dir, 'fetch', '--quiet', '--prune', '--force', '--', url,
    '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', '+HEAD:refs/remotes/origin/HEAD'], undefined, creds)
    .catch((err: unknown) => { throw explain(err); });
}

/** The commit a ref points at in the mirror (null ref: the remote's default branch). */
/** The full id of a commit given by its (abbreviated) hexadecimal id, if the mirror has it. */
export async function resolveSha(dir: string, sha: string): Promise<string> {
  if (!/^[0-9a-f]{7,40}$/.test(sha)) throw new GitError(`"${sha}" is not a commit id`);
  try {
    return (await git(['--git-dir', dir, 'rev-parse', '--verify', '--quiet', `${sha}^{commit}`])).trim();
  } catch {
    throw new GitError(`no commit ${sha} in the repository`);
  }
}

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
