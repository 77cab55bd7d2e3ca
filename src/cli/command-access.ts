/**
 * Who may use each CLI command. A command either calls the HTTP API with the caller's token (the
 * server enforces the permissions named here, see src/api/route-access.ts), or opens the data
 * directory itself (whoever can read and write that directory, its database and secret key, is
 * an administrator of this Riposte: the local administrator), or touches neither (authoring aids
 * and the app catalog). A command missing here refuses to run (`requireDeclaredCommand`), and
 * test/cli/command-access.test.ts fails, so a new command cannot ship undeclared.
 */
import type { Command } from 'commander';
import type { Permission } from '../api/permissions.js';
import { CliError } from './open-store.js';

export type CommandAccess =
  /** Through the API with the caller's token; the server checks these permissions. */
  | { api: readonly Permission[] }
  /** Opens the data directory: the local administrator. */
  | { local: 'data-dir' }
  /** Reads or writes neither the server nor the data directory. */
  | { none: string };

const api = (...permissions: Permission[]): CommandAccess => ({ api: permissions });
const LOCAL: CommandAccess = { local: 'data-dir' };

/** Full command path (`lists add`) → who may use it. */
export const COMMAND_ACCESS: Readonly<Record<string, CommandAccess>> = {
  'serve': LOCAL,
  // Reads the source and admin tokens from the data directory's credentials.json.
  'demo': LOCAL,
  'incidents list': LOCAL,
  'incidents show': LOCAL,
  'runs list': LOCAL,
  'runs show': LOCAL,
  'runs start': api('runs.start'),
  'runs rerun': api('runs.start'),
  'runs export': LOCAL,
  'runs replay': LOCAL,
  'runs resolve': LOCAL,
  'lists list': LOCAL,
  'lists show': LOCAL,
  'lists create': LOCAL,
  'lists add': LOCAL,
  'lists remove': LOCAL,
  'lists delete': LOCAL,
  'lists editors': LOCAL,
  'lists guard': LOCAL,
  'audit verify': LOCAL,
  'audit list': LOCAL,
  'audit rotate-key': LOCAL,
  'playbooks new': { none: 'writes a playbook skeleton into a folder of the author\'s' },
  'playbooks test': { none: 'runs an author\'s playbook tests on their own files' },
  'playbooks list': LOCAL,
  'playbooks confirm': LOCAL,
  'playbooks trigger': api('policy.admin'),
  'playbooks bind': LOCAL,
  'cases list': LOCAL,
  'cases show': LOCAL,
  'assets add': LOCAL,
  'assets list': LOCAL,
  'assets show': LOCAL,
  'assets test': LOCAL,
  'assets remove': LOCAL,
  'apps list': { none: 'shows the apps built into this Riposte' },
  'apps show': { none: 'shows the apps built into this Riposte' },
  'approvals list': api('approvals.read'),
  'approvals show': api('approvals.read'),
  'approvals approve': api('incidents.read', 'runs.read', 'approvals.read', 'approvals.decide'),
  'approvals deny': api('incidents.read', 'runs.read', 'approvals.read', 'approvals.decide'),
  'prompts list': api('approvals.read'),
  'prompts show': api('approvals.read'),
  'prompts answer': api('approvals.decide'),
  // `status` reads (policy.read); on/off change it (policy.admin).
  'policy kill-switch': api('policy.read', 'policy.admin'),
  'policy automation': api('policy.admin'),
  'policy dry-run': api('policy.admin'),
  'policy approvers': api('policy.admin'),
  'policy blast-radius': api('policy.read', 'policy.admin'),
  // Without --incident-editors it reads (policy.read); with it, it changes the policy (policy.admin).
  'policy four-eyes': api('policy.read', 'policy.admin'),
  'users add': LOCAL,
  'users list': LOCAL,
  'users disable': LOCAL,
  'users enable': LOCAL,
  'tokens create': LOCAL,
  'tokens list': LOCAL,
  'tokens revoke': LOCAL,
  'secrets status': LOCAL,
  'secrets rotate-key': LOCAL,
  'prune': LOCAL,
  'repos add': LOCAL,
  'repos list': LOCAL,
  'repos show': LOCAL,
  'repos sync': LOCAL,
  'repos remove': LOCAL,
  'repos webhook': LOCAL,
  'schedules add': api('schedules.admin'),
  'schedules list': LOCAL,
  'schedules remove': api('schedules.admin'),
};

/** `lists add` for the command `add` under `lists` (the program's own name left out). */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function commandAccessOf(path: string): CommandAccess | undefined {
  return Object.hasOwn(COMMAND_ACCESS, path) ? COMMAND_ACCESS[path] : undefined;
}

/** Commander `preAction` hook: an undeclared command does not run. */
export function requireDeclaredCommand(cmd: Command): void {
  const path = commandPath(cmd);
  if (commandAccessOf(path) === undefined) {
    throw new CliError(`the command "${path}" declares no access (src/cli/command-access.ts), so it does not run`);
  }
}
