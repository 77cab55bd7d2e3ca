/**
 * Splunk's stock webhook alert action (VENDOR-APIS.md §1a). Its script posts exactly
 * `{sid, search_name, app, owner, results_link, result}` where `result` is the first result row
 * with string values, and `search_name` may be null. Splunk never retries a failed delivery, so
 * unknown extra top-level keys (a future Splunk version) are ignored rather than refused.
 */
import { z } from 'zod';
import type { NewIncident } from '../store/records.js';
import { applyMapping, UNMAPPED_LABEL, UNMAPPED_TAG, type SourceMapping } from './mapping.js';

export const splunkWebhookSchema = z.object({
  sid: z.string().min(1).max(512),
  search_name: z.string().max(1024).nullable(),
  app: z.string().max(256),
  owner: z.string().max(256),
  results_link: z.string().max(4096),
  /** Any field names; every value a string (multi-value fields are an open question, see report). */
  result: z.record(z.string(), z.string().max(65_536)),
});

export type SplunkWebhookBody = z.infer<typeof splunkWebhookSchema>;

export type SplunkMappingOutcome =
  | { ok: true; incident: NewIncident }
  | { ok: false; reason: string; missingFields: string[] };

/**
 * Maps a webhook body to a new incident of `sourceName`. The `sid` is the dedupe key: Splunk
 * delivers a given firing once per sid, and a redelivery of the same sid is the same alert. A
 * search the mapping has no label for becomes a `splunk-unmapped` incident tagged
 * `unmapped-search` whose description names the search, so an analyst sees why it landed there.
 */
export function splunkAlertToIncident(body: SplunkWebhookBody, mapping: SourceMapping, sourceName: string): SplunkMappingOutcome {
  const mapped = applyMapping(mapping, { searchName: body.search_name, fields: body.result });
  if (!mapped.ok) return mapped;
  const m = mapped.value;
  const title = body.search_name ?? body.sid;

  const cef = { ...m.cef };
  // Keep the way back to Splunk's results on the artifact, CEF-style, unless the mapping uses cs1.
  if (body.results_link !== '' && cef['cs1'] === undefined && cef['cs1Label'] === undefined) {
    cef['cs1Label'] = 'results_link';
    cef['cs1'] = body.results_link;
  }

  const search = body.search_name === null ? '(unnamed)' : JSON.stringify(body.search_name);
  const unmapped = m.unmapped
    ? `No label is mapped for Splunk search ${search}, so it is labelled ${UNMAPPED_LABEL} and no playbook runs; ` +
      `map the search in the label.fromSearchName of source ${JSON.stringify(sourceName)} to route it. `
    : '';
  const description = unmapped + [
    `Splunk search ${search}`,
    `sid ${body.sid}`,
    body.app !== '' ? `app ${body.app}` : '',
    body.owner !== '' ? `owner ${body.owner}` : '',
  ].filter((s) => s !== '').join(', ') + (body.results_link !== '' ? `. Results: ${body.results_link}` : '');

  return {
    ok: true,
    incident: {
      name: m.name ?? `Splunk alert ${title}`.slice(0, 500),
      label: m.label,
      severity: m.severity,
      description,
      source: sourceName,
      sourceId: body.sid,
      ...(m.unmapped ? { tags: [UNMAPPED_TAG] } : {}),
      artifacts: [{ name: `Splunk alert ${title}`.slice(0, 500), cef, contains: m.contains, sourceId: body.sid }],
    },
  };
}
