/**
 * Sensitive action inputs (an app action's `sensitiveInput`, e.g. a new password): their values
 * reach the action's handler and nothing else. Wherever the input is kept or shown — the journal,
 * approvals, the audit's parameter hash, action results, dry-run outputs, the API and CLI — each
 * such field holds `SENSITIVE_MARKER` instead. A run that resumes gets the value again from its
 * playbook code (which computes the step's input anew); the journal never has it to give.
 */
export const SENSITIVE_MARKER = '[sensitive: not stored]';

/** `input` with the top-level fields named in `keys` replaced by the marker (a copy; `input` unchanged). */
export function redactInput(input: unknown, keys: readonly string[] | undefined): unknown {
  if (!keys || keys.length === 0 || input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const k of keys) if (Object.hasOwn(out, k)) out[k] = SENSITIVE_MARKER;
  return out;
}

/**
 * `input` masked where the journaled `recorded` input holds the marker: the replayer's determinism
 * check compares what it can (a sensitive field is compared by presence only).
 */
export function maskLike(input: unknown, recorded: unknown): unknown {
  if (recorded === null || typeof recorded !== 'object' || Array.isArray(recorded)) return input;
  const keys = Object.entries(recorded as Record<string, unknown>).filter(([, v]) => v === SENSITIVE_MARKER).map(([k]) => k);
  return redactInput(input, keys);
}
