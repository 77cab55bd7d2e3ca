/**
 * The generic HTTP app (src/apps/http-request/) against real local HTTP servers: each auth kind,
 * OAuth2 token caching and the refresh on 401, JSON and form bodies, the allow-list for requests
 * and redirects, the response size limit, statuses, refused headers and that no secret of the
 * asset reaches an output or an error message. TLS: http-request-tls.test.ts; the read-only
 * rule through the engine's policy gate: http-request-policy.test.ts.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { httpApp } from '../../src/apps/http-request/index.js';
import { clearHttpTokenCache } from '../../src/apps/http-request/auth.js';
import { closeHttpAppConnections } from '../../src/apps/http-request/client.js';
import { HARD_MAX_RESPONSE_BYTES } from '../../src/apps/http-request/config.js';
import { closeVendorConnections } from '../../src/apps/http.js';
import { ActionError, RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { assetInput } from '../../src/cli/asset-input.js';
import { json, LocalServer, type SeenRequest } from '../support/local-http.js';
import { actionContext } from '../support/action-context.js';
import { rejects } from '../support/assert-errors.js';

const PASSWORD = 'pw-SECRET-51f0c2';
const TOKEN = 'bearer-SECRET-9a7e13';
const API_KEY = 'key-SECRET-2b8d44';
const CLIENT_SECRET = 'client-SECRET-c3e9f7';
const SECRETS = [PASSWORD, TOKEN, API_KEY, CLIENT_SECRET, Buffer.from(`svc:${PASSWORD}`).toString('base64')];

const { get, post, put, patch, delete: del } = httpApp.actions;
type Cfg = ReturnType<typeof httpApp.config.parse>;

const ctx = (config: Cfg) => actionContext(config, 'run-1:1', { timeoutMs: 5000 });

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `a secret appears in ${where}: ${text}`);
}

/** The action's output, checked to hold no secret. */
async function run<A extends typeof get | typeof post>(action: A, input: unknown, config: Cfg): Promise<{ status: number; url: string; headers: Record<string, string>; body: any }> {
  const out = await action.handler(action.input.parse(input) as never, ctx(config));
  assertNoSecret(JSON.stringify(out), 'an output');
  return action.output.parse(out) as never;
}

/** The action's error, checked to be an ActionError without any secret in its message. */
const failure = (p: Promise<unknown>): Promise<ActionError> => rejects(p, ActionError, { notInMessage: SECRETS });

const echo = (s: SeenRequest, res: Parameters<typeof json>[0]) => json(res, 200, { method: s.method, url: s.url, headers: s.headers, body: s.body });

