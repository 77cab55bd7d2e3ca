/**
 * The vendor-neutral `notify` and `siem` capabilities, end to end through the engine: ONE playbook
 * (`roles: { chat: 'notify' }`, `roles: { siem: 'siem' }`), in process and in the sandbox, bound in
 * turn to a Slack webhook and Teams webhooks (the lab's simulators), a real SMTP server (aiosmtpd
 * writing a Maildir) and the Splunk simulator, asserting what each vendor really received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slackApp } from '../../src/apps/slack/index.js';
import { teamsApp } from '../../src/apps/teams/index.js';
import { smtpApp } from '../../src/apps/smtp/index.js';
import { splunkApp } from '../../src/apps/splunk/index.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { SlackWebhookSimulator, TeamsWebhookSimulator } from '../../lab/chat-sim.js';
import { SplunkSimulator } from '../../lab/splunk-sim.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { startMaildirSmtp, type MaildirSmtp } from '../support/maildir-smtp.js';
import { MODES, playbookIn } from '../support/playbook-modes.js';
import { runIn } from '../support/wait.js';

const sandbox = new Sandbox();
const slack = new SlackWebhookSimulator();
const teams = new TeamsWebhookSimulator();
const splunk = new SplunkSimulator({ authToken: 'splunk-token', notables: [{ event_id: 'nb-7', search_id: 'sid-1' }] });
let smtp: MaildirSmtp;

before(async () => {
  await Promise.all([slack.start(0), teams.start(0), splunk.start(0)]);
  smtp = await startMaildirSmtp();
});
after(async () => {
  await Promise.all([slack.stop(), teams.stop(), splunk.stop(), smtp?.stop()]);
  await sandbox.close();
});

const NOTIFY = `
  return await ctx.roles.chat.sendMessage({
    title: 'Device DEV-42 wiped', severity: incident.severity, link: 'https://riposte.example/incidents/' + incident.id,
    text: 'jdoe\\'s phone reached 203.0.113.9 <!channel> & was wiped',
  });`;

const SIEM = `
  return await ctx.roles.siem.updateAlert({
    alertId: incident.sourceId, status: 'in_progress', severity: 'high', owner: 'analyst1', comment: 'Riposte: device wiped',
  });`;

async function harness(mode: (typeof MODES)[number], id: string, roles: Record<string, string>, body: string): Promise<Harness> {
  const playbook = await playbookIn(mode, sandbox, { id, roles, body });
  // With the policy gate, as a server runs: it is what turns a dry run into a record of what would have run.
  return makeHarness({ apps: [slackApp, teamsApp, smtpApp, splunkApp], playbooks: [playbook], hitl: {} });
}

async function bindAndRun(h: Harness, playbookId: string, bindings: Record<string, string>, sourceId: string, dryRun = false) {
  await h.store.putPlaybookSettings({ playbookId, enabled: true, automation: 'autonomous', bindings, dryRun }, 'test');
  const [run] = await h.fire({ severity: 'high', sourceId });
  const done = await runIn(h.store, run!.id);
  return done;
}

/** Headers of a raw RFC 5322 message (unfolded, lower-cased names) and its decoded-enough body. */
function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body: raw.slice(split).replace(/=\r?\n/g, '').trim() };
}

