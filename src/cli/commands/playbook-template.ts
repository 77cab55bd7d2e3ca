/**
 * What `riposte playbooks new` writes: a small working playbook (check an allow-list, block the
 * alert's source address at the firewall, leave a note) and a declarative test of it that passes.
 */

export function playbookTemplate(id: string): string {
  return `/**
 * ${id}: block the alert's source address at the firewall unless it is on the allow-list.
 * Bind its role to an asset once it is synced: riposte playbooks bind ${id} firewall=<asset>
 */
import { cefValue, definePlaybook } from 'riposte';

export default definePlaybook(
  {
    id: '${id}',
    version: 1,
    description: 'Block the source address of an alert unless it is allow-listed.',
    triggers: { labels: ['${id}'] },
    automation: 'supervised',
    minutesSaved: 10,
    roles: { firewall: 'firewall' },
  },
  async (ctx, incident) => {
    const ip = cefValue(incident, 'sourceAddress');
    if (ip === undefined) {
      await ctx.note('The alert carries no source address: nothing to block.');
      return { blocked: false };
    }
    if (await ctx.lists.contains('allowed-sources', ip)) {
      await ctx.note(\`\${ip} is on the allow-list: not blocked.\`);
      await ctx.setStatus('closed');
      return { blocked: false };
    }
    const result = await ctx.roles.firewall.blockIp({ ip, comment: \`Riposte incident \${incident.id}\` });
    await ctx.note(\`Blocked \${result.ip} at the firewall.\`);
    await ctx.setStatus('contained');
    return { blocked: result.blocked };
  },
);
`;
}

export function testTemplate(id: string): string {
  const test = {
    playbook: id,
    description: 'a source address not on the allow-list is blocked',
    scenario: {
      incident: { label: id, severity: 'high', artifacts: [{ cef: { sourceAddress: '198.51.100.7' } }] },
      lists: { 'allowed-sources': ['10.0.0.0/8'] },
      actions: { 'firewall.blockIp': { output: { blocked: true, ip: '198.51.100.7' } } },
    },
    expect: {
      status: 'completed',
      actions: [{ name: 'firewall.blockIp', input: { ip: '198.51.100.7', comment: 'Riposte incident 1' }, status: 'completed' }],
      notes: ['Blocked 198.51.100.7 at the firewall.'],
      incidentStatus: 'contained',
    },
  };
  return `${JSON.stringify(test, null, 2)}\n`;
}
