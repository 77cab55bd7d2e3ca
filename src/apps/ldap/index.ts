/**
 * LDAP directory app for Active Directory and OpenLDAP (ldapts): user lookup and group membership,
 * account disable/enable, password reset. Implements the `directory` capability.
 *
 * Service account rights needed: read on users and groups; for disable/enable write on
 * userAccountControl (AD) or pwdAccountLockedTime (OpenLDAP, ppolicy overlay); for resetPassword
 * "Reset password" (AD) or write on userPassword (OpenLDAP).
 *
 * Passwords: resetPassword takes the new password from its input or, when none is given, sets a
 * random one that is never returned or logged (the account's old password stops working and an
 * administrator hands out a new one out of band). Outputs are journaled, so a password never goes
 * there. Inputs are journaled too: pass `newPassword` only for a temporary value the user must change.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { userGroups } from './groups.js';
import { ldapConfig, withSession } from './session.js';
import {
  findUser, generatePassword, passwordChangedAt, requireUser, setEnabled, setPassword, toUserRecord, USER_ATTRIBUTES,
} from './users.js';

export { ldapConfig, type LdapConfig } from './session.js';
export { DEFAULT_USER_FILTER, buildUserFilter, escapeFilterValue } from './filter.js';

/** How far the directory's clock may be from ours when reconciling a password reset. */
export const RECONCILE_CLOCK_SKEW_MS = 120_000;

const UserRef = z.object({
  user: z.string().min(1).describe('sAMAccountName, userPrincipalName, mail, uid (per userFilter) or the DN'),
});

const EnabledOutput = z.object({
  user: z.string(),
  dn: z.string(),
  enabled: z.boolean(),
  /** False when the account already was in that state (nothing was written). */
  changed: z.boolean(),
});

const GroupsOutput = z.object({
  found: z.boolean(),
  dn: z.string().optional(),
  groups: z.array(z.object({ dn: z.string(), name: z.string() })),
  count: z.number().int(),
  source: z.enum(['memberOf', 'search']).optional(),
});

const ResetInput = UserRef.extend({
  newPassword: z.string().min(1).max(256).optional()
    .describe('Temporary password to set (journaled with the step input). Omit to set a random password nobody is told.'),
});
const ResetOutput = z.object({ user: z.string(), dn: z.string(), reset: z.literal(true), generated: z.boolean() });

