/**
 * What a playbook repository's Git URL may be, and where its credentials go. Pure functions, no
 * side effects: `parseGitUrl` either returns the URL without its credentials plus the credentials,
 * or throws a GitUrlError naming what is wrong — never with the secret in the message.
 *
 * Rules (each closes a way a secret leaked or a command ran):
 *   - schemes file://, git://, ssh://, http(s):// or scp-like user@host:path; nothing starting with
 *     `-` (option injection), no control characters;
 *   - credentials (user:password, or a token as the user) only in http(s) URLs, parsed with WHATWG
 *     `URL` (the last `@` of the authority ends them; percent-escapes decoded); ssh may name a user
 *     but no password (use a key); git:// and file:// carry none;
 *   - no query string or fragment (`?private_token=…` would be stored and shown in clear).
 */

export class GitUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitUrlError';
  }
}

export interface GitCredentials {
  username: string;
  password: string;
}

export interface ParsedGitUrl {
  /** The URL git fetches and Riposte shows: no credentials in it. */
  url: string;
  credentials: GitCredentials | null;
}

export const ALLOWED_SCHEMES = ['file', 'git', 'http', 'https', 'ssh'] as const;
const HTTP_SCHEMES = new Set(['http', 'https']);

/** `user:token` (as given to `--credentials-env`) → credentials; the user part may not be empty. */
export function parseCredentials(text: string): GitCredentials {
  const colon = text.indexOf(':');
  if (colon <= 0) {
    throw new GitUrlError('credentials must look like user:token (a user name, a colon, the password or token)');
  }
  if (/[\0-\x1f\x7f]/.test(text)) throw new GitUrlError('the credentials contain a control character');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The form the store keeps (encrypted) and `parseCredentials` reads back. */
export const formatCredentials = (c: GitCredentials): string => `${c.username}:${c.password}`;

/** The URL's scheme, or undefined for the scp-like ssh form (user@host:path). */
function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
}

/**
 * Validates a repository URL and splits its credentials off. `extra` are credentials given apart
 * (`--credentials-env`): allowed for http(s) only and not together with credentials in the URL.
 */
export function parseGitUrl(url: string, extra: GitCredentials | null = null): ParsedGitUrl {
  if (typeof url !== 'string' || url.length === 0 || url.length > 2000) {
    throw new GitUrlError('the repository URL must be 1-2000 characters');
  }
  if (url.startsWith('-')) throw new GitUrlError('the repository URL may not start with "-"');
  if (/[\0-\x1f\x7f]/.test(url)) throw new GitUrlError('the repository URL contains a control character');
  // Said before anything else: the query or fragment may be the very token we must not echo.
  if (url.includes('?') || url.includes('#')) {
    throw new GitUrlError('the repository URL may not have a query string or fragment (a token there would be '
      + 'stored and shown): use https://user:token@host/… or --credentials-env');
  }
  const scheme = schemeOf(url);
  const scpLike = scheme === undefined && /^[^/:@]+@[^/:]+:/.test(url); // git@host:org/repo.git (ssh)
  if (scheme === undefined && !scpLike) {
    // The URL itself is not echoed: `u:p@host:path` is not a URL, so no redaction would find its password.
    throw new GitUrlError('the repository URL must be file://, git://, ssh://, https://, http:// or user@host:path');
  }
  if (scheme !== undefined && !(ALLOWED_SCHEMES as readonly string[]).includes(scheme)) {
    throw new GitUrlError(`repository URL scheme "${scheme}" is not allowed (allowed: ${ALLOWED_SCHEMES.join(', ')})`);
  }
  if (scheme !== undefined && HTTP_SCHEMES.has(scheme)) return splitHttp(url, extra);
  if (extra !== null) {
    throw new GitUrlError(
      `credentials can only be given for http:// or https:// URLs (not ${scheme ?? 'ssh'}): ssh uses a key`,
    );
  }
  if (scheme !== undefined) {
    const authority = url.slice(scheme.length + 3).split('/')[0]!;
    const at = authority.lastIndexOf('@');
    if (at >= 0 && scheme !== 'ssh') {
      throw new GitUrlError(`a ${scheme}:// URL carries no user or password: remove the part before "@"`);
    }
    if (at >= 0 && authority.slice(0, at).includes(':')) {
      throw new GitUrlError('an ssh URL may name a user but no password: use an ssh key (ssh://user@host/…)');
    }
  }
  return { url, credentials: null };
}

function splitHttp(url: string, extra: GitCredentials | null): ParsedGitUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = url.slice(0, url.indexOf(':'));
    throw new GitUrlError(`the ${scheme}:// repository URL is not valid (write a "/" in a password as %2F)`);
  }
  let credentials: GitCredentials | null = null;
  if (parsed.username !== '' || parsed.password !== '') {
    try {
      credentials = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
    } catch {
      throw new GitUrlError('the credentials in the repository URL are not valid percent-encoding');
    }
    if (credentials.username === '') {
      throw new GitUrlError('the credentials in the repository URL have no user name (use user:token@)');
    }
    // Decoded control characters would break the Authorization header git sends (header injection).
    if (/[\0-\x1f\x7f]/.test(formatCredentials(credentials))) {
      throw new GitUrlError('the credentials in the repository URL contain a control character');
    }
    // HTTP Basic cannot carry a colon in the user name (RFC 7617).
    if (credentials.username.includes(':')) {
      throw new GitUrlError('the user name in the repository URL may not contain ":"');
    }
    if (extra !== null) {
      throw new GitUrlError('give the credentials either in the URL or apart (--credentials-env), not both');
    }
    parsed.username = '';
    parsed.password = '';
  }
  return { url: parsed.href, credentials: credentials ?? extra };
}

/** user:password@ or token@ in a URL never reaches a message: everything up to the authority's last `@`. */
export function redactUrlText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/gi, '$1***@');
}

/** Every form in which the credentials could appear in a message git prints. */
export function secretForms(c: GitCredentials | null): string[] {
  if (c === null) return [];
  const pair = formatCredentials(c);
  const forms = [pair, Buffer.from(pair).toString('base64'), encodeURIComponent(c.password), c.password];
  // A token given as the user name (https://TOKEN@host) is the secret itself.
  if (c.password === '') forms.push(c.username, encodeURIComponent(c.username));
  return [...new Set(forms.filter((f) => f.length > 0))].sort((a, b) => b.length - a.length);
}

/** Replaces every form of the credentials, and any URL userinfo, in a message. */
export function redactSecrets(text: string, c: GitCredentials | null): string {
  let out = text;
  for (const form of secretForms(c)) out = out.split(form).join('***');
  return redactUrlText(out);
}
