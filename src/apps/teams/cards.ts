/** The two message formats Teams webhooks accept, built from one notification. */

export interface TeamsNotification {
  title: string;
  text: string;
  facts?: Array<{ name: string; value: string }> | undefined;
  /** Hex colour of the MessageCard accent bar (Adaptive Cards have no equivalent). */
  themeColor?: string | undefined;
  /** A button opening this URL (http or https). */
  link?: { title: string; url: string } | undefined;
}

/** Workflows ("Post to a channel when a webhook request is received") message with one Adaptive Card. */
export function adaptiveCardMessage(n: TeamsNotification): Record<string, unknown> {
  const body: unknown[] = [
    { type: 'TextBlock', text: n.title, weight: 'Bolder', size: 'Medium', wrap: true },
    { type: 'TextBlock', text: n.text, wrap: true },
  ];
  if (n.facts !== undefined && n.facts.length > 0) {
    body.push({ type: 'FactSet', facts: n.facts.map((f) => ({ title: f.name, value: f.value })) });
  }
  return {
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      contentUrl: null,
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body,
        ...(n.link !== undefined ? { actions: [{ type: 'Action.OpenUrl', title: n.link.title, url: n.link.url }] } : {}),
        msteams: { width: 'Full' },
      },
    }],
  };
}

/** Legacy Office 365 connector MessageCard. */
export function messageCard(n: TeamsNotification): Record<string, unknown> {
  const card: Record<string, unknown> = {
    '@type': 'MessageCard',
    '@context': 'http://schema.org/extensions',
    summary: n.title,
    title: n.title,
    text: n.text,
  };
  if (n.themeColor !== undefined) card.themeColor = n.themeColor.replace(/^#/, '').toUpperCase();
  if (n.facts !== undefined && n.facts.length > 0) card.sections = [{ facts: n.facts.map((f) => ({ name: f.name, value: f.value })) }];
  if (n.link !== undefined) {
    card.potentialAction = [{ '@type': 'OpenUri', name: n.link.title, targets: [{ os: 'default', uri: n.link.url }] }];
  }
  return card;
}
