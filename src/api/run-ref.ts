/**
 * A run reference in a URL: a full run id, or a prefix of at least MIN_RUN_PREFIX characters that
 * matches exactly one run. Several matches are refused (409 `ambiguous_run`, the matches listed)
 * rather than guessed: run ids are UUIDv7, whose first 8 hex digits change about every 65 s, so
 * short prefixes of runs started close together collide in normal use. Read-only.
 */
import { z } from 'zod';
import type { Store } from '../store/store.js';
import type { RunRecord } from '../store/records.js';
import { ApiError } from './errors.js';

export const MIN_RUN_PREFIX = 8;
/** How many matching runs an ambiguity error lists. */
export const MAX_LISTED_MATCHES = 10;

// Run ids are UUIDs today; accept any short token-like id so other id schemes keep working.
export const runRefSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a run id or a prefix of one');

/** The one run `ref` names, or an ApiError: 404 when none, 409 `ambiguous_run` when several. */
export async function resolveRunRef(store: Store, ref: string): Promise<RunRecord> {
  const exact = await store.getRun(ref);
  if (exact) return exact;
  if (ref.length < MIN_RUN_PREFIX) {
    const why = `a run id prefix needs at least ${MIN_RUN_PREFIX} characters`;
    throw new ApiError(404, 'not_found', `run ${ref} does not exist (${why})`);
  }
  const ids = await store.runIdsWithPrefix(ref, MAX_LISTED_MATCHES + 1);
  if (ids.length === 0) throw new ApiError(404, 'not_found', `no run id starts with "${ref}"`);
  if (ids.length > 1) throw await ambiguous(store, ref, ids);
  const run = await store.getRun(ids[0]!);
  if (!run) throw new ApiError(404, 'not_found', `run ${ids[0]} does not exist`); // pruned meanwhile
  return run;
}

async function ambiguous(store: Store, ref: string, ids: string[]): Promise<ApiError> {
  const listed = ids.slice(0, MAX_LISTED_MATCHES);
  const more = ids.length > MAX_LISTED_MATCHES;
  const runs = await Promise.all(listed.map((id) => store.getRun(id)));
  const details = listed.map((id, i) => {
    const r = runs[i];
    const subject = r
      ? { id, incidentId: r.incidentId, playbookId: r.playbookId, status: r.status, createdAt: r.createdAt }
      : { id };
    return { path: 'ref', code: 'matching_run', message: id, subject };
  });
  const matches = more ? `more than ${MAX_LISTED_MATCHES} runs, among them` : `${ids.length} runs:`;
  return new ApiError(409, 'ambiguous_run',
    `run id prefix "${ref}" is ambiguous: it matches ${matches} ${listed.join(', ')}; give the full run id`, details);
}
