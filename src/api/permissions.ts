/**
 * Named permissions, finer than the four roles, and which role holds which by default. Routes
 * declare the permission they need in route-access.ts; a handler that decides more finely (which
 * list, which action, how much of the audit log) asks `hasPermission` itself.
 *
 * The table is code, not configuration: changing what a role may do is a reviewed change. What an
 * operator configures is narrower: who may edit each custom list (list-editors.ts) and the prefix
 * length below which an IP list entry counts as "everything" (list-guard.ts).
 */
import type { Role } from './auth.js';

export const PERMISSIONS = {
  'incidents.read': 'read incidents, their artifacts and notes',
  'incidents.write': 'change an incident (status, severity, owner)',
  'incidents.ingest': 'post alerts on the generic ingestion route with an API token',
  'runs.read': 'read runs, their journals and their approvals',
  'runs.start': 'start a playbook on an incident, re-run a finished run',
  'approvals.read': 'read approval requests and prompts',
  'approvals.decide': 'approve or deny an action, answer a prompt (four-eyes still applies)',
  'lists.read': 'read custom lists',
  'lists.create': 'create a custom list',
  'lists.edit': 'add and remove items of a custom list that has no editors of its own',
  'lists.admin': 'edit every list, add over-broad entries (0.0.0.0/0, ::/0, *), name list editors',
  'adhoc.run': 'run one action on an asset for an incident (ad-hoc), if it sends nothing out',
  'adhoc.run-egress': 'run an ad-hoc action that sends data out (e-mail, chat, search, event, HTTP)',
  'audit.read': 'read the audit log with personal data and free text masked; verify the chain',
  'audit.read-full': 'read the audit log unredacted',
  'cases.read': 'read cases',
  'cases.write': 'create, comment on and change cases',
  'policy.read': 'read the kill switch and blast-radius rules',
  'policy.admin': 'kill switch, blast radius, automation levels, asset approvers, playbook triggers',
  'repos.read': 'read playbook repositories',
  'repos.admin': 'add, sync and remove playbook repositories; confirm playbooks',
  'schedules.read': 'read playbook schedules',
  'schedules.admin': 'create and remove playbook schedules',
} as const satisfies Record<string, string>;

export type Permission = keyof typeof PERMISSIONS;

const ALL = Object.keys(PERMISSIONS) as Permission[];

const READ: readonly Permission[] = [
  'incidents.read', 'runs.read', 'approvals.read', 'lists.read', 'audit.read', 'cases.read', 'policy.read',
  'repos.read', 'schedules.read',
];

/** What each role may do. `ingest` only posts alerts; `viewer` reads, with the audit log redacted. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: ALL,
  analyst: [
    ...READ, 'incidents.write', 'incidents.ingest', 'runs.start', 'approvals.decide', 'lists.create', 'lists.edit',
    'adhoc.run', 'cases.write',
  ],
  ingest: ['incidents.ingest'],
  viewer: READ,
};

const granted = new Map<Role, ReadonlySet<Permission>>(
  (Object.entries(ROLE_PERMISSIONS) as Array<[Role, readonly Permission[]]>).map(([r, ps]) => [r, new Set(ps)]),
);

/** Whether `role` holds `permission`; an unknown role holds nothing. */
export function hasPermission(role: Role | string, permission: Permission): boolean {
  return granted.get(role as Role)?.has(permission) ?? false;
}

/** The roles that hold `permission`, for error messages and docs. */
export function rolesWith(permission: Permission): Role[] {
  return [...granted].filter(([, ps]) => ps.has(permission)).map(([r]) => r);
}

export function isPermission(name: string): name is Permission {
  return Object.hasOwn(PERMISSIONS, name);
}
