/**
 * The demo's Splunk mapping: the two founding search names → `mobile-unauthorized-ip`, the label the
 * founding playbook triggers on, and nothing else. No catch-all default: any other search lands as
 * `splunk-unmapped`, as with the product's own mapping. `provisionLab` sets it on the `splunk` source.
 */
import { DEFAULT_SPLUNK_MAPPING } from '../src/ingest/mapping.js';
import type { SourceMapping } from '../src/store/source-mapping.js';

export const FOUNDING_LABEL = 'mobile-unauthorized-ip';

export const FOUNDING_SPLUNK_MAPPING: SourceMapping = {
  ...DEFAULT_SPLUNK_MAPPING,
  label: {
    fromSearchName: {
      'Mobile device reached unauthorized IP': FOUNDING_LABEL,
      // The rsyslog → webhook shim of the lab uses this wording.
      'Mobile device to unauthorized IP': FOUNDING_LABEL,
    },
  },
  name: '{search_name}: {user} on {device_name} → {dest_ip}',
};
