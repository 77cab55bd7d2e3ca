/**
 * The founding scenario: a mobile device reached a destination that is not on the access list.
 *
 * 1. An allowed destination (custom list "allowed-destinations", IPs and CIDRs) → benign, closed.
 * 2. In parallel: the device profile from the MDM and the user profile from the directory.
 * 3. Repeat offender? (earlier incidents of this kind for the same user or device in 30 days)
 *    - yes: wipe the device via the MDM and block its address at the firewall, in parallel;
 *    - no:  a lighter response — a low-priority ticket asks the SOC to talk to the user.
 * 4. A ticket with everything gathered, linked from the incident by a note; final status.
 *
 * A containment branch that fails (the vendor refused, an approval was denied, the source address
 * failed validation at ingestion and so is no IP to block) does not stop the other or the run:
 * what was done and what was not goes into a note and the ticket, and an incident where one
 * branch changed something while the other did not is left `partially_contained`.
 */
import { ActionFailedError, cefValue, definePlaybook, untrustedValue } from '../src/sdk/index.js';
import type { DeviceRecord, UserRecord } from '../src/sdk/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const ACCESS_LIST = 'allowed-destinations';
export const REPEAT_WINDOW_MS = 30 * DAY_MS;

export default definePlaybook(
  {
    id: 'mobile-unauthorized-ip',
    version: 1,
    description: 'Mobile device reached an unauthorized IP: check the access list, profile device and user, contain repeat offenders, open a ticket.',
    triggers: { labels: ['mobile-unauthorized-ip'] },
    // Wipe and block (contain actions) wait for an analyst's approval unless an operator sets
    // the level to autonomous (`riposte playbooks automation mobile-unauthorized-ip autonomous`).
    automation: 'supervised',
    minutesSaved: 45,
    roles: { mdm: 'mdm', directory: 'directory', firewall: 'firewall', ticketing: 'ticketing' },
  },
  async (ctx, incident) => {
    const destination = cefValue(incident, 'destinationAddress');
    const userName = cefValue(incident, 'sourceUserName') ?? cefValue(incident, 'suser');
    const deviceId = cefValue(incident, 'deviceExternalId');
    const deviceName = cefValue(incident, 'deviceHostname');
    const sourceIp = cefValue(incident, 'sourceAddress');
    // Kept as text by ingestion because it is no valid address: shown to people, never blocked.
    const badSource = sourceIp === undefined ? untrustedValue(incident, 'sourceAddress') : undefined;

    if (destination === undefined) {
      await ctx.note('The alert carries no destination address: nothing to check. Left open for an analyst.');
      await ctx.setStatus('open');
      // Nothing was done for the analyst: the run earns no minutes saved.
      return { outcome: 'incomplete', minutesSaved: 0 };
    }

    if (await ctx.lists.contains(ACCESS_LIST, destination)) {
      await ctx.note(`Destination ${destination} is on the access list "${ACCESS_LIST}": benign.`);
      await ctx.setStatus('closed');
      return { outcome: 'benign', destination };
    }
    await ctx.setStatus('open');

    const noUser = { found: false as const, user: undefined as UserRecord | undefined };
    const [deviceResult, userResult] = await Promise.all([
      ctx.roles.mdm.findDevice(deviceId !== undefined ? { deviceId } : { deviceName }),
      userName !== undefined ? ctx.roles.directory.getUser({ user: userName }) : Promise.resolve(noUser),
    ]);
    const device: DeviceRecord | undefined = deviceResult.device;
    const user: UserRecord | undefined = userResult.user;

    const match = [
      ...(userName !== undefined ? [{ field: 'sourceUserName', value: userName }] : []),
      ...(deviceId !== undefined ? [{ field: 'deviceExternalId', value: deviceId }] : []),
    ];
    const history = match.length > 0 ? await ctx.related({ match, withinMs: REPEAT_WINDOW_MS }) : { count: 0, incidentIds: [] };
    const repeatOffender = history.count > 0;

    const actions: string[] = [];
    let wiped = false;
    let blocked = false;
    // A branch that should have contained and did not (failed, refused, or impossible).
    const notDone: string[] = [];
    if (repeatOffender) {
      // A failed action (vendor error, denied or expired approval) fails only its branch; the
      // other branch, the note and the ticket still go on and say so.
      const failed = (err: unknown) => {
        if (!(err instanceof ActionFailedError)) return Promise.reject(err);
        if (err.record.name === 'ApprovalDenied') return err.record.message;
        const maybe = err.record.applied === 'unknown' ? '; the vendor may have carried it out anyway, check' : '';
        return `failed (${err.record.message}${maybe})`;
      };
      const [wipe, block] = await Promise.all([
        device ? ctx.roles.mdm.wipeDevice({ deviceId: device.id }).catch(failed) : Promise.resolve(undefined),
        sourceIp !== undefined ? ctx.roles.firewall.blockIp({ ip: sourceIp, comment: `Riposte incident ${incident.id}: ${incident.name}` }).catch(failed) : Promise.resolve(undefined),
      ]);
      wiped = typeof wipe === 'object' && wipe.accepted;
      blocked = typeof block === 'object' && block.blocked;
      if (typeof wipe === 'string') notDone.push('wipe');
      if (typeof block === 'string' || badSource !== undefined) notDone.push('block');
      actions.push(typeof wipe === 'string' ? `Wipe NOT done: ${wipe}.` : wipe ? `Wipe of ${device!.name} (${device!.id}) ${wipe.accepted ? 'accepted by the MDM' : 'not sent'} (state ${wipe.state ?? 'pending'}).` : 'Device not found in the MDM: NOT wiped.');
      actions.push(typeof block === 'string' ? `Block NOT done: ${block}.` : block ? `Source address ${sourceIp} ${block.blocked ? 'blocked at the firewall' : 'not blocked'}${block.detail ? ` (${block.detail})` : ''}.`
        : badSource !== undefined
          ? `Block NOT done: the alert's source address ${JSON.stringify(badSource.value)} is not a valid address ` +
            `(${badSource.reason}); nothing was sent to the firewall.`
          : 'No source address in the alert: nothing blocked.');
      const done = [wiped ? 'wipe' : '', blocked ? 'block' : ''].filter((s) => s !== '');
      const finish = done.length > 0 && notDone.length > 0
        ? ` PARTIALLY CONTAINED: ${done.join(' and ')} done, ${notDone.join(' and ')} NOT done — finish it by hand.`
        : '';
      await ctx.note(`Repeat offender (${history.count} earlier incident(s) in 30 days: ${history.incidentIds.join(', ')}). ${actions.join(' ')}${finish}`);
    } else {
      actions.push('First offence: no containment; the SOC is asked to contact the user.');
      await ctx.note('First offence in 30 days: lighter response (ticket to the SOC to contact the user), no wipe or block.');
    }

    const ticket = await ctx.roles.ticketing.createTicket({
      dedupeKey: `incident-${incident.id}`,
      priority: repeatOffender ? 'high' : 'low',
      summary: repeatOffender
        ? `Recover and examine ${wiped ? 'wiped ' : ''}device ${device?.name ?? deviceName ?? deviceId ?? ''} (${user?.displayName ?? userName ?? 'unknown user'})`
        : `Contact ${user?.displayName ?? userName ?? 'user'}: mobile device reached unauthorized IP ${destination}`,
      description: [
        `Riposte incident ${incident.id}: ${incident.name}`,
        `Destination ${destination} is not on the access list "${ACCESS_LIST}".`,
        `Device: ${device ? `${device.name} (${device.id}), serial ${device.serialNumber ?? '?'}, ${device.os ?? '?'} ${device.model ?? ''}, user ${device.userPrincipalName ?? '?'}` : `not found in the MDM (${deviceId ?? deviceName ?? 'no id in the alert'})`}`,
        `User: ${user ? `${user.displayName ?? user.userName} <${user.email ?? user.userName}>, ${user.jobTitle ?? ''} ${user.department ?? ''}`.trim() : `not found in the directory (${userName ?? 'no user in the alert'})`}`,
        `Source address: ${sourceIp
          ?? (badSource !== undefined ? `${JSON.stringify(badSource.value)} (invalid: ${badSource.reason})` : 'unknown')}.`,
        `History: ${history.count} earlier incident(s) of this kind in 30 days${history.count > 0 ? ` (${history.incidentIds.join(', ')})` : ''}.`,
        `Actions taken: ${actions.join(' ')}`,
      ].join('\n\n'),
      labels: ['mobile-unauthorized-ip', repeatOffender ? 'repeat-offender' : 'first-offence'],
    });
    await ctx.note(`Ticket ${ticket.key} ${ticket.created ? 'opened' : 'already existed'}${ticket.url ? `: ${ticket.url}` : ''}.`);
    const contained = wiped || blocked;
    const partial = contained && notDone.length > 0;
    await ctx.setStatus(
      !repeatOffender ? 'resolved' : partial ? 'partially_contained' : contained ? 'contained' : 'open');
    const outcome = !repeatOffender ? 'first-offence'
      : partial ? 'partially-contained' : contained ? 'contained' : 'containment-refused';
    return { outcome, ticket: ticket.key, wiped, blocked, ...(partial ? { notDone } : {}) };
  },
);