export const ldapApp = defineApp({
  id: 'ldap-directory',
  name: 'LDAP / Active Directory',
  vendor: 'LDAP',
  product: 'Active Directory / OpenLDAP',
  version: '1.0.0',
  description: 'User lookup, group membership, account disable/enable and password reset over LDAP (AD or OpenLDAP).',
  implements: ['directory'],
  config: ldapConfig,
  secrets: ['bindPassword'],
  actions: (action) => ({
    getUser: action({
      description: 'Find a user by account name, UPN, mail or uid (the configured filter) or by DN.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: capabilities.directory.getUser.input,
      output: capabilities.directory.getUser.output,
      async handler(input, ctx) {
        return withSession(ctx.config, ctx.signal, async (s) => {
          const e = await findUser(s, input.user);
          return e ? { found: true, user: toUserRecord(e, ctx.config.flavor) } : { found: false };
        });
      },
    }),

    getGroups: action({
      description: 'Groups a user belongs to (memberOf, or a paged search of member/uniqueMember/memberUid).',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: UserRef,
      output: GroupsOutput,
      async handler(input, ctx) {
        return withSession(ctx.config, ctx.signal, async (s) => {
          const e = await findUser(s, input.user, ['uid', 'memberOf']);
          if (!e) return { found: false, groups: [], count: 0 };
          const m = await userGroups(s, e);
          return { found: true, dn: e.dn, groups: m.groups, count: m.groups.length, source: m.source };
        });
      },
    }),

    disableUser: action({
      description: 'Disable an account: AD sets ACCOUNTDISABLE in userAccountControl; OpenLDAP sets pwdAccountLockedTime 000001010000Z (ppolicy). Existing sessions/tickets are not revoked.',
      kind: 'contain',
      readOnly: false,
      idempotent: true,
      undo: 'enableUser',
      input: UserRef,
      output: EnabledOutput,
      async handler(input, ctx) {
        return withSession(ctx.config, ctx.signal, async (s) => {
          const e = await requireUser(s, input.user);
          const changed = await setEnabled(s, e, false);
          ctx.log(changed ? 'account disabled' : 'account already disabled', { dn: e.dn });
          return { user: input.user, dn: e.dn, enabled: false, changed };
        });
      },
    }),

    enableUser: action({
      description: 'Enable an account: AD clears ACCOUNTDISABLE; OpenLDAP deletes pwdAccountLockedTime (also lifts a failed-bind lockout).',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      undo: 'disableUser',
      input: UserRef,
      output: EnabledOutput,
      async handler(input, ctx) {
        return withSession(ctx.config, ctx.signal, async (s) => {
          const e = await requireUser(s, input.user);
          const changed = await setEnabled(s, e, true);
          ctx.log(changed ? 'account enabled' : 'account already enabled', { dn: e.dn });
          return { user: input.user, dn: e.dn, enabled: true, changed };
        });
      },
    }),

    resetPassword: action({
      description: 'Set a new password (the given newPassword, or a random one that is never returned). The password never appears in outputs, logs or errors. AD: unicodePwd over ldaps:// only. OpenLDAP: Password Modify extended operation.',
      kind: 'correct',
      readOnly: false,
      idempotent: false,
      input: ResetInput,
      output: ResetOutput,
      async handler(input, ctx) {
        const cfg = ctx.config;
        if (cfg.flavor === 'active-directory' && !/^ldaps:/i.test(cfg.url)) {
          throw new TerminalError('Active Directory accepts password changes (unicodePwd) only over an encrypted connection: configure an ldaps:// url', { applied: 'no' });
        }
        const password = input.newPassword ?? generatePassword();
        return withSession(cfg, ctx.signal, async (s) => {
          s.addSecret(password);
          const e = await requireUser(s, input.user, ['uid', 'sAMAccountName']);
          await setPassword(s, e.dn, password);
          ctx.log('password reset', { dn: e.dn, generated: input.newPassword === undefined });
          return { user: input.user, dn: e.dn, reset: true as const, generated: input.newPassword === undefined };
        });
      },
      /**
       * The directory records when a password last changed (ppolicy pwdChangedTime, AD pwdLastSet).
       * A change at or after the intent counts as applied; one well before it (beyond the allowed
       * clock skew) as not applied; anything in between, or no timestamp at all, stays unknown.
       */
      async reconcile(input, ctx) {
        return withSession(ctx.config, ctx.signal, async (s) => {
          const e = await findUser(s, input.user, USER_ATTRIBUTES);
          if (!e) return { applied: false };
          const at = passwordChangedAt(e, ctx.config.flavor);
          if (!at) return { applied: 'unknown', reason: `the directory records no password change time for ${e.dn} (pwdChangedTime / pwdLastSet)` };
          if (at.getTime() >= ctx.intentAt.getTime()) {
            return { applied: true, output: { user: input.user, dn: e.dn, reset: true as const, generated: input.newPassword === undefined } };
          }
          if (at.getTime() < ctx.intentAt.getTime() - RECONCILE_CLOCK_SKEW_MS) return { applied: false };
          return { applied: 'unknown', reason: `password of ${e.dn} changed at ${at.toISOString()}, within the clock-skew allowance before the intent` };
        });
      },
    }),
  }),

  async testConnectivity(ctx) {
    return withSession(ctx.config, ctx.signal, async (s) => {
      const base = ctx.config.baseDN;
      const { searchEntries } = await s.read((c) => c.search(base, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }), base);
      if (searchEntries.length === 0) throw new TerminalError(`base DN ${base} is not readable by ${ctx.config.bindDN}`, { applied: 'no' });
      return { ok: true as const, detail: `bound as ${ctx.config.bindDN}; ${base} readable` };
    });
  },
});
