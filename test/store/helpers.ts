/** Shared fixtures of the SQLite store tests (the temporary stores: test/support/temp-store.ts). */
import type { NewIncident } from '../../src/store/records.js';

export function incident(over: Partial<NewIncident> = {}): NewIncident {
  return {
    name: 'Impossible travel for alice', label: 'impossible-travel', severity: 'high', source: 'splunk',
    artifacts: [{ name: 'login', cef: { sourceUserName: 'alice', sourceAddress: '198.51.100.7' }, contains: { sourceAddress: ['ip'] } }],
    ...over,
  };
}

export const run = (id: string, playbookId = 'pb-travel') => ({ id, playbookId, playbookVersion: 1, playbookHash: 'h1', minutesSaved: 15 });
