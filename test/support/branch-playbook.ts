/**
 * The playbook of issue 10's first finding: two parallel branches of two steps each, whose
 * numbering used to depend on which vendor answered first, then a sleep long enough to park.
 *   branch A: sleep(300 ms, waited in process), then note 'A'
 *   branch B: directory.getUser, then note 'B'
 */
import { definePlaybook, type PlaybookDefinition } from '../../src/sdk/index.js';

export const BRANCH_PLAYBOOK_ID = 'branch-example';

export function branchPlaybook(parkMs: number): PlaybookDefinition {
  return definePlaybook(
    { id: BRANCH_PLAYBOOK_ID, version: 1, triggers: { labels: ['branch'] }, roles: { directory: 'directory' } },
    async (ctx) => {
      const [, user] = await Promise.all([
        (async () => {
          await ctx.sleep(300);
          await ctx.note('A');
        })(),
        (async () => {
          const u = await ctx.roles.directory.getUser({ user: 'jdoe' });
          await ctx.note('B');
          return u;
        })(),
      ]);
      await ctx.sleep(parkMs);
      await ctx.note('after the park');
      return { found: user.found };
    },
  );
}
