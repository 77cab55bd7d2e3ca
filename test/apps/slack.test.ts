import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slackApp } from '../../src/apps/slack/index.js';
import { SlackWebhookSimulator } from '../../lab/chat-sim.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects, type RejectsChecks } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const { postMessage } = slackApp.actions;
type Cfg = Parameters<typeof postMessage.handler>[1]['config'];

const ctx = (webhookUrl: string) => actionContext(slackApp.config.parse({ webhookUrl }), 'run-3:1');

/** The URL is the credential: neither its secret nor its path may appear in an error (nor in a cause). */
const hides = (url: string): RejectsChecks => ({
  notInMessage: [new URL(url).pathname.split('/').pop()!, '/services/'],
  noCause: true,
});

const blocks = [
  { type: 'header', text: { type: 'plain_text', text: 'INC-1: device wiped' } },
  { type: 'section', fields: [{ type: 'mrkdwn', text: '*Device*\nDEV-42' }, { type: 'mrkdwn', text: '*IP*\n203.0.113.9' }] },
];

describe('Slack webhook app against the lab simulator', () => {
  let sim: SlackWebhookSimulator;
  before(async () => {
    sim = new SlackWebhookSimulator({ rateLimit: { perSecond: 1, burst: 3 } });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('posts text and blocks as JSON and gets `ok`', async () => {
    const { url, hook } = sim.addWebhook();
    assert.deepEqual(await postMessage.handler(postMessage.input.parse({ text: 'INC-1: DEV-42 wiped', blocks }), ctx(url)), { ok: true });
    assert.deepEqual(await postMessage.handler({ text: 'plain text only' }, ctx(url)), { ok: true });
    const mine = sim.messages.filter((m) => m.hook === `${hook.team}/${hook.bot}`);
    assert.deepEqual(mine.map((m) => m.payload), [{ text: 'INC-1: DEV-42 wiped', blocks }, { text: 'plain text only' }]);
    const calls = sim.callsTo('POST', `/services/${hook.team}/`);
    assert.equal(calls.length, 2);
    assert.ok(calls.every((c) => c.status === 200 && c.headers['content-type'] === 'application/json'));
  });

  it('tests connectivity by checking the URL shape only, without posting', async () => {
    const { url, hook } = sim.addWebhook();
    const before = sim.calls.length;
    const res = await slackApp.testConnectivity!(ctx(url));
    assert.equal(res.ok, true);
    assert.match(res.detail ?? '', new RegExp(`workspace ${hook.team}.*not called`));
    assert.ok(!(res.detail ?? '').includes(hook.secret));
    assert.equal(sim.calls.length, before);
  });

  it('maps no_service (unknown or revoked secret) to TerminalError without the URL', async () => {
    const { url, hook } = sim.addWebhook();
    const wrong = url.replace(hook.secret, 'WrongSecret000000000000');
    const err = await rejects(postMessage.handler({ text: 'x' }, ctx(wrong)), TerminalError, hides(wrong));
    assert.equal(err.status, 404);
    assert.equal(err.vendorCode, 'no_service');
    assert.equal(err.applied, 'no');
    assert.match(err.message, /^Slack POST \[webhook URL redacted\]: HTTP 404: no_service$/);
    sim.revoke(hook);
    const revoked = await rejects(postMessage.handler({ text: 'x' }, ctx(url)), TerminalError, hides(url));
    assert.equal(revoked.vendorCode, 'no_service');
  });

  it('maps channel_is_archived (410) to TerminalError', async () => {
    const { url, hook } = sim.addWebhook();
    sim.archiveChannel(hook);
    const err = await rejects(postMessage.handler({ text: 'x' }, ctx(url)), TerminalError, hides(url));
    assert.equal(err.status, 410);
    assert.equal(err.vendorCode, 'channel_is_archived');
  });

  it('answers bad payloads with text/plain codes, which the app maps to TerminalError', async () => {
    const { url } = sim.addWebhook();
    const raw = async (body: string, type = 'application/json') => {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    };
    assert.deepEqual(await raw('{not json'), { status: 400, type: 'text/plain; charset=utf-8', body: 'invalid_payload' });
    assert.deepEqual(await raw('{}'), { status: 400, type: 'text/plain; charset=utf-8', body: 'no_text' });
    assert.deepEqual(await raw('{"text":"x","blocks":[{"text":"no type"}]}'), { status: 400, type: 'text/plain; charset=utf-8', body: 'invalid_blocks' });
    assert.equal((await raw(`payload=${encodeURIComponent('{"text":"form"}')}`, 'application/x-www-form-urlencoded')).body, 'ok');

    sim.injectFault({ method: 'POST', pathPrefix: '/services/', status: 400, body: 'invalid_payload', headers: { 'content-type': 'text/plain' } });
    const err = await rejects(postMessage.handler({ text: 'x' }, ctx(url)), TerminalError, hides(url));
    assert.equal(err.vendorCode, 'invalid_payload');
    assert.match(err.message, /HTTP 400: invalid_payload$/);
  });

  it('maps 429 to RetryableError with Retry-After, not applied', async () => {
    const { url, hook } = sim.addWebhook();
    for (let i = 0; i < 3; i++) await postMessage.handler({ text: `burst ${i}` }, ctx(url));
    const err = await rejects(postMessage.handler({ text: 'one too many' }, ctx(url)), RetryableError, hides(url));
    assert.equal(err.status, 429);
    assert.equal(err.applied, 'no');
    assert.equal(err.retryAfterMs, 1000);
    assert.equal(sim.messages.filter((m) => m.hook === `${hook.team}/${hook.bot}`).length, 3);
  });

  it('maps 5xx and a lost reply to RetryableError with an unknown outcome', async () => {
    const { url } = sim.addWebhook();
    sim.injectFault({ pathPrefix: '/services/', status: 500, body: 'rollup_error', headers: { 'content-type': 'text/plain' } });
    const e500 = await rejects(postMessage.handler({ text: 'x' }, ctx(url)), RetryableError, hides(url));
    assert.equal(e500.applied, 'unknown');
    assert.equal(e500.vendorCode, 'rollup_error');
    sim.injectFault({ pathPrefix: '/services/', dropReply: true });
    const lost = await rejects(
      postMessage.handler({ text: 'posted, reply lost' }, ctx(url)), RetryableError, hides(url));
    assert.equal(lost.applied, 'unknown');
    assert.ok(sim.messages.some((m) => m.payload.text === 'posted, reply lost'));
  });

  it('maps a refused connection to RetryableError, not applied, without the URL', async () => {
    const other = new SlackWebhookSimulator();
    await other.start(0);
    const { url } = other.addWebhook();
    await other.stop();
    const err = await rejects(postMessage.handler({ text: 'x' }, ctx(url)), RetryableError, hides(url));
    assert.equal(err.applied, 'no');
    assert.match(err.message, /ECONNREFUSED/);
  });

  it('validates input and config, naming the field and never echoing the URL', () => {
    const bad = postMessage.input.safeParse({ text: 'x', blocks: [{ text: 'no type' }] });
    assert.deepEqual(bad.error?.issues[0]?.path, ['blocks', 0, 'type']);
    assert.deepEqual(postMessage.input.safeParse({ text: '' }).error?.issues[0]?.path, ['text']);
    for (const webhookUrl of [
      'https://hooks.slack.com/services/T0001/B0001',
      'http://hooks.slack.com/services/T0001/B0001/SeCrEt0123456789', // plain http off loopback
      'https://hooks.slack.com/services/T0001/B0001/SeCrEt0123456789?x=1',
      'not a url SeCrEt0123456789',
    ]) {
      const r = slackApp.config.safeParse({ webhookUrl });
      assert.equal(r.success, false, webhookUrl);
      assert.deepEqual(r.error?.issues[0]?.path, ['webhookUrl']);
      assert.ok(!JSON.stringify(r.error?.issues).includes('SeCrEt'));
    }
    assert.equal(slackApp.config.safeParse({ webhookUrl: 'https://hooks.slack.com/services/T0001/B0001/SeCrEt0123456789' }).success, true);
    assert.deepEqual(slackApp.secrets, ['webhookUrl']);
  });
});
