/**
 * HTTP client for CLI commands that act as a person (approve, deny, answer, flip the kill switch):
 * they go through the API with that person's token, so the server applies roles, four-eyes and
 * audit exactly as for any other caller. Token: --token, $RIPOSTE_TOKEN, or the bootstrap admin
 * token in <data dir>/credentials.json. URL: --url, $RIPOSTE_URL, or http://127.0.0.1:8080.
 */
import type { Command } from 'commander';
import { readCredentials } from '../server/credentials.js';
import { CliError, dataDirOf } from './open-store.js';

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

export function addApiOptions(cmd: Command): Command {
  return cmd.option('--url <url>', 'server URL (default: $RIPOSTE_URL or http://127.0.0.1:8080)').option('--token <token>', 'your API token (default: $RIPOSTE_TOKEN or the bootstrap admin token)');
}

/** The server's base URL: `--url`, else $RIPOSTE_URL (when not empty), else http://127.0.0.1:8080. */
export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (flag ?? (env['RIPOSTE_URL'] || undefined) ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

export function apiClient(cmd: Command): ApiClient {
  const opts = cmd.optsWithGlobals() as { url?: string; token?: string };
  const url = serverUrl(opts.url);
  const token = opts.token ?? process.env.RIPOSTE_TOKEN ?? readCredentials(dataDirOf(cmd))?.adminToken;
  if (!token) throw new CliError('no API token: pass --token, set RIPOSTE_TOKEN, or run on the server machine (credentials.json)');
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'x-riposte-client': 'cli', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new CliError(`cannot reach Riposte at ${url}: ${(err as Error).message} (is \`riposte serve\` running?)`);
    }
    const text = await res.text();
    const json = text === '' ? {} : (JSON.parse(text) as { error?: { message?: string; code?: string } });
    if (!res.ok) throw new CliError(`${json.error?.message ?? `HTTP ${res.status}`}${json.error?.code ? ` [${json.error.code}]` : ''}`);
    return json as T;
  };
  return { get: (p) => call('GET', p), send: (m, p, b) => call(m, p, b) };
}
