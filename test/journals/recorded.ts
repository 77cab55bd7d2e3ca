/** The file format of a recorded journal (test/journals/*.json). */
import type { JournalEntry, RunRecord } from '../../src/store/records.js';

export interface RecordedJournal {
  description: string;
  recordedAt: string;
  playbookId: string;
  /** The code identity the run was recorded with (informational: replay must work across changes). */
  playbookHash: string;
  run: Pick<RunRecord, 'id' | 'incidentId' | 'input' | 'args' | 'dryRun' | 'requestedBy'>;
  status: RunRecord['status'];
  output: unknown;
  journal: JournalEntry[];
}