describe('generic HTTP app', () => {
  let api: LocalServer;
  let second: LocalServer;
  let outside: LocalServer;
  let tokens: { issued: number; valid: Set<string>; refuseAll: boolean };

  before(async () => {
    outside = await new LocalServer({ '/landing': (s, res) => echo(s, res) }).start();
    second = await new LocalServer({ '/landing': (s, res) => echo(s, res) }).start();
    api = await new LocalServer({
      '/v2/echo': echo,
      '/v2/text': (_s, res) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', etag: '"e1"', 'x-extra': 'yes' }).end('hello'),
      '/v2/basic': (s, res) => (s.headers.authorization === `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}`
        ? json(res, 200, { ok: true }) : json(res, 401, { error: { message: 'bad credentials' } })),
      '/v2/missing': (_s, res) => json(res, 404, { error: { message: 'no such user', code: 'NotFound' } }),
      '/v2/echo-error': (s, res) => json(res, 400, { message: `rejected ${s.headers.authorization ?? ''} ${s.headers['x-api-key'] ?? ''}` }),
      '/v2/boom': (_s, res) => json(res, 500, { message: 'internal' }),
      '/v2/bad-json': (_s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{not json'),
      '/v2/big': (_s, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000)),
      '/v2/big-chunked': (_s, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 50; i++) res.write('y'.repeat(100));
        res.end();
      },
      '/v2/bomb': (_s, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(zlib.gzipSync(Buffer.alloc(200_000))),
      '/v2/to-second': (_s, res) => res.writeHead(302, { location: `${second.url}/landing` }).end(),
      '/v2/to-outside': (_s, res) => res.writeHead(302, { location: `${outside.url}/landing` }).end(),
      '/v2/to-ftp': (_s, res) => res.writeHead(302, { location: 'ftp://127.0.0.1/x' }).end(),
      '/v2/same-host': (_s, res) => res.writeHead(307, { location: '/v2/echo?moved=1' }).end(),
      '/oauth/token': (s, res) => {
        const form = new URLSearchParams(s.body);
        const basic = s.headers.authorization === `Basic ${Buffer.from(`app-1:${CLIENT_SECRET}`).toString('base64')}`;
        const inBody = form.get('client_id') === 'app-1' && form.get('client_secret') === CLIENT_SECRET;
        if (form.get('grant_type') !== 'client_credentials' || !(basic || inBody)) return json(res, 401, { error: 'invalid_client', error_description: 'bad client' });
        const token = `access-${++tokens.issued}`;
        tokens.valid.add(token);
        json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: Number(form.get('scope') === 'short' ? 1 : 3600) });
      },
      '/v2/protected': (s, res) => {
        const ok = tokens.valid.has((s.headers.authorization ?? '').replace(/^Bearer /, '')) && !tokens.refuseAll;
        if (ok) json(res, 200, { ok: true, sawAuth: s.headers.authorization });
        else json(res, 401, { error: { message: 'token expired', code: 'InvalidToken' } });
      },
    }).start();
  });
  beforeEach(() => {
    tokens = { issued: 0, valid: new Set(), refuseAll: false };
    clearHttpTokenCache();
    for (const s of [api, second, outside]) s.seen.length = 0;
  });
  after(async () => {
    closeVendorConnections();
    closeHttpAppConnections();
    await Promise.all([api.stop(), second.stop(), outside.stop()]);
  });

  const base = () => ({ baseUrl: `${api.url}/v2` });
  const cfg = (over: Record<string, unknown> = {}) => httpApp.config.parse({ ...base(), ...over });

  it('GETs a path under the base URL with query and headers; JSON parsed, selected headers returned', async () => {
    const out = await run(get, { url: '/echo', query: { q: 'a b', id: [1, 2] }, headers: { 'X-Trace': 't-1' } }, cfg());
    assert.equal(out.status, 200);
    assert.equal(out.body.method, 'GET');
    assert.equal(out.body.url, '/v2/echo?q=a+b&id=1&id=2');
    assert.equal(out.body.headers['x-trace'], 't-1');
    assert.equal(out.body.headers.authorization, undefined);
    assert.equal(out.headers['content-type'], 'application/json');
    const text = await run(get, { url: 'text', responseHeaders: ['X-Extra'] }, cfg());
    assert.deepEqual([text.body, text.headers.etag, text.headers['x-extra']], ['hello', '"e1"', 'yes']);
    // `//host/…` is a path under the base URL, never another host.
    await run(get, { url: '//127.0.0.9/echo' }, cfg()).catch(() => undefined);
    assert.equal(api.on('/v2/127.0.0.9/echo').length, 1);
  });

  it('basic auth: the header reaches the server; the echoed credentials are masked in the output', async () => {
    const c = cfg({ auth: 'basic', username: 'svc', password: PASSWORD });
    assert.deepEqual((await run(get, { url: '/basic' }, c)).body, { ok: true });
    const out = await run(get, { url: '/echo' }, c);
    assert.equal(out.body.headers.authorization, 'Basic ••••••');
    assert.equal(api.on('/v2/echo')[0]!.headers.authorization, `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}`);
    const wrong = await failure(get.handler({ url: '/basic' }, ctx(cfg({ auth: 'basic', username: 'svc', password: 'wrong-pass' }))));
    assert.ok(wrong instanceof TerminalError && wrong.status === 401 && /bad credentials/.test(wrong.message));
  });

  it('bearer and API-key auth; a playbook may not set or override the credential header', async () => {
    const bearer = cfg({ auth: 'bearer', token: TOKEN });
    assert.equal((await run(get, { url: '/echo' }, bearer)).body.headers.authorization, 'Bearer ••••••');
    assert.equal(api.on('/v2/echo')[0]!.headers.authorization, `Bearer ${TOKEN}`);
    const key = cfg({ auth: 'apiKey', apiKeyHeader: 'X-API-Key', apiKey: API_KEY });
    await run(get, { url: '/echo' }, key);
    assert.equal(api.on('/v2/echo')[1]!.headers['x-api-key'], API_KEY);
    const before = api.seen.length;
    for (const [c, headers, why] of [
      [key, { 'x-api-key': 'mine' }, /x-api-key carries the asset's credentials/],
      [bearer, { Authorization: 'Bearer mine' }, /authorization carries the asset's credentials/],
      [cfg(), { authorization: 'Bearer mine' }, /credentials belong in the asset's secrets/],
      [cfg(), { Host: 'evil.example' }, /header host is set by the HTTP client/],
      [cfg(), { 'Transfer-Encoding': 'chunked' }, /transfer-encoding is set by the HTTP client/],
      [cfg(), { 'X-A': 'v\r\nX-Injected: 1' }, /contains a line break/],
    ] as const) {
      const e = await failure(get.handler({ url: '/echo', headers }, ctx(c)));
      assert.ok(e instanceof TerminalError && e.applied === 'no');
      assert.match(e.message, why);
      assert.match(e.message, /nothing was sent/);
    }
    assert.equal(api.seen.length, before);
    // A server that echoes the credentials into its error: masked in the message.
    const e1 = await failure(get.handler({ url: '/echo-error' }, ctx(bearer)));
    const e2 = await failure(get.handler({ url: '/echo-error' }, ctx(key)));
    assert.match(e1.message, /rejected Bearer ••••••/);
    assert.match(e2.message, /rejected  ••••••/);
  });

  it('OAuth2 client credentials: one token for many calls, a new one on 401 (once), a new one at expiry', async () => {
    const c = cfg({ auth: 'oauth2', tokenUrl: `${api.url}/oauth/token`, clientId: 'app-1', clientSecret: CLIENT_SECRET, scope: 'read write' });
    assert.equal((await run(get, { url: '/protected' }, c)).body.sawAuth, 'Bearer ••••••');
    await run(post, { url: '/protected', json: {} }, c);
    const tokenCalls = api.on('/oauth/token');
    assert.equal(tokenCalls.length, 1);
    const form = new URLSearchParams(tokenCalls[0]!.body);
    assert.deepEqual([form.get('grant_type'), form.get('client_id'), form.get('client_secret'), form.get('scope')],
      ['client_credentials', 'app-1', CLIENT_SECRET, 'read write']);
    assert.deepEqual(api.on('/v2/protected').map((s) => s.headers.authorization), ['Bearer access-1', 'Bearer access-1']);

    // The API revokes the token: a POST (not idempotent) is sent once more with a fresh token.
    tokens.valid.clear();
    assert.equal((await run(post, { url: '/protected', json: { a: 1 } }, c)).status, 200);
    assert.deepEqual(api.on('/v2/protected').slice(2).map((s) => s.headers.authorization), ['Bearer access-1', 'Bearer access-2']);
    assert.equal(api.on('/oauth/token').length, 2);

    // A fresh token refused too: one refresh only, then a terminal 401.
    tokens.refuseAll = true;
    const seenBefore = api.on('/v2/protected').length;
    const e = await failure(get.handler({ url: '/protected' }, ctx(c)));
    assert.ok(e instanceof TerminalError && e.status === 401, String(e));
    assert.match(e.message, /fresh token: token expired/);
    assert.equal(api.on('/v2/protected').length - seenBefore, 2);
    assert.equal(api.on('/oauth/token').length, 3);

    // A wrong client secret: the token endpoint's error, applied 'no', nothing sent to the API.
    tokens.refuseAll = false;
    const seenApi = api.on('/v2/protected').length;
    const bad = await failure(get.handler({ url: '/protected' }, ctx(cfg({ ...c, clientSecret: 'wrong-secret' }))));
    assert.ok(bad.applied === 'no' && /bad client \(invalid_client\)/.test(bad.message), bad.message);
    assert.equal(api.on('/v2/protected').length, seenApi);
  });

  it('OAuth2: client authentication by HTTP Basic, and a token refreshed when it nears expiry', async () => {
    const c = cfg({ auth: 'oauth2', tokenUrl: `${api.url}/oauth/token`, clientId: 'app-1', clientSecret: CLIENT_SECRET, scope: 'short', tokenAuth: 'basic' });
    await run(get, { url: '/protected' }, c);
    const call = api.on('/oauth/token')[0]!;
    assert.equal(new URLSearchParams(call.body).get('client_secret'), null);
    assert.equal(call.headers.authorization, `Basic ${Buffer.from(`app-1:${CLIENT_SECRET}`).toString('base64')}`);
    await run(get, { url: '/protected' }, c);
    assert.equal(api.on('/oauth/token').length, 1);
    // expires_in 1 s: refreshed after half its life.
    await new Promise((r) => setTimeout(r, 600));
    await run(get, { url: '/protected' }, c);
    assert.equal(api.on('/oauth/token').length, 2);
  });

  it('JSON and form bodies, with their content types; not both', async () => {
    const j = await run(post, { url: '/echo', json: { user: 'jdoe', tags: ['a'] } }, cfg());
    assert.equal(j.body.body, '{"user":"jdoe","tags":["a"]}');
    assert.equal(j.body.headers['content-type'], 'application/json');
    const f = await run(put, { url: '/echo', form: { a: 1, b: 'x y&z' } }, cfg());
    assert.equal(f.body.method, 'PUT');
    assert.equal(f.body.body, 'a=1&b=x+y%26z');
    assert.equal(f.body.headers['content-type'], 'application/x-www-form-urlencoded');
    const p = await run(patch, { url: '/echo', json: [1], headers: { 'content-type': 'application/json-patch+json' } }, cfg());
    assert.equal(p.body.headers['content-type'], 'application/json-patch+json');
    assert.equal((await run(del, { url: '/echo' }, cfg())).body.method, 'DELETE');
    assert.throws(() => post.input.parse({ url: '/echo', json: {}, form: {} }), /give json or form, not both/);
    assert.throws(() => get.input.parse({ url: '/echo', json: {} }), /json/);
  });

  it('allow-list: a host outside it is refused before anything is sent, naming the host; so are other schemes', async () => {
    const e = await failure(get.handler({ url: `${outside.url}/landing` }, ctx(cfg())));
    assert.ok(e instanceof TerminalError && e.applied === 'no');
    assert.match(e.message, new RegExp(`host 127\\.0\\.0\\.1:${outside.port} is not on the asset's allow-list`));
    // Same address, another name: not the allowed host.
    await failure(get.handler({ url: `http://localhost:${api.port}/v2/echo` }, ctx(cfg())));
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'javascript:alert(1)', `gopher://127.0.0.1:${api.port}/`]) {
      assert.match((await failure(get.handler({ url }, ctx(cfg())))).message, /only http and https are allowed/);
    }
    assert.equal(outside.seen.length + api.seen.length, 0);
    // Listed explicitly (and by wildcard), an absolute URL on another host is fine.
    assert.equal((await run(get, { url: `${outside.url}/landing` }, cfg({ allowedHosts: [`127.0.0.1:${api.port}`, `127.0.0.1:${outside.port}`] }))).status, 200);
    assert.equal((await run(get, { url: `http://localhost:${api.port}/v2/echo` }, cfg({ allowedHosts: ['*.example.test', 'localhost'] }))).status, 200);
    assert.throws(() => cfg({ allowedHosts: ['https://x.example'] }), /allowedHosts entries are host/);
  });

  it('redirects: followed within the allow-list, refused (and not sent) outside it or to another scheme', async () => {
    const same = await run(get, { url: '/same-host' }, cfg());
    assert.equal(same.url, `${api.url}/v2/echo?moved=1`);
    const both = cfg({ auth: 'bearer', token: TOKEN, allowedHosts: [`127.0.0.1:${api.port}`, `127.0.0.1:${second.port}`] });
    const followed = await run(get, { url: '/to-second' }, both);
    assert.equal(followed.url, `${second.url}/landing`);
    assert.equal(second.on('/landing').length, 1);
    const out = await failure(get.handler({ url: '/to-outside' }, ctx(both)));
    assert.ok(out instanceof TerminalError && out.status === 302);
    assert.match(out.message, new RegExp(`redirected to host 127\\.0\\.0\\.1:${outside.port} is not on the asset's allow-list`));
    assert.match((await failure(get.handler({ url: '/to-ftp' }, ctx(both)))).message, /redirected to a ftp: URL; not followed/);
    // A POST redirected outside: not applied there; the outside server never heard of it.
    const p = await failure(post.handler({ url: '/to-outside', json: { x: 1 } }, ctx(both)));
    assert.match(p.message, /not on the asset's allow-list/);
    assert.equal(outside.seen.length, 0);
  });

  it('size limit: a larger reply is an error naming the limit (Content-Length, chunked, compressed); within it, fine', async () => {
    const small = cfg({ maxResponseBytes: 1000 });
    for (const url of ['/big', '/big-chunked', '/bomb']) {
      const e = await failure(get.handler({ url }, ctx(small)));
      assert.ok(e instanceof TerminalError && e.applied === 'no', `${url}: ${String(e)}`);
      assert.match(e.message, /larger than 1000 bytes/);
    }
    // A changing request whose reply is too large may have been applied.
    assert.equal((await failure(post.handler({ url: '/big' }, ctx(small)))).applied, 'unknown');
    assert.equal((await run(get, { url: '/big' }, cfg({ maxResponseBytes: 5000 }))).body.length, 5000);
    assert.equal((await run(get, { url: '/bomb' }, cfg())).body.length, 200_000);
    assert.equal(cfg().maxResponseBytes, 1024 * 1024);
    assert.throws(() => cfg({ maxResponseBytes: HARD_MAX_RESPONSE_BYTES + 1 }), /maxResponseBytes/);
  });

  it('statuses: 4xx fails the step unless accepted as data; 5xx is retryable (unknown for POST); bad JSON is an error', async () => {
    const nf = await failure(get.handler({ url: '/missing' }, ctx(cfg())));
    assert.ok(nf instanceof TerminalError && nf.status === 404 && nf.vendorCode === 'NotFound' && nf.applied === 'no');
    assert.match(nf.message, /GET \/v2\/missing: HTTP 404: no such user/);
    const data = await run(get, { url: '/missing', acceptStatus: [404] }, cfg());
    assert.deepEqual([data.status, data.body.error.message], [404, 'no such user']);
    assert.throws(() => get.input.parse({ url: '/x', acceptStatus: [429] }), /429 is always retried/);
    const g = await failure(get.handler({ url: '/boom' }, ctx(cfg())));
    const p = await failure(post.handler({ url: '/boom' }, ctx(cfg())));
    assert.ok(g instanceof RetryableError && p instanceof RetryableError && p.applied === 'unknown');
    const bj = await failure(get.handler({ url: '/bad-json' }, ctx(cfg())));
    assert.match(bj.message, /says JSON but does not parse/);
  });

  it('asset configuration: each auth kind names what it misses, without quoting values', () => {
    const issues = (over: Record<string, unknown>) => {
      const r = httpApp.config.safeParse({ ...base(), ...over });
      assert.ok(!r.success);
      return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues({ auth: 'basic', username: 'svc' }), ['password: required with auth basic']);
    assert.deepEqual(issues({ auth: 'apiKey', apiKey: API_KEY }), ['apiKeyHeader: required with auth apiKey']);
    assert.deepEqual(issues({ auth: 'oauth2', clientId: 'a', clientSecret: CLIENT_SECRET }), ['tokenUrl: required with auth oauth2']);
    assert.match(issues({ baseUrl: 'ftp://x.example' }).join(), /baseUrl must be an http\(s\) URL/);
    assert.match(issues({ baseUrl: `http://u:${PASSWORD}@x.example` }).join(), /without credentials/);
    assert.match(issues({ auth: 'bearer', token: 'abc' }).join(), /token: secrets are at least 4 characters/);
    assert.match(issues({ readOnlyMethods: ['HEAD'] }).join(), /readOnlyMethods/);
    for (const i of [issues({ auth: 'basic', password: PASSWORD }), issues({ clientKeyPem: `-----BEGIN PRIVATE KEY-----\n${PASSWORD}` })]) {
      assertNoSecret(i.join(), 'a configuration issue');
    }
  });

  it('riposte assets add: lists as JSON, secrets only as secrets, problems named without values', async () => {
    const io = { readStdin: async () => '', env: { HR_TOKEN: TOKEN } };
    const flags = (config: string[], secret: string[] = []) => ({ config, secret });
    const ok = await assetInput(httpApp, flags(['baseUrl=https://hr.example.test/api', 'auth=bearer', 'readOnlyMethods=["GET","POST"]',
      'allowedHosts=["hr.example.test","*.cdn.example.test"]', 'maxResponseBytes=2048'], ['token=env:HR_TOKEN']), io);
    assert.deepEqual(ok.config.readOnlyMethods, ['GET', 'POST']);
    assert.equal(ok.config.maxResponseBytes, 2048);
    assert.deepEqual(ok.secrets, { token: TOKEN });
    const bad = async (config: string[], secret: string[], why: RegExp) => {
      const e = await assetInput(httpApp, flags(config, secret), io).then(() => assert.fail('accepted'), (err: Error) => err);
      assert.match(e.message, why);
      assertNoSecret(e.message, 'a CLI message');
    };
    await bad(['baseUrl=https://x.test', 'auth=basic', 'username=svc'], [], /password: required with auth basic/);
    await bad(['baseUrl=https://x.test', `token=${TOKEN}`], [], /"token" is a secret of app http/);
    await bad(['baseUrl=https://x.test', `maxResponseBytes=${HARD_MAX_RESPONSE_BYTES + 1}`], [], /maxResponseBytes/);
    await bad(['baseUrl=https://x.test', 'readOnlyMethods=["HEAD"]'], [], /readOnlyMethods/);
  });

  it('credentials never go over plain http to a non-loopback host, and testConnectivity checks the credentials', async () => {
    const c = cfg({ baseUrl: 'http://api.example.test/v1', auth: 'bearer', token: TOKEN });
    assert.match((await failure(get.handler({ url: '/x' }, ctx(c)))).message, /never sent over plain http \(to api\.example\.test:80\)/);
    const ok = await httpApp.testConnectivity!(ctx(cfg({ auth: 'basic', username: 'svc', password: PASSWORD })));
    assert.match(ok.detail ?? '', /answered HTTP 404 \(auth basic\)/);
    const denied = await failure(httpApp.testConnectivity!(ctx(cfg({ baseUrl: `${api.url}/v2/basic`, auth: 'basic', username: 'svc', password: 'wrong-pass' }))));
    assert.equal(denied.status, 401);
  });
});
