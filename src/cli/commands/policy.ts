/** `riposte policy …` and `riposte users …`: safety rails, automation levels, approvers, people. */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { ApiTokenRecord } from '../../store/records.js';
import { addApiOptions, apiClient } from '../api-client.js';
import { CliError, cliActor, printJson, withStore } from '../open-store.js';
import { formatTime, table } from '../format.js';
import { terminalSafe } from '../terminal-text.js';
import { parseExpiry } from './tokens.js';
import { print } from '../output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The kill switch as the API returns it: `{ engaged: false }` alone when it was never set. */
export interface KillSwitchView { engaged: boolean; by?: string; at?: string; reason?: string }

/** The kill switch for people: engaged or not, and who changed it, when and why. */
export function describeKillSwitch(k: KillSwitchView): string {
  const head = k.engaged
    ? 'kill switch: ENGAGED — destructive actions are paused; runs reaching one park until it is released'
    : 'kill switch: off — destructive actions run as their policy allows';
  if (k.by === undefined && k.at === undefined) return `${head}\n  never engaged`;
  return [
    head,
    `  ${k.engaged ? 'engaged by ' : 'released by'}  ${terminalSafe(k.by ?? '?')}`,
    `  at           ${formatTime(k.at)}`,
    `  reason       ${terminalSafe(k.reason ?? '')}`,
  ].join('\n');
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('safety rails and automation levels');
  addApiOptions(policy.command('kill-switch <state>').description('on: pause every destructive action (runs park); off: resume them; status'))
    .option('--reason <text>', 'why (required for on/off)')
    .option('--json', 'print the kill switch state as JSON')
    .action(async (state: string, o: { reason?: string; json?: boolean }, cmd: Command) => {
      if (!['status', 'on', 'off'].includes(state)) throw new CliError('kill-switch takes on, off or status');
      if (state !== 'status' && !o.reason) throw new CliError('give --reason "<why>" (it goes into the audit log)');
      const api = apiClient(cmd);
      const { killSwitch } = state === 'status'
        ? await api.get<{ killSwitch: KillSwitchView }>('/policy/kill-switch')
        : await api.send<{ killSwitch: KillSwitchView }>('PUT', '/policy/kill-switch',
          { engaged: state === 'on', reason: o.reason });
      if (o.json) return printJson(killSwitch);
      print(describeKillSwitch(killSwitch));
    });
  const fourEyesHelp = 'whoever caused a run never approves it; show or set whether incident editors are excluded too';
  addApiOptions(policy.command('four-eyes').description(fourEyesHelp))
    .option('--incident-editors <state>',
      'on: whoever wrote or changed an incident before a run took its snapshot may not approve the run; off')
    .option('--json', 'print the policy as JSON')
    .action(async (o: { incidentEditors?: string; json?: boolean }, cmd: Command) => {
      const state = o.incidentEditors;
      if (state !== undefined && state !== 'on' && state !== 'off') {
        throw new CliError('--incident-editors takes on or off');
      }
      const api = apiClient(cmd);
      type View = { fourEyes: { incidentEditors: boolean } };
      const { fourEyes } = state === undefined
        ? await api.get<View>('/policy/four-eyes')
        : await api.send<View>('PUT', '/policy/four-eyes', { incidentEditors: state === 'on' });
      if (o.json) return printJson(fourEyes);
      print('four-eyes: on (always) — whoever caused a run, or the run it repeats, '
        + 'never approves its destructive actions');
      print(`  incident editors  ${fourEyes.incidentEditors ? 'excluded too' : 'not excluded'} `
        + '(whoever wrote or changed the incident before the run took its snapshot)');
    });
  addApiOptions(policy.command('automation <playbookId> <level>').description('set a playbook\'s automation level: manual | supervised | autonomous'))
    .action(async (playbookId: string, level: string, _o: unknown, cmd: Command) => {
      await apiClient(cmd).send('PUT', `/playbooks/${encodeURIComponent(playbookId)}/automation`, { level });
      print(`${playbookId}: automation level ${level}`);
    });
  addApiOptions(policy.command('dry-run <playbookId> <state>').description('on: the playbook\'s destructive actions are recorded, not executed; off'))
    .action(async (playbookId: string, state: string, _o: unknown, cmd: Command) => {
      if (state !== 'on' && state !== 'off') throw new CliError('dry-run takes on or off');
      await apiClient(cmd).send('PUT', `/playbooks/${encodeURIComponent(playbookId)}/automation`, { dryRun: state === 'on' });
      print(`${playbookId}: dry run ${state}`);
    });
  addApiOptions(policy.command('approvers <asset>').description('require approval for an asset\'s non-read-only actions'))
    .option('--user <name>', 'an approver (repeatable)', collect).option('--role <role>', 'an approver role (repeatable)', collect)
    .option('--quorum <n>', 'approvals needed', '1').option('--off', 'remove the requirement')
    .action(async (asset: string, o: { user?: string[]; role?: string[]; quorum: string; off?: boolean }, cmd: Command) => {
      const body = { requireApproval: !o.off, approvers: { users: o.user ?? [], roles: o.role ?? [] }, quorum: Number(o.quorum) };
      await apiClient(cmd).send('PUT', `/assets/${encodeURIComponent(asset)}/policy`, body);
      print(o.off ? `${asset}: no approval required by the asset` : `${asset}: approval by ${[...body.approvers.users, ...body.approvers.roles.map((r) => `role ${r}`)].join(', ')}, quorum ${body.quorum}, four-eyes`);
    });
  addApiOptions(policy.command('blast-radius <action> <max> <window>').description('more than <max> <action> per <window> (e.g. 1h, 30m) forces approval'))
    .option('--app <appId>', 'only this app').option('--asset <asset>', 'only this asset')
    .action(async (action: string, max: string, window: string, o: { app?: string; asset?: string }, cmd: Command) => {
      const m = /^(\d+)(s|m|h|d)$/.exec(window);
      if (!m) throw new CliError('window is a number and a unit: 30m, 1h, 1d');
      const windowMs = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
      const api = apiClient(cmd);
      const { rules } = await api.get<{ rules: Array<Record<string, unknown>> }>('/policy/blast-radius');
      const rule = { action, max: Number(max), windowMs, ...(o.app ? { app: o.app } : {}), ...(o.asset ? { asset: o.asset } : {}) };
      const others = rules.filter((r) => !(r.action === action && r.app === o.app && r.asset === o.asset));
      await api.send('PUT', '/policy/blast-radius', { rules: [...others, rule] });
      print(`blast radius: more than ${max} ${action} per ${window} now needs approval`);
    });

  const users = program.command('users').description('people who approve and answer (local administration)');
  users.command('add <name>').description('create or update a user and issue an API token for them')
    .option('--email <address>').option('--role <role>', 'role (repeatable), e.g. analyst, soc-lead, admin', collect)
    .option('--token-role <role>', 'API role of the issued token: admin | analyst | viewer | ingest', 'analyst')
    .option('--token-expires <when>', 'the token is refused after this: a duration (90m, 12h, 30d) or a date')
    .option('--no-token', 'do not issue a token')
    .action(async (name: string, o: {
      email?: string; role?: string[]; tokenRole: string; token: boolean; tokenExpires?: string;
    }, cmd: Command) => {
      const expiresAt = o.tokenExpires === undefined ? null : parseExpiry(o.tokenExpires);
      await withStore(cmd, async (store) => {
        const token = `rpa_${randomBytes(24).toString('base64url')}`;
        // The store validates every field (the token role included) before writing, then writes
        // the user and the token in one transaction: a refused option leaves nothing behind.
        const apiToken = o.token ? { role: o.tokenRole as ApiTokenRecord['role'], token, expiresAt } : null;
        // Updating a disabled user does not enable them again: that is `users enable`.
        const disabled = (await store.policyStore().getUser(name))?.disabled ?? false;
        const user = { name, email: o.email ?? null, roles: o.role ?? [], disabled };
        await store.putUserWithToken(user, apiToken, cliActor());
        print(apiToken ? `user ${name} saved. API token (shown once): ${token}` : `user ${name} saved`);
      });
    });
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    users.command(`${verb} <name>`)
      .description(disabled
        ? 'disable a user: their API tokens are refused at once (also by a running server), they approve nothing'
        : 'enable a disabled user again (their tokens work again unless revoked or expired)')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        await withStore(cmd, async (store) => {
          const user = await store.policyStore().getUser(name);
          if (!user) throw new CliError(`no user named "${name}" (see riposte users list)`);
          if (user.disabled === disabled) {
            print(`user ${name} is already ${verb}d`);
            return;
          }
          await store.policyStore().putUser({ name, email: user.email, roles: user.roles, disabled }, cliActor());
          print(`user ${name} ${verb}d`);
        });
      });
  }
  users.command('list').option('--json').action(async (o: { json?: boolean }, cmd: Command) => {
    await withStore(cmd, async (store) => {
      const list = await store.policyStore().listUsers();
      if (o.json) return printJson(list);
      print(table(['NAME', 'EMAIL', 'ROLES', 'DISABLED'], list.map((u) => [u.name, u.email ?? '', u.roles.join(', '), u.disabled ? 'yes' : ''])));
    });
  });
}
