/**
 * `rejects`: awaits a promise that must reject with an error of a given class and hands that
 * error back, typed, for the test's further assertions (`assert.rejects` checks but returns
 * nothing). Optional checks cover what credential-bearing tests add: text the message must not
 * contain (a secret, a path that is itself a credential) and no `cause` (which could carry it).
 */
import assert from 'node:assert/strict';

/** Any error class, whatever its constructor takes; abstract ones (e.g. `ActionError`) too. */
export type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

export interface RejectsChecks {
  /** Strings and patterns that must not appear in the error's message. */
  readonly notInMessage?: ReadonlyArray<string | RegExp>;
  /** The error must carry no `cause`. */
  readonly noCause?: boolean;
}

export async function rejects<E extends Error>(
  p: Promise<unknown>,
  cls: ErrorClass<E>,
  checks: RejectsChecks = {},
): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    for (const s of checks.notInMessage ?? []) {
      const found = typeof s === 'string' ? err.message.includes(s) : s.test(err.message);
      assert.ok(!found, `the message must not contain ${String(s)}: ${err.message}`);
    }
    if (checks.noCause) assert.equal(err.cause, undefined);
    return err;
  }
  assert.fail(`expected ${cls.name}, but it resolved`);
}
