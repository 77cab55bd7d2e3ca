/**
 * Microsoft Entra ID (through Microsoft Graph v1.0): user lookup, sign-in session revocation and
 * account disable/enable. Implements the `directory` capability. Application permissions:
 * User.Read.All; User.RevokeSessions.All; User.EnableDisableAccount.All (or User.ReadWrite.All).
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities, type UserRecord } from '../../sdk/capabilities.js';
import { graphConfig, graphFetch, graphJson, isNotFound, type GraphConfig } from '../graph/graph-client.js';

const USER_SELECT = 'id,userPrincipalName,displayName,mail,department,jobTitle,accountEnabled';

/** A user as Graph returns it for USER_SELECT (unset properties come back as null). */
interface GraphUser {
  id: string;
  userPrincipalName: string;
  displayName?: string | null;
  mail?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  accountEnabled?: boolean | null;
}

const UserRef = z.object({
  /** User principal name (alice@contoso.com) or object id. */
  user: z.string().min(1),
});

/**
 * Path of a user by UPN or object id. UPNs starting with '$' need the documented `users('…')`
 * form; '#' (guest UPNs) and other reserved characters are percent-encoded.
 */
export function userPath(user: string): string {
  const enc = encodeURIComponent(user).replace(/%40/g, '@');
  return user.startsWith('$') ? `/v1.0/users('${enc.replace(/'/g, "''")}')` : `/v1.0/users/${enc}`;
}

function toUserRecord(u: GraphUser): UserRecord {
  const rec: UserRecord = { id: u.id, userName: u.userPrincipalName };
  if (typeof u.displayName === 'string') rec.displayName = u.displayName;
  if (typeof u.mail === 'string' && u.mail !== '') rec.email = u.mail;
  if (typeof u.department === 'string') rec.department = u.department;
  if (typeof u.jobTitle === 'string') rec.jobTitle = u.jobTitle;
  if (typeof u.accountEnabled === 'boolean') rec.enabled = u.accountEnabled;
  return rec;
}

/** PATCH accountEnabled (204). Idempotent: setting the same value twice changes nothing. */
async function setEnabled(cfg: GraphConfig, user: string, enabled: boolean, signal: AbortSignal): Promise<void> {
  const res = await graphFetch(cfg, userPath(user), { method: 'PATCH', body: { accountEnabled: enabled }, signal });
  await res.arrayBuffer();
}

const EnabledOutput = z.object({ user: z.string(), enabled: z.boolean() });

export const entraIdApp = defineApp({
  id: 'microsoft-entra-id',
  name: 'Microsoft Entra ID',
  vendor: 'Microsoft',
  product: 'Entra ID',
  version: '1.0.0',
  description: 'Directory lookups and account containment through Microsoft Graph.',
  implements: ['directory'],
  config: graphConfig,
  secrets: ['clientSecret'],
  actions: (action) => ({
    getUser: action({
      description: 'Get a user by user principal name or object id.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: capabilities.directory.getUser.input,
      output: capabilities.directory.getUser.output,
      async handler(input, ctx) {
        try {
          // accountEnabled and department are only returned when $select-ed.
          const u = await graphJson<GraphUser>(ctx.config, `${userPath(input.user)}?$select=${USER_SELECT}`, { signal: ctx.signal });
          return { found: true, user: toUserRecord(u) };
        } catch (err) {
          if (isNotFound(err)) return { found: false };
          throw err;
        }
      },
    }),

    revokeSessions: action({
      description: 'Invalidate the refresh tokens and session cookies of a user (takes effect within minutes; not for B2B guests).',
      kind: 'contain',
      readOnly: false,
      idempotent: true,
      input: UserRef,
      output: z.object({ user: z.string(), revoked: z.boolean() }),
      async handler(input, ctx) {
        const json = await graphJson<{ value?: unknown } | undefined>(ctx.config, `${userPath(input.user)}/revokeSignInSessions`, { method: 'POST', signal: ctx.signal });
        // The docs note a known issue with the status code, so any 2xx is success; value is true when present.
        return { user: input.user, revoked: json?.value !== false };
      },
    }),

    disableUser: action({
      description: 'Block sign-in for a user (accountEnabled = false). Existing sessions survive until revoked.',
      kind: 'contain',
      readOnly: false,
      idempotent: true,
      undo: 'enableUser',
      input: UserRef,
      output: EnabledOutput,
      async handler(input, ctx) {
        await setEnabled(ctx.config, input.user, false, ctx.signal);
        return { user: input.user, enabled: false };
      },
    }),

    enableUser: action({
      description: 'Allow sign-in again for a user (accountEnabled = true).',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      undo: 'disableUser',
      input: UserRef,
      output: EnabledOutput,
      async handler(input, ctx) {
        await setEnabled(ctx.config, input.user, true, ctx.signal);
        return { user: input.user, enabled: true };
      },
    }),
  }),

  async testConnectivity(ctx) {
    await graphJson<unknown>(ctx.config, '/v1.0/users?$top=1&$select=id', { signal: ctx.signal });
    return { ok: true, detail: 'token obtained; users readable' };
  },
});
