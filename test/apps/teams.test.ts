import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MESSAGE_BYTES, teamsApp } from '../../src/apps/teams/index.js';
import { TeamsWebhookSimulator } from '../../lab/chat-sim.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { rejects, type RejectsChecks } from '../support/assert-errors.js';
import { actionContext } from '../support/action-context.js';

const { postMessage } = teamsApp.actions;
type Cfg = Parameters<typeof postMessage.handler>[1]['config'];

function ctx(webhookUrl: string, format?: 'workflows-adaptive-card' | 'messagecard') {
  const config: Cfg = teamsApp.config.parse(format === undefined ? { webhookUrl } : { webhookUrl, format });
  return actionContext(config, 'run-4:2');
}

/** Parts of a webhook URL that are secret (signature, ids), each of which must stay out of errors. */
function secretsOf(url: string): string[] {
  const u = new URL(url);
  return [...u.pathname.split('/').filter((s) => s.length >= 16), ...(u.searchParams.get('sig') ? [u.searchParams.get('sig')!] : [])];
}

/** What an error about a webhook must not contain: its secrets, or its path. */
const hides = (url: string): RejectsChecks => ({ notInMessage: [...secretsOf(url), /webhookb2|\/workflows\//] });

const note = {
  title: 'INC-1: DEV-42 wiped and blocked',
  text: 'Device **DEV-42** (bob) contacted 203.0.113.9.',
  facts: [{ name: 'Device', value: 'DEV-42' }, { name: 'IP', value: '203.0.113.9' }],
  themeColor: '#d70000',
};

describe('Microsoft Teams webhook app against the lab simulator', () => {
  let sim: TeamsWebhookSimulator;
  before(async () => {
    sim = new TeamsWebhookSimulator({ rateLimit: { perSecond: 4, burst: 4 } });
    await sim.start(0);
  });
  after(() => sim.stop());

  it('posts an Adaptive Card to a Workflows webhook (202) as Teams expects it', async () => {
    const { url, id } = sim.addWorkflow();
    assert.deepEqual(await postMessage.handler(note, ctx(url)), { ok: true });
    const [m] = sim.messages.filter((x) => x.hook === id);
    assert.ok(m);
    assert.equal(m.endpoint, 'workflow');
    assert.equal(m.delivered, true);
    assert.deepEqual(m.payload, {
      type: 'message',
      attachments: [{
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', msteams: { width: 'Full' },
          body: [
            { type: 'TextBlock', text: note.title, weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'TextBlock', text: note.text, wrap: true },
            { type: 'FactSet', facts: [{ title: 'Device', value: 'DEV-42' }, { title: 'IP', value: '203.0.113.9' }] },
          ],
        },
      }],
    });
    assert.equal(sim.callsTo('POST', `/workflows/${id}/`)[0]?.status, 202);
  });

  it('posts a MessageCard to a legacy connector (200 `1`)', async () => {
    const { url, id } = sim.addConnector();
    assert.deepEqual(await postMessage.handler(note, ctx(url, 'messagecard')), { ok: true });
    assert.deepEqual(await postMessage.handler({ title: 'No facts', text: 'plain' }, ctx(url, 'messagecard')), { ok: true });
    const mine = sim.messages.filter((x) => x.hook === id);
    assert.deepEqual(mine.map((m) => [m.endpoint, m.delivered]), [['connector', true], ['connector', true]]);
    assert.deepEqual(mine[0]!.payload, {
      '@type': 'MessageCard', '@context': 'http://schema.org/extensions', summary: note.title, title: note.title, text: note.text,
      themeColor: 'D70000', sections: [{ facts: note.facts }],
    });
    assert.deepEqual(mine[1]!.payload, { '@type': 'MessageCard', '@context': 'http://schema.org/extensions', summary: 'No facts', title: 'No facts', text: 'plain' });
  });

  it('refuses a card over 28 KB before sending (a Workflows webhook would 202 and drop it)', async () => {
    const { url, id } = sim.addWorkflow();
    const facts = Array.from({ length: 20 }, (_, i) => ({ name: `fact ${i}`, value: 'x'.repeat(1500) }));
    const before = sim.calls.length;
    const err = await rejects(
      postMessage.handler({ title: 'big', text: 'y', facts }, ctx(url)), TerminalError, hides(url));
    assert.equal(err.applied, 'no');
    assert.match(err.message, /at most 28 KB \(28672 bytes\)/);
    assert.equal(sim.calls.length, before);
    // What the check protects against: the trigger accepts the request, the flow run fails later.
    const big = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: 'z'.repeat(MAX_MESSAGE_BYTES) }] } }] };
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(big) });
    assert.equal(r.status, 202);
    assert.deepEqual(sim.messages.filter((m) => m.hook === id).map((m) => [m.delivered, m.failure]), [[false, 'message too large']]);
  });

  it('maps a wrong Workflows signature (401) to TerminalError without the signature', async () => {
    const { url, sig } = sim.addWorkflow();
    const wrong = url.replace(`sig=${encodeURIComponent(sig)}`, 'sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.notEqual(wrong, url);
    const err = await rejects(postMessage.handler(note, ctx(wrong)), TerminalError, hides(wrong));
    assert.equal(err.status, 401);
    assert.equal(err.vendorCode, 'DirectApiInvalidAuthorizationSignature');
    for (const s of secretsOf(url)) assert.ok(!err.message.includes(s));
  });

  it('answers the documented connector errors (400 text bodies)', async () => {
    const { url } = sim.addConnector();
    const raw = async (body: string) => {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return [r.status, await r.text()];
    };
    assert.deepEqual(await raw('{"@type":"MessageCard","title":"no text"}'), [400, 'Summary or Text is required.']);
    assert.deepEqual(await raw('not json'), [400, 'Bad payload received by generic incoming webhook.']);
    assert.deepEqual(await raw('{"summary":"only a summary"}'), [200, '1']);
  });

  it('maps a connector\'s HTTP 200 "delivery failed" bodies by the embedded status', async () => {
    const { url, id } = sim.addConnector();
    sim.removeChannel(id);
    const gone = await rejects(postMessage.handler(note, ctx(url, 'messagecard')), TerminalError, hides(url));
    assert.equal(gone.vendorCode, 'DeliveryFailed404');
    assert.equal(gone.applied, 'no');
    assert.match(gone.message, /HTTP 200 but Webhook message delivery failed .* HTTP error 404/);

    const { url: url2 } = sim.addConnector();
    const throttled = 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-lab,cv=abc.0..';
    sim.injectFault({ pathPrefix: '/webhookb2/', status: 200, body: throttled });
    const t = await rejects(postMessage.handler(note, ctx(url2, 'messagecard')), RetryableError, hides(url2));
    assert.equal(t.applied, 'no');
    sim.injectFault({ pathPrefix: '/webhookb2/', status: 200, body: 'Webhook message delivery failed with error: Error contacting Microsoft Teams endpoint' });
    const u = await rejects(postMessage.handler(note, ctx(url2, 'messagecard')), RetryableError, hides(url2));
    assert.equal(u.applied, 'unknown');
  });

  it('maps 429 to RetryableError with Retry-After, not applied', async () => {
    const { url, id } = sim.addWorkflow();
    for (let i = 0; i < 4; i++) await postMessage.handler({ title: `t${i}`, text: 'x' }, ctx(url));
    const err = await rejects(
      postMessage.handler({ title: 'too many', text: 'x' }, ctx(url)), RetryableError, hides(url));
    assert.equal(err.status, 429);
    assert.equal(err.applied, 'no');
    assert.equal(err.retryAfterMs, 1000);
    assert.equal(sim.messages.filter((m) => m.hook === id).length, 4);
  });

  it('maps 5xx to RetryableError with an unknown outcome', async () => {
    const { url } = sim.addWorkflow();
    sim.injectFault({ pathPrefix: '/workflows/', status: 500, body: '{"error":{"code":"InternalServerError","message":"Encountered internal server error."}}' });
    const err = await rejects(postMessage.handler(note, ctx(url)), RetryableError, hides(url));
    assert.equal(err.applied, 'unknown');
    assert.equal(err.vendorCode, 'InternalServerError');
  });

  it('tests connectivity from the URL shape only, and validates config and input', async () => {
    const wf = sim.addWorkflow();
    const cn = sim.addConnector();
    const before = sim.calls.length;
    assert.match((await teamsApp.testConnectivity!(ctx(wf.url))).detail ?? '', /Workflows trigger URL.*not called/);
    assert.match((await teamsApp.testConnectivity!(ctx(cn.url))).detail ?? '', /legacy Office 365 connector/);
    assert.equal(sim.calls.length, before);
    const noSig = wf.url.replace(/&sig=[^&]+/, '');
    for (const webhookUrl of [noSig, 'https://example.com/somewhere', wf.url.replace('http://127.0.0.1', 'http://teams.example')]) {
      const r = teamsApp.config.safeParse({ webhookUrl });
      assert.deepEqual(r.error?.issues[0]?.path, ['webhookUrl'], webhookUrl);
      assert.ok(!JSON.stringify(r.error?.issues).includes(wf.sig.slice(0, 20)));
    }
    assert.equal(teamsApp.config.parse({ webhookUrl: wf.url }).format, 'workflows-adaptive-card');
    assert.deepEqual(postMessage.input.safeParse({ ...note, themeColor: 'red' }).error?.issues[0]?.path, ['themeColor']);
    assert.deepEqual(postMessage.input.safeParse({ ...note, facts: [{ name: '', value: 'x' }] }).error?.issues[0]?.path, ['facts', 0, 'name']);
  });
});
