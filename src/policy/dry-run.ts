/**
 * What a destructive capability action "returns" in dry-run mode: a schema-valid output that says
 * nothing happened, so the playbook's logic continues and the run shows what would have run.
 * Actions outside the capabilities return null.
 */
export function dryRunOutput(capabilities: readonly string[], action: string, input: unknown): unknown {
  const i = (input ?? {}) as Record<string, unknown>;
  if (capabilities.includes('mdm') && action === 'wipeDevice') return { accepted: false, state: 'dry-run' };
  if (capabilities.includes('firewall') && action === 'blockIp') return { blocked: false, ip: String(i.ip ?? ''), detail: 'dry run: not blocked' };
  if (capabilities.includes('firewall') && action === 'unblockIp') return { unblocked: false, ip: String(i.ip ?? ''), detail: 'dry run: not unblocked' };
  if (capabilities.includes('ticketing') && action === 'createTicket') return { id: 'dry-run', key: 'DRY-RUN', created: false };
  if (capabilities.includes('notify') && action === 'sendMessage') return { delivered: false };
  if (capabilities.includes('siem') && action === 'updateAlert') {
    return { updated: false, alertId: String(i.alertId ?? ''), detail: 'dry run: not updated' };
  }
  return null;
}
