/**
 * The audit stream to Splunk's HTTP Event Collector: POST /services/collector/event with
 * `Authorization: Splunk <token>`, one batch of concatenated event envelopes per request.
 *
 * Failure semantics: a batch is delivered when HEC answers 200 with code 0; anything else rejects
 * it and the exporter sends it again (HEC has no idempotency: the event carries the audit id and
 * hash, so the SIEM can drop duplicates). The token is never part of an error message.
 */
import { hostname } from 'node:os';
import type { AuditEntry } from '../../store/records.js';
import type { AuditSink } from './sink.js';

export interface HecSinkOptions {
  /** Base URL, e.g. https://splunk.example:8088 */
  url: string;
  token: string;
  index?: string;
  sourcetype?: string;
  timeoutMs?: number;
}

export class HecSink implements AuditSink {
  readonly name: string;
  private readonly endpoint: URL;

  constructor(private readonly opts: HecSinkOptions) {
    const base = new URL(opts.url);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`HEC URL must be http(s), got ${base.protocol}`);
    if (base.username || base.password || base.search) throw new Error('HEC URL must not carry credentials or a query: the token goes in RIPOSTE_AUDIT_HEC_TOKEN');
    if (!/^[\x21-\x7e]+$/.test(opts.token)) throw new Error('HEC token is empty or has characters a header cannot carry');
    this.endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/services/collector/event`, base);
    this.name = `hec:${base.origin}`;
  }

  async send(entries: readonly AuditEntry[]): Promise<void> {
    const host = hostname();
    const body = entries.map((e) => JSON.stringify({
      time: Date.parse(e.at) / 1000, host, source: 'riposte:audit', sourcetype: this.opts.sourcetype ?? 'riposte:audit',
      ...(this.opts.index ? { index: this.opts.index } : {}), event: e,
    })).join('');
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST', body, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        headers: { authorization: `Splunk ${this.opts.token}`, 'content-type': 'application/json' },
      });
    } catch (err) {
      throw new Error(`HEC ${this.endpoint.origin}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let answer: { code?: unknown; text?: unknown } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      // Not HEC (a proxy's page?): reported by status below.
    }
    if (res.status === 200 && answer.code === 0) return;
    const what = typeof answer.text === 'string' ? `code ${String(answer.code)} "${answer.text.slice(0, 200)}"` : 'no HEC answer';
    throw new Error(`HEC ${this.endpoint.origin} refused the batch: HTTP ${res.status}, ${what}`);
  }
}
