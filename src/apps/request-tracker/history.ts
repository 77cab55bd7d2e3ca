/**
 * Reading a ticket's transaction history. RT 5.0's REST2 returns an attachment's Content
 * base64-encoded and fails (HTTP 500) when Content is requested as a collection field, so texts
 * are read one attachment at a time. A Comment/Correspond transaction's `Data` holds the message
 * subject, which is where the cheap first check looks.
 */
import type { RtClient, RtRef } from './client.js';

export interface TxItem extends RtRef {
  Type?: string;
  Data?: string;
  Created?: string;
}

interface Attachment {
  ContentType?: string;
  Content?: string;
  Subject?: string;
}

/** Text of a transaction's text/* attachments (at most `maxParts`), decoded. */
export async function transactionText(c: RtClient, txId: string, maxParts = 5): Promise<string> {
  const { items } = await c.collect<RtRef & { ContentType?: string }>(`/transaction/${encodeURIComponent(txId)}/attachments`, {
    perPage: 20, limit: 20, params: { fields: 'ContentType' },
  });
  const parts: string[] = [];
  for (const a of items.filter((x) => (x.ContentType ?? '').startsWith('text/')).slice(0, maxParts)) {
    const att = await c.request<Attachment>('GET', `/attachment/${encodeURIComponent(String(a.id))}`);
    if (typeof att.Content === 'string') parts.push(Buffer.from(att.Content, 'base64').toString('utf8'));
  }
  return parts.join('\n');
}

export interface MarkerSearch {
  /** Transactions created before this cannot be the one looked for. */
  notBefore?: Date;
  /** Most transactions to look at before giving up. */
  maxTransactions: number;
}

export type MarkerResult =
  | { found: true; transactionId: string; type: string }
  | { found: false; exhausted: boolean };

/**
 * Walks the history newest first for a Comment/Correspond transaction whose subject or text
 * contains `marker`. `exhausted` is true when the bound was hit before the history (or the
 * notBefore window) ended, i.e. the answer "not found" is not conclusive.
 */
export async function findMarker(c: RtClient, ticket: string, marker: string, opts: MarkerSearch): Promise<MarkerResult> {
  const perPage = Math.min(100, opts.maxTransactions);
  let seen = 0;
  for (let page = 1; ; page++) {
    const qs = new URLSearchParams({ fields: 'Type,Data,Created', orderby: 'id', order: 'DESC', page: String(page), per_page: String(perPage) });
    const res = await c.request<{ items?: TxItem[]; next_page?: string }>('GET', `/ticket/${ticket}/history?${qs.toString()}`);
    const items = res.items ?? [];
    for (const tx of items) {
      if (opts.notBefore !== undefined && tx.Created !== undefined && Date.parse(tx.Created) < opts.notBefore.getTime()) {
        return { found: false, exhausted: false };
      }
      if (tx.Type === 'Comment' || tx.Type === 'Correspond') {
        if ((tx.Data ?? '').includes(marker) || (await transactionText(c, String(tx.id))).includes(marker)) {
          return { found: true, transactionId: String(tx.id), type: tx.Type };
        }
      }
      if (++seen >= opts.maxTransactions) return { found: false, exhausted: true };
    }
    if (res.next_page === undefined || items.length === 0) return { found: false, exhausted: false };
  }
}
