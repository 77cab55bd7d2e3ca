/**
 * The arguments of `ctx.playbook(id, input)`, checked where the call is made (in process, and at
 * the sandbox's boundary): bad input is refused before the step takes a position in the journal,
 * so the refusal is the same on every replay and nothing is written.
 */

/** The most JSON text a child playbook's input may take. */
export const MAX_CHILD_INPUT_BYTES = 64 * 1024;

const PLAYBOOK_ID = /^[a-z0-9][a-z0-9-]*$/;

/** The playbook id and its input as plain JSON; throws a TypeError naming what is wrong. */
export function checkChildCall(id: unknown, input: unknown): { id: string; args: Record<string, unknown> } {
  if (typeof id !== 'string' || id.length > 128 || !PLAYBOOK_ID.test(id)) {
    throw new TypeError(
      `ctx.playbook: the playbook id must be a kebab-case string (at most 128 characters), got ${describe(id)}`,
    );
  }
  if (input === undefined || input === null) return { id, args: {} };
  if (typeof input !== 'object' || Array.isArray(input)) {
    const got = Array.isArray(input) ? 'an array' : typeof input;
    throw new TypeError(`ctx.playbook(${JSON.stringify(id)}): input must be a JSON object, got ${got}`);
  }
  let json: string;
  try {
    json = JSON.stringify(input);
  } catch (err) {
    throw new TypeError(`ctx.playbook(${JSON.stringify(id)}): input is not JSON: ${(err as Error).message}`);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_CHILD_INPUT_BYTES) {
    throw new TypeError(
      `ctx.playbook(${JSON.stringify(id)}): input is ${bytes} bytes of JSON, ` +
        `more than the ${MAX_CHILD_INPUT_BYTES} allowed`,
    );
  }
  return { id, args: JSON.parse(json) as Record<string, unknown> };
}

/** A value named for an error message without repeating outside text at length. */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return v === null ? 'null' : typeof v;
}