for (const mode of MODES) {
  describe(`notify and siem capabilities (${mode})`, () => {
    test('one notify playbook posts to Slack, Teams (Workflows and connector) and e-mail by binding alone', async () => {
      const h = await harness(mode, 'notify-pb', { chat: 'notify' }, NOTIFY);
      try {
        const hook = slack.addWebhook();
        const workflow = teams.addWorkflow();
        const connector = teams.addConnector();
        await h.store.putAsset({ egressAllow: ['loopback'], name: 'soc-slack', appId: 'slack-webhook', config: {}, secrets: { webhookUrl: hook.url } }, 'test');
        await h.store.putAsset({ egressAllow: ['loopback'], name: 'soc-teams', appId: 'microsoft-teams-webhook', config: {}, secrets: { webhookUrl: workflow.url } }, 'test');
        await h.store.putAsset({ egressAllow: ['loopback'],
          name: 'soc-teams-legacy', appId: 'microsoft-teams-webhook', config: { format: 'messagecard' }, secrets: { webhookUrl: connector.url },
        }, 'test');
        await h.store.putAsset({ egressAllow: ['loopback'],
          name: 'soc-mail', appId: 'smtp-email',
          config: { host: '127.0.0.1', port: smtp.port, from: 'Riposte <riposte@soc.example>', notifyTo: ['soc@soc.example'], timeoutMs: 5000 },
          secrets: {},
        }, 'test');

        const viaSlack = await bindAndRun(h, 'notify-pb', { chat: 'soc-slack' }, 'alert-1');
        assert.equal(viaSlack.status, 'completed', JSON.stringify(viaSlack.error));
        assert.deepEqual(viaSlack.output, { delivered: true });
        const posted = slack.messages.filter((m) => m.hook === `${hook.hook.team}/${hook.hook.bot}`);
        assert.deepEqual(posted.map((m) => m.payload), [{
          // Alert text cannot mention @channel or forge a link: Slack's markup characters are escaped.
          text: `*Device DEV-42 wiped* [high]\njdoe's phone reached 203.0.113.9 &lt;!channel&gt; &amp; was wiped\n` +
            `<https://riposte.example/incidents/${viaSlack.incidentId}|Details>`,
        }]);

        const viaTeams = await bindAndRun(h, 'notify-pb', { chat: 'soc-teams' }, 'alert-2');
        assert.equal(viaTeams.status, 'completed', JSON.stringify(viaTeams.error));
        assert.deepEqual(viaTeams.output, { delivered: true });
        const card = teams.messages.find((m) => m.hook === workflow.id)!;
        assert.equal(card.delivered, true);
        const content = (card.payload.attachments as Array<{ content: { body: unknown[]; actions: unknown[] } }>)[0]!.content;
        assert.deepEqual(content.body, [
          { type: 'TextBlock', text: 'Device DEV-42 wiped', weight: 'Bolder', size: 'Medium', wrap: true },
          { type: 'TextBlock', text: "jdoe's phone reached 203.0.113.9 <!channel> & was wiped", wrap: true },
          { type: 'FactSet', facts: [{ title: 'Severity', value: 'high' }] },
        ]);
        assert.deepEqual(content.actions, [
          { type: 'Action.OpenUrl', title: 'Details', url: `https://riposte.example/incidents/${viaTeams.incidentId}` },
        ]);

        const viaConnector = await bindAndRun(h, 'notify-pb', { chat: 'soc-teams-legacy' }, 'alert-3');
        assert.equal(viaConnector.status, 'completed', JSON.stringify(viaConnector.error));
        const legacy = teams.messages.find((m) => m.hook === connector.id)!;
        assert.equal(legacy.delivered, true);
        assert.equal(legacy.payload.title, 'Device DEV-42 wiped');
        assert.equal(legacy.payload.themeColor, 'E8590C');
        assert.deepEqual(legacy.payload.potentialAction, [{
          '@type': 'OpenUri', name: 'Details', targets: [{ os: 'default', uri: `https://riposte.example/incidents/${viaConnector.incidentId}` }],
        }]);

        const before = smtp.messages().length;
        const viaMail = await bindAndRun(h, 'notify-pb', { chat: 'soc-mail' }, 'alert-4');
        assert.equal(viaMail.status, 'completed', JSON.stringify(viaMail.error));
        const out = viaMail.output as { delivered: boolean; messageId: string };
        assert.equal(out.delivered, true);
        assert.match(out.messageId, /^<riposte\.[0-9a-f]{32}@soc\.example>$/);
        const mails = smtp.messages().slice(before).map(parseMail);
        assert.equal(mails.length, 1);
        const mail = mails[0]!;
        assert.equal(mail.headers.get('subject'), '[HIGH] Device DEV-42 wiped');
        assert.equal(mail.headers.get('to'), 'soc@soc.example');
        assert.equal(mail.headers.get('message-id'), out.messageId);
        assert.match(mail.body, /jdoe's phone reached 203\.0\.113\.9 <!channel> & was wiped/);
        assert.ok(mail.body.includes(`https://riposte.example/incidents/${viaMail.incidentId}`), mail.body);

        // Every run journaled the capability's step under the role's name, on the asset bound then.
        for (const [run, asset] of [[viaSlack, 'soc-slack'], [viaTeams, 'soc-teams'], [viaMail, 'soc-mail']] as const) {
          const [step] = await h.store.loadJournal(run.id);
          assert.deepEqual([step!.name, step!.asset, step!.status], ['chat.sendMessage', asset, 'completed']);
        }
      } finally {
        await h.close();
      }
    });

    test('notify in a dry run sends nothing; an e-mail asset without notifyTo fails the step saying so', async () => {
      const h = await harness(mode, 'notify-pb', { chat: 'notify' }, NOTIFY);
      try {
        const hook = slack.addWebhook();
        await h.store.putAsset({ egressAllow: ['loopback'], name: 'soc-slack', appId: 'slack-webhook', config: {}, secrets: { webhookUrl: hook.url } }, 'test');
        await h.store.putAsset({ egressAllow: ['loopback'],
          name: 'bare-mail', appId: 'smtp-email', config: { host: '127.0.0.1', port: smtp.port, from: 'riposte@soc.example' }, secrets: {},
        }, 'test');
        const dry = await bindAndRun(h, 'notify-pb', { chat: 'soc-slack' }, 'alert-5', true);
        assert.equal(dry.status, 'completed', JSON.stringify(dry.error));
        assert.deepEqual(dry.output, { delivered: false });
        assert.equal(slack.messages.filter((m) => m.hook === `${hook.hook.team}/${hook.hook.bot}`).length, 0);
        const before = smtp.messages().length;
        const bare = await bindAndRun(h, 'notify-pb', { chat: 'bare-mail' }, 'alert-6');
        assert.equal(bare.status, 'failed');
        assert.match(bare.error?.message ?? '', /notifyTo is not set, so the notify capability has no recipients/);
        assert.equal(smtp.messages().length, before);
      } finally {
        await h.close();
      }
    });

    test('siem: updateAlert sets status, urgency, owner and a comment of a Splunk notable; an unknown alert fails', async () => {
      const h = await harness(mode, 'siem-pb', { siem: 'siem' }, SIEM);
      try {
        await h.store.putAsset({ egressAllow: ['loopback'],
          name: 'es', appId: 'splunk', config: { managementUrl: splunk.url }, secrets: { authToken: 'splunk-token' },
        }, 'test');
        const comments = splunk.notables.get('nb-7')!.comments.length; // the simulator serves both modes
        const done = await bindAndRun(h, 'siem-pb', { siem: 'es' }, 'nb-7');
        assert.equal(done.status, 'completed', JSON.stringify(done.error));
        assert.deepEqual(done.output, { updated: true, alertId: 'nb-7', detail: '1 event updated successfully' });
        const n = splunk.notables.get('nb-7')!;
        assert.deepEqual([n.status, n.urgency, n.owner, n.comments.slice(comments)], [2, 'high', 'analyst1', ['Riposte: device wiped']]);
        const form = new URLSearchParams(splunk.callsTo('POST', '/services/notable_update').at(-1)!.body);
        assert.deepEqual([...form.entries()], [
          ['ruleUIDs', 'nb-7'], ['status', '2'], ['urgency', 'high'], ['newOwner', 'analyst1'], ['comment', 'Riposte: device wiped'],
        ]);
        const missing = await bindAndRun(h, 'siem-pb', { siem: 'es' }, 'nb-404');
        assert.equal(missing.status, 'failed');
        assert.match(missing.error?.message ?? '', /notable update failed: No matching notable events were found/);
      } finally {
        await h.close();
      }
    });
  });
}
