/**
 * Migration 6: the journal records the order in which each step's outcome was handed to the
 * playbook (`resolution`, 0, 1, 2 … per run). Replay hands recorded outcomes back in exactly that
 * order, so parallel branches number their later steps the same way every time (see
 * src/engine/delivery.ts).
 *
 * Runs in flight across the upgrade get an order for the outcomes they already have: the order
 * they finished in, then their position — the order the engine of the time handed them over. It is
 * written here, once, so every later execution replays the same history (an order kept only in
 * memory would be lost at the run's next park). An outcome an operator gave (`riposte runs
 * resolve --applied`) was never handed over: it gets none, and is handed over live.
 */
import type { Migration } from './migrations.js';

/** The order of the outcomes already journaled by runs not yet finished (see the header). */
export const LEGACY_OUTCOME_ORDER_SQL = `
UPDATE journal SET resolution = (
  SELECT COUNT(*) FROM journal AS earlier
  WHERE earlier.run_id = journal.run_id AND earlier.status IN ('completed', 'failed')
    AND earlier.kind NOT IN ('now', 'random') AND coalesce(earlier.detail, '') NOT LIKE '%Resolved by an operator: applied.'
    AND (coalesce(earlier.finished_at, earlier.started_at) < coalesce(journal.finished_at, journal.started_at)
      OR (coalesce(earlier.finished_at, earlier.started_at) = coalesce(journal.finished_at, journal.started_at)
        AND earlier.seq < journal.seq))
)
WHERE status IN ('completed', 'failed') AND kind NOT IN ('now', 'random') AND resolution IS NULL
  AND coalesce(detail, '') NOT LIKE '%Resolved by an operator: applied.'
  AND run_id IN (SELECT id FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled'));
`;

export const MIGRATION_006_JOURNAL_RESOLUTION: Migration = {
  version: 6,
  name: 'journal: order in which step outcomes were handed to the playbook',
  sql: `ALTER TABLE journal ADD COLUMN resolution INTEGER;\n${LEGACY_OUTCOME_ORDER_SQL}`,
};
