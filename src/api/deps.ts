/** What every route module needs. */
import type { Store } from '../store/store.js';
import type { IngestService } from '../ingest/ingest-service.js';

export const API_PREFIX = '/api/v1';

export interface ApiDeps {
  store: Store;
  ingest: IngestService;
}
