/**
 * One playbook source, run both ways a playbook runs: in process (as the in-memory playbooks of
 * tests) and in the sandbox (as a repository's playbooks). A test loops over `MODES` so that the
 * same code proves the same behaviour on both sides of the sandbox boundary.
 */
import { ActionFailedError, definePlaybook, type PlaybookDefinition } from '../../src/sdk/index.js';
import type { CapabilityName } from '../../src/sdk/capabilities.js';
import type { LoadedPlaybook } from '../../src/engine/registry.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { sandboxPlaybook, type PlaybookSource } from './sandbox-playbook.js';

export type Mode = 'in process' | 'sandbox';
export const MODES: readonly Mode[] = ['in process', 'sandbox'];

type Body = (ctx: unknown, incident: unknown, args: unknown, failed: typeof ActionFailedError) => Promise<unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...params: string[]) => Body;

/** The playbook of `src` (its `module` part is ignored in process), ready for the harness. */
export async function playbookIn(
  mode: Mode,
  sandbox: Sandbox,
  src: PlaybookSource,
): Promise<PlaybookDefinition | LoadedPlaybook> {
  if (mode === 'sandbox') return sandboxPlaybook(sandbox, src);
  // The same text as the sandbox's module: `ActionFailedError` is in scope there through its import.
  const body = new AsyncFunction('ctx', 'incident', 'args', 'ActionFailedError', src.body);
  return definePlaybook(
    {
      id: src.id ?? 'attack', version: 1, triggers: src.triggers ?? { labels: ['test'] },
      roles: (src.roles ?? {}) as Record<string, CapabilityName>,
      ...(src.automation ? { automation: src.automation } : {}),
    },
    (ctx, incident, args) => body(ctx, incident, args, ActionFailedError),
  );
}
