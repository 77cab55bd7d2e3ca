/**
 * `defineApp` refuses an app whose actions do not fit a capability it claims, naming what does not
 * fit; every first-party app that claims a capability fits it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineApp } from '../../src/sdk/app.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { firstPartyApps } from '../../src/apps/catalog.js';

const send = (input: z.ZodType, output: z.ZodType = capabilities.notify.sendMessage.output) => ({
  sendMessage: {
    description: 'send', kind: 'generic' as const, readOnly: false, idempotent: false, input, output,
    handler: async () => ({ delivered: true }),
  },
});

function app(implementsCaps: string[], actions: Record<string, unknown>) {
  return () => defineApp({
    id: 'pager', name: 'Pager', vendor: 'Example', product: 'Pager', version: '1.0.0',
    config: z.object({}), secrets: [], implements: implementsCaps, actions: () => actions as never,
  });
}

test('an app fitting the notify capability is accepted, also with extra optional input and extra output', () => {
  assert.doesNotThrow(app(['notify'], send(capabilities.notify.sendMessage.input)));
  const wider = capabilities.notify.sendMessage.input.extend({ priority: z.number().optional() });
  const more = capabilities.notify.sendMessage.output.extend({ pageId: z.string() });
  assert.doesNotThrow(app(['notify'], send(wider, more)));
});

test('an app claiming a capability it does not fit is refused, naming each misfit', () => {
  assert.throws(app(['notify'], {}), /^Error: app pager: implements notify but has no action sendMessage$/);
  assert.throws(app(['pager'], {}), /app pager: unknown capability "pager" \(known: mdm, directory, firewall, ticketing, notify, siem, http\)/);
  assert.throws(
    app(['notify'], send(z.object({ text: z.string(), channel: z.string() }), z.object({ ok: z.boolean() }))),
    new RegExp([
      'notify.sendMessage: input has no field title', 'notify.sendMessage: input has no field severity',
      'notify.sendMessage: input has no field link', 'notify.sendMessage: input requires channel, which the capability does not pass',
      'notify.sendMessage: output has no field delivered', 'notify.sendMessage: output has no field messageId',
    ].join('; ')),
  );
});

test('every first-party app implementing notify or siem has the capability\'s action', () => {
  const byCap = (cap: string) => firstPartyApps.filter((a) => (a.implements ?? []).includes(cap)).map((a) => a.id).sort();
  assert.deepEqual(byCap('notify'), ['microsoft-teams-webhook', 'slack-webhook', 'smtp-email']);
  assert.deepEqual(byCap('siem'), ['splunk']);
  assert.deepEqual(byCap('http'), ['http']);
  for (const a of firstPartyApps) {
    if ((a.implements ?? []).includes('notify')) assert.ok('sendMessage' in a.actions, a.id);
    if ((a.implements ?? []).includes('siem')) assert.ok('updateAlert' in a.actions, a.id);
  }
});
