/**
 * Separation of duties: who may not approve a run's destructive actions, nor answer a prompt of
 * the run that gates containment. Whoever caused the run (`requestedBy`) never may (four-eyes,
 * always, checked in approvals.ts and prompts.ts); nor may anyone else who caused it
 * (`alsoCausedBy`: whoever caused the run a re-run repeats, inherited by child runs); nor — the
 * policy setting `four_eyes.incidentEditors`, on by default — whoever wrote or changed the
 * incident (submitted it with an API token, changed its status or severity) before the run took
 * its snapshot of it: they chose what the run acts on. Only people are excluded (a source has no
 * one behind it). The list is computed once, when an approval or prompt is created, and stored
 * with it; reading it costs two indexed lookups and a setting, only for steps that need a human.
 */
import type { PolicyStore } from '../store/policy-store.js';
import type { Exclusion } from '../store/policy-records.js';
import type { RunRecord } from '../store/records.js';

/** Settings key of the four-eyes policy. */
export const FOUR_EYES = 'four_eyes';

export interface FourEyesPolicy {
  /** Whoever wrote or changed the incident before a run's snapshot may not approve that run's actions. */
  incidentEditors: boolean;
}

export const DEFAULT_FOUR_EYES: FourEyesPolicy = { incidentEditors: true };

export const WHY_CAUSE = 'caused this run';
export const WHY_OTHER_CAUSE = 'caused the run this one repeats (or its parent run)';
export const WHY_EDITOR = 'wrote or changed the incident before this run took its snapshot of it';

/** `user:alice` and `token:alice` (API tokens are named after their user) → `alice`; sources → null. */
export function personOf(principal: string | null): string | null {
  if (principal === null) return null;
  for (const prefix of ['user:', 'token:']) if (principal.startsWith(prefix)) return principal.slice(prefix.length);
  return null;
}

export async function fourEyesPolicy(policy: PolicyStore): Promise<FourEyesPolicy> {
  return { ...DEFAULT_FOUR_EYES, ...((await policy.getSetting<Partial<FourEyesPolicy>>(FOUR_EYES)) ?? {}) };
}

/**
 * Who may not decide for `run`, each once as `user:<name>` with the first reason found; the cause
 * itself only with `includeCause` (approvals name it in `requestedBy` instead).
 */
export async function exclusionsFor(
  policy: PolicyStore,
  run: Pick<RunRecord, 'incidentId' | 'createdAt' | 'requestedBy' | 'alsoCausedBy'>,
  opts: { includeCause: boolean },
): Promise<Exclusion[]> {
  const out = new Map<string, string>();
  const cause = personOf(run.requestedBy);
  const add = (principal: string | null, why: string) => {
    const p = personOf(principal);
    if (p !== null && !out.has(p) && (opts.includeCause || p !== cause)) out.set(p, why);
  };
  add(run.requestedBy, WHY_CAUSE);
  for (const c of run.alsoCausedBy) add(c, WHY_OTHER_CAUSE);
  if ((await fourEyesPolicy(policy)).incidentEditors) {
    for (const e of await policy.incidentEditors(run.incidentId, run.createdAt)) add(e, WHY_EDITOR);
  }
  return [...out].map(([p, why]) => ({ principal: `user:${p}`, why }));
}

/** The exclusion that keeps user `name` from deciding, if any. */
export function exclusionOf(excluded: readonly Exclusion[], name: string): Exclusion | undefined {
  return excluded.find((e) => personOf(e.principal) === name);
}
