/**
 * Checks every typed CEF field of an alert before it is stored (src/common/artifact-values.ts has
 * the rules). What happens to a value that fails is the source's choice:
 * - `refuse`: the whole alert is refused (InvalidArtifactsError, a 422 naming artifact, field and
 *   why); nothing is stored.
 * - `untrusted`: the alert is stored; the artifact keeps the raw value in `cef` and the field's
 *   reason in `untrusted`, and no playbook receives it as a typed value (the run's view moves it
 *   out of `cef` into `untrusted`, see IncidentRepo.viewOf).
 * Valid fields keep only the contains types their value satisfies. Pure: no I/O.
 */
import { checkValue } from '../common/artifact-values.js';
import type { NewArtifact, NewIncident } from '../store/records.js';

export const INVALID_VALUE_POLICIES = ['refuse', 'untrusted'] as const;
export type InvalidValuePolicy = (typeof INVALID_VALUE_POLICIES)[number];

/**
 * Defaults when a source does not choose: the generic route refuses (its sender gets the 422 and
 * can correct and resend); a Splunk webhook keeps the alert as untrusted (Splunk never retries a
 * refused delivery, so refusing would lose the alert).
 */
export const DEFAULT_INVALID_VALUES = { generic: 'refuse', 'splunk-webhook': 'untrusted' } as const;

export interface ArtifactValueProblem {
  /** Index of the artifact in the alert. */
  artifact: number;
  field: string;
  types: string[];
  reason: string;
}

export class InvalidArtifactsError extends Error {
  constructor(readonly problems: ArtifactValueProblem[]) {
    const p = problems[0]!;
    super(`artifact ${p.artifact} field ${p.field} is not a valid ${p.types.join(' or ')}: ${p.reason}` +
      (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''));
    this.name = 'InvalidArtifactsError';
  }
}

/** Problems of one artifact, and its contains narrowed to the types each value satisfies. */
function checkArtifact(
  a: NewArtifact, index: number,
): { problems: ArtifactValueProblem[]; contains: Record<string, string[]> } {
  const problems: ArtifactValueProblem[] = [];
  const contains: Record<string, string[]> = {};
  for (const [field, types] of Object.entries(a.contains ?? {})) {
    const value = a.cef[field];
    if (value === undefined) continue;
    const c = checkValue(value, types);
    if (c.problem === null) contains[field] = c.valid;
    else {
      contains[field] = [...types];
      problems.push({ artifact: index, field, types: [...types], reason: c.problem });
    }
  }
  return { problems, contains };
}

/**
 * The incident as it may be stored under `policy`: unchanged when every typed value is valid;
 * with `untrusted` marks otherwise. Throws InvalidArtifactsError under `refuse`.
 */
export function validateArtifacts(incident: NewIncident, policy: InvalidValuePolicy): NewIncident {
  const all: ArtifactValueProblem[] = [];
  const artifacts = incident.artifacts.map((a, i) => {
    if (a.contains === undefined) return a;
    const { problems, contains } = checkArtifact(a, i);
    all.push(...problems);
    const out: NewArtifact = { ...a, contains };
    if (problems.length > 0) out.untrusted = Object.fromEntries(problems.map((p) => [p.field, p.reason]));
    return out;
  });
  if (all.length > 0 && policy === 'refuse') throw new InvalidArtifactsError(all);
  return { ...incident, artifacts };
}
