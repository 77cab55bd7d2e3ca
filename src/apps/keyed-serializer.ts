/**
 * Find-before-create is only safe if two creates for the same key cannot interleave: this runs
 * `fn` after every earlier call with the same key has finished (success or not), within this
 * process. Each app gets its own serializer so keys of different apps never wait on each other.
 */
export type Serialized = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export function keyedSerializer(): Serialized {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    tails.set(key, run);
    try {
      return await run;
    } finally {
      if (tails.get(key) === run) tails.delete(key);
    }
  };
}
