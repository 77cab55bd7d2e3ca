/**
 * HTTP calls of the end-to-end tests to a running server: its JSON API as a given token, and
 * Splunk's alert webhook as Splunk calls it.
 */
import type { RunningServer } from '../../src/server/server.js';

/** A reply's status and parsed JSON body (null when the body is empty). */
export interface JsonReply {
  status: number;
  /** Any route's answer: the tests read its fields as they assert them. */
  json: any;
}

/** Calls `/api/v1<path>` as `token` (null: without an Authorization header). */
export async function callApi(
  srv: Pick<RunningServer, 'url'>,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<JsonReply> {
  const res = await fetch(`${srv.url}/api/v1${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Posts a Splunk alert to the server's Splunk webhook with the server's own Splunk token. */
export async function postSplunkAlert(
  srv: Pick<RunningServer, 'url' | 'credentials'>,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const res = await fetch(`${srv.url}/api/v1/ingest/splunk?token=${srv.credentials.splunkToken}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** The body Splunk sends for an alert of the founding search (which the lab maps to its playbook). */
export function foundingSearchAlert(sid: string, result: Record<string, string>, resultsLink = ''): Record<string, unknown> {
  return {
    sid, search_name: 'Mobile device reached unauthorized IP', app: 'search', owner: 'admin', results_link: resultsLink, result,
  };
}
