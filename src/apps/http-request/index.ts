/**
 * Generic HTTP app (Splunk SOAR's "HTTP" app, n8n's HTTP Request node): a playbook calls an
 * arbitrary REST API through an asset that holds its base URL, credentials, TLS material and the
 * hosts it may reach. Requests, redirects, auth, limits and secret masking: ./client.ts.
 *
 * What counts as changing: GET is read-only, every other method is changing (policy-gated,
 * journaled as an intent before it is sent, audited) — unless the asset lists the method in
 * `readOnlyMethods` (a POST to a search API). An asset may also take GET out of that list, which
 * gates GET too. The engine asks each action's `readOnlyFor` per asset (src/sdk/app.ts).
 *
 * Changing requests are of kind `correct`: under the `supervised` automation level each waits
 * for an approval (the API is arbitrary, so the strongest kind is assumed). POST and PATCH are not
 * idempotent and have no reconcile: an outcome lost to a timeout parks the run for a human
 * instead of sending twice; PUT and DELETE are idempotent (RFC 9110) and are sent again.
 *
 * Statuses: 2xx (and 3xx not followed) are returned; other statuses are errors classified as the
 * shared client does (4xx terminal, 429/503 retried, other 5xx retried or, for a non-idempotent
 * request, parked as unknown), so a failed call shows as a failed step. A playbook that expects a
 * 4xx as an answer (404 "no such user") lists it in `acceptStatus` and gets it as data.
 */
import { defineApp, type ActionContext } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { httpRequest, type HttpCall } from './client.js';
import { httpConfig, isReadOnlyMethod, type HttpConfig, type Method } from './config.js';

const { input: withoutBody, output } = capabilities.http.get;
const withBody = capabilities.http.post.input;

function handlerFor(method: Method) {
  return (input: Omit<HttpCall, 'method'>, ctx: ActionContext<HttpConfig>) =>
    httpRequest(ctx.config, { ...input, method }, ctx.signal, isReadOnlyMethod(ctx.config, method));
}

const readOnlyFor = (method: Method) => (config: HttpConfig) => isReadOnlyMethod(config, method);

export const httpApp = defineApp({
  id: 'http',
  name: 'HTTP',
  vendor: 'Riposte',
  product: 'Any HTTP/REST API',
  version: '1.0.0',
  description:
    'Calls any REST API: GET, POST, PUT, PATCH, DELETE with JSON or form bodies, on the hosts its asset allows.',
  config: httpConfig,
  implements: ['http'],
  secrets: ['password', 'token', 'apiKey', 'clientSecret', 'clientKeyPem'],

  actions: (action) => ({
    get: action({
      description: 'GET a resource. Read-only unless the asset leaves GET out of readOnlyMethods.',
      kind: 'investigate', readOnly: true, idempotent: true, readOnlyFor: readOnlyFor('GET'),
      egress: true,
      input: withoutBody, output, handler: handlerFor('GET'),
    }),
    post: action({
      description:
        'POST to a resource. Changing (policy-gated) unless the asset lists POST in readOnlyMethods; never sent twice.',
      kind: 'correct', readOnly: false, idempotent: false, readOnlyFor: readOnlyFor('POST'),
      egress: true,
      input: withBody, output, handler: handlerFor('POST'),
    }),
    put: action({
      description: 'PUT a resource (replace). Changing (policy-gated) unless the asset lists PUT in readOnlyMethods.',
      kind: 'correct', readOnly: false, idempotent: true, readOnlyFor: readOnlyFor('PUT'),
      egress: true,
      input: withBody, output, handler: handlerFor('PUT'),
    }),
    patch: action({
      description:
        'PATCH a resource. Changing (policy-gated) unless the asset lists PATCH in readOnlyMethods; never sent twice.',
      kind: 'correct', readOnly: false, idempotent: false, readOnlyFor: readOnlyFor('PATCH'),
      egress: true,
      input: withBody, output, handler: handlerFor('PATCH'),
    }),
    delete: action({
      description: 'DELETE a resource. Changing (policy-gated) unless the asset lists DELETE in readOnlyMethods.',
      kind: 'correct', readOnly: false, idempotent: true, readOnlyFor: readOnlyFor('DELETE'),
      egress: true,
      input: withBody, output, handler: handlerFor('DELETE'),
    }),
  }),

  /** GETs the base URL with the asset's credentials: any answer but 401, 403 or 5xx means reachable and accepted. */
  async testConnectivity(ctx: ActionContext<HttpConfig>) {
    const accept = Array.from({ length: 100 }, (_, i) => 400 + i).filter((s) => s !== 401 && s !== 403 && s !== 429);
    const res = await httpRequest(ctx.config, { method: 'GET', url: '', acceptStatus: accept }, ctx.signal, true);
    const warn = ctx.config.tlsInsecureSkipVerify
      ? '; WARNING: tlsInsecureSkipVerify is on, the server certificate is not checked' : '';
    const detail = `GET ${new URL(res.url).pathname} answered HTTP ${res.status} (auth ${ctx.config.auth})${warn}`;
    return { ok: true as const, detail };
  },
});
