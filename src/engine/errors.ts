/** Errors the engine raises about a run itself (not about a vendor action). */

/** The playbook asked for a different step than the journal recorded at this position. */
export class NonDeterminismError extends Error {
  constructor(readonly seq: number, readonly recorded: string, readonly requested: string, hint: string) {
    super(`non-determinism at step ${seq}: the journal recorded ${recorded} but the playbook now asks for ${requested}. ${hint}`);
    this.name = 'NonDeterminismError';
  }
}

/** A run cannot continue without a human decision (e.g. unknown outcome of a wipe). */
export class NeedsAttention extends Error {
  constructor(readonly seq: number, reason: string) {
    super(reason);
    this.name = 'NeedsAttention';
  }
}
