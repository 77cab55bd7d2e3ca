/**
 * Asset configuration of the generic HTTP app: base URL, one kind of auth, TLS material, the
 * allow-list of hosts, the methods the asset declares read-only and the response size limit.
 * Everything is checked when the asset is saved (`riposte assets add`), with messages that name
 * the field and never quote a value (a value may be a secret).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { z } from 'zod';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

/** Default response body limit, and the most an asset may raise it to (outputs are journaled). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const HARD_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** `host`, `host:port`, `*.domain` or `*.domain:port`; IPv6 in brackets. */
const HOST_ENTRY = /^(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

function httpUrl(field: string) {
  return z.string().refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, `${field} must be an http(s) URL without credentials in it`);
}

/** A secret: long enough that masking it in outputs cannot mangle them. */
const secret = () => z.string().min(4, 'secrets are at least 4 characters (shorter ones could not be masked)');

const FRAMING = ['host', 'content-length', 'transfer-encoding', 'connection'];

export const httpConfig = z.object({
  baseUrl: httpUrl('baseUrl').describe('Requests with a relative url go under it, e.g. https://api.example.com/v2'),
  auth: z.enum(['none', 'basic', 'bearer', 'apiKey', 'oauth2']).default('none')
    .describe('none | basic (username, password) | bearer (token) | apiKey (apiKeyHeader, apiKey) | oauth2'),
  username: z.string().min(1).optional().describe('basic auth user'),
  password: secret().optional(),
  token: secret().optional().describe('bearer token'),
  apiKeyHeader: z.string().regex(TOKEN, 'apiKeyHeader must be a header name').optional()
    .describe('header that carries apiKey, e.g. X-API-Key'),
  apiKey: secret().optional(),
  tokenUrl: httpUrl('tokenUrl').optional().describe('OAuth2 token endpoint (client credentials grant)'),
  clientId: z.string().min(1).optional(),
  clientSecret: secret().optional(),
  scope: z.string().min(1).optional().describe('OAuth2 scope(s), space-separated'),
  tokenAuth: z.enum(['body', 'basic']).default('body')
    .describe('how the client authenticates to tokenUrl: form fields or HTTP Basic'),
  caPem: z.string().min(1).optional().describe("PEM CA bundle trusted in addition to Node's default CAs"),
  clientCertPem: z.string().min(1).optional().describe('PEM client certificate (mutual TLS), with clientKeyPem'),
  clientKeyPem: z.string().min(1).optional(),
  tlsInsecureSkipVerify: z.boolean().default(false)
    .describe('INSECURE: accept any server certificate (anyone on the path can read and change the traffic)'),
  allowedHosts: z.array(z.string().regex(HOST_ENTRY, 'allowedHosts entries are host, host:port or *.domain[:port]'))
    .min(1).optional()
    .describe("hosts requests and redirects may go to (default: the base URL's host and port)"),
  readOnlyMethods: z.array(z.enum(METHODS)).default(['GET'])
    .describe('methods that change nothing at this API (others are policy-gated); [] gates GET too'),
  maxResponseBytes: z.number().int().min(1).max(HARD_MAX_RESPONSE_BYTES).default(DEFAULT_MAX_RESPONSE_BYTES)
    .describe(`response body limit in bytes (at most ${HARD_MAX_RESPONSE_BYTES})`),
}).superRefine((c, ctx) => {
  const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  const need = (fields: Array<keyof typeof c>) => {
    for (const f of fields) if (c[f] === undefined) issue(f, `required with auth ${c.auth}`);
  };
  if (c.auth === 'basic') need(['username', 'password']);
  if (c.auth === 'bearer') need(['token']);
  if (c.auth === 'apiKey') need(['apiKeyHeader', 'apiKey']);
  if (c.auth === 'oauth2') need(['tokenUrl', 'clientId', 'clientSecret']);
  if (c.apiKeyHeader !== undefined && FRAMING.includes(c.apiKeyHeader.toLowerCase())) {
    issue('apiKeyHeader', 'apiKeyHeader cannot be a framing header');
  }
  if ((c.clientCertPem === undefined) !== (c.clientKeyPem === undefined)) {
    const missing = c.clientCertPem === undefined ? 'clientCertPem' : 'clientKeyPem';
    issue(missing, 'clientCertPem and clientKeyPem go together');
  }
  if (c.tlsInsecureSkipVerify && c.caPem !== undefined) {
    issue('tlsInsecureSkipVerify', 'tlsInsecureSkipVerify and caPem contradict each other: set one');
  }
  const tls = tlsProblem(c);
  if (tls !== null) issue(tls.field, tls.message);
});
export type HttpConfig = z.output<typeof httpConfig>;

/** The certificates of a PEM bundle (each must parse). */
export function pemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** A problem with the TLS material (parsed with node:crypto), or null. Messages quote nothing. */
function tlsProblem(
  c: Pick<HttpConfig, 'caPem' | 'clientCertPem' | 'clientKeyPem'>,
): { field: string; message: string } | null {
  if (c.caPem !== undefined) {
    const certs = pemCertificates(c.caPem);
    if (certs.length === 0) return { field: 'caPem', message: 'caPem holds no PEM certificate' };
    for (const [i, pem] of certs.entries()) {
      try {
        new X509Certificate(pem);
      } catch {
        return { field: 'caPem', message: `certificate ${i + 1} of caPem does not parse` };
      }
    }
  }
  if (c.clientCertPem !== undefined && c.clientKeyPem !== undefined) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(c.clientCertPem);
    } catch {
      return { field: 'clientCertPem', message: 'clientCertPem is not a PEM certificate' };
    }
    let matches: boolean;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(c.clientKeyPem));
    } catch {
      return { field: 'clientKeyPem', message: 'clientKeyPem is not an unencrypted PEM private key' };
    }
    if (!matches) return { field: 'clientKeyPem', message: 'clientKeyPem is not the key of clientCertPem' };
  }
  return null;
}

/** The read-only rule: GET by default; an asset lists its own (a method not listed is gated). */
export function isReadOnlyMethod(config: unknown, method: Method): boolean {
  const list = (config as { readOnlyMethods?: unknown } | null)?.readOnlyMethods;
  return Array.isArray(list) && list.includes(method);
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

/** The allow-list entries in effect: the configured ones, or the base URL's host and port. */
export function allowList(c: HttpConfig): string[] {
  if (c.allowedHosts !== undefined) return c.allowedHosts.map((h) => h.toLowerCase());
  const u = new URL(c.baseUrl);
  return [`${u.hostname}:${u.port || defaultPort(u.protocol)}`];
}

/**
 * Whether `u`'s host is on the allow-list: an entry with a port matches that port only; without,
 * any port; `*.example.com` matches its subdomains (not example.com itself).
 */
export function hostAllowed(list: readonly string[], u: URL): boolean {
  const host = u.hostname.toLowerCase();
  const port = u.port || defaultPort(u.protocol);
  return list.some((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const name = m[1]!;
    if (m[2] !== undefined && m[2] !== port) return false;
    return name.startsWith('*.') ? host.endsWith(name.slice(1)) && host.length > name.length - 1 : host === name;
  });
}

/** The host and port of a URL as shown in messages. */
export function hostOf(u: URL): string {
  return `${u.hostname}:${u.port || defaultPort(u.protocol)}`;
}
