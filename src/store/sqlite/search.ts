/**
 * Incident search (`IncidentQuery.q`) through the trigram index of migration 4, with the same
 * answers as the `%q%` LIKE scan it replaces (escaped wildcards, ASCII case-insensitive).
 *
 * FTS5 answers `body LIKE '%abcdef%'` by intersecting the incidents of every trigram of the
 * pattern (abc, bcd, cde, def) and checking the pattern on their text. Intersecting reads each
 * trigram's whole list, and a common trigram ("con" of "contoso.example", "203" of every
 * 203.0.x.y) is in nearly every incident: a search for an e-mail address would read millions of
 * entries. So the index is asked only for the window of q that is cheapest to look up, judged
 * from how common each trigram is in a random sample of the indexed text (kept per process), and
 * the full pattern is checked on the candidates. Rows come newest first straight
 * from the index (rowid = incident id): a frequent term stops after one page, a rare one reads
 * only its few candidates. A q without three plain characters in a row cannot use trigrams;
 * FTS5 then scans its table, which is still correct.
 *
 * Incidents the server has not indexed yet (incident_search_pending, see search-indexer.ts) are
 * checked with the plain LIKE on their name and artifacts: a handful, normally.
 */
import type Database from 'better-sqlite3';
import type { IncidentQuery } from '../store.js';

/** Escapes LIKE wildcards so `q` is a plain substring. */
const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Rows sampled to estimate how common each trigram is, in this many runs of consecutive rows. */
const SAMPLE_ROWS = 1000;
const SAMPLE_CHUNKS = 25;
/**
 * Reading one entry of a trigram's list costs about 1/300 of checking one candidate row (fetching
 * its text and matching the pattern): measured with FTS5 on this schema, ~20 ns against ~7 µs.
 */
const CHECK_COST = 300;
/** Longest window considered, in characters. */
const MAX_WINDOW = 12;

interface Sample {
  at: number;
  /** Indexed incidents when sampled (max rowid: ids are dense). */
  n: number;
  /** The sampled texts, case-folded. */
  bodies: string[];
  /** The sampled rows (indexes into bodies) each case-folded trigram occurs in. */
  rowsWith: Map<number, number[]>;
}

/** Trigrams of a text as numbers (three UTF-16 code units): cheaper to count than strings. */
function trigrams(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 3 <= text.length; i++) out.push(text.charCodeAt(i) * 4294967296 + text.charCodeAt(i + 1) * 65536 + text.charCodeAt(i + 2));
  return out;
}

/** Intersection of two ascending lists. */
function intersect(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else { out.push(a[i]!); i++; j++; }
  }
  return out;
}

export class IncidentSearch {
  private readonly cache = new Map<string, Database.Statement>();
  private sample: Sample | undefined;
  constructor(private readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** The trigram sample, taken again when the index grew by a quarter or after ten minutes. */
  private estimates(): Sample {
    const n = (this.stmt('SELECT rowid AS n FROM incident_search ORDER BY rowid DESC LIMIT 1').get() as { n: number } | undefined)?.n ?? 0;
    const cur = this.sample;
    if (cur && n <= cur.n * 1.25 + 100 && Date.now() - cur.at < 600_000) return cur;
    const bodies: string[] = [];
    if (n <= SAMPLE_ROWS) {
      for (const r of this.stmt('SELECT body FROM incident_search').all() as Array<{ body: string }>) bodies.push(r.body);
    } else {
      // Runs of consecutive incidents from random places: a few seeks instead of one per row. The
      // text is read from the tables the index is made of (FTS5 cannot seek by a rowid range).
      const chunk = this.stmt(`SELECT i.name || char(10) || a.cef_text AS body FROM incidents i CROSS JOIN artifacts a ON a.incident_id = i.id
        WHERE i.id >= ? ORDER BY i.id LIMIT ${SAMPLE_ROWS / SAMPLE_CHUNKS}`);
      for (let i = 0; i < SAMPLE_CHUNKS; i++) {
        for (const r of chunk.all(1 + Math.floor(Math.random() * n)) as Array<{ body: string }>) bodies.push(r.body);
      }
    }
    const folded = bodies.map((b) => b.slice(0, 4000).toLowerCase());
    const rowsWith = new Map<number, number[]>();
    folded.forEach((b, row) => {
      for (const t of new Set(trigrams(b))) {
        const list = rowsWith.get(t);
        if (list) list.push(row);
        else rowsWith.set(t, [row]);
      }
    });
    this.sample = { at: Date.now(), n, bodies: folded, rowsWith };
    return this.sample;
  }

  /**
   * The part of q the index should look up: the window of 3 to 12 consecutive plain characters
   * with the lowest estimated cost — reading its trigrams' lists, plus checking the incidents
   * they have in common — both estimated on the sample: a trigram's share of the sampled rows,
   * and the share of sampled rows that have all the window's trigrams. Windows starting with a trigram
   * in more than a quarter of the rows are not considered (reading that list alone is costly).
   * Undefined when q has no three plain characters in a row.
   */
  window(q: string): string | undefined {
    // The window keeps q's case: LIKE folds ASCII only, as the full pattern does.
    const runs = q.split(/[\\%_]/).filter((r) => r.length >= 3);
    if (runs.length === 0) return undefined;
    const est = this.estimates();
    const rows = Math.max(1, est.bodies.length);
    // Something absent from the sample is in fewer than 1 of `rows` incidents: count it as half of one.
    const floor = 0.5 / rows;
    let best: { text: string; cost: number } | undefined;
    let fallback: { text: string; share: number } | undefined;
    for (const run of runs) {
      const tri = trigrams(run.toLowerCase());
      const share = tri.map((t) => Math.max(floor, (est.rowsWith.get(t)?.length ?? 0) / rows));
      for (let i = 0; i < tri.length; i++) {
        if (!fallback || share[i]! < fallback.share) fallback = { text: run.substring(i, i + 3), share: share[i]! };
        if (share[i]! > 0.25) continue;
        let read = 0;
        let independent = 1;
        let candidates = est.rowsWith.get(tri[i]!) ?? [];
        for (let len = 3; len <= MAX_WINDOW && i + len - 2 <= tri.length; len++) {
          read += share[i + len - 3]!;
          independent *= share[i + len - 3]!;
          const text = run.substring(i, i + len);
          // detail=none: the index knows which incidents have each trigram, not where — its
          // candidates are the rows with all the window's trigrams, anywhere in their text.
          if (len > 3) candidates = intersect(candidates, est.rowsWith.get(tri[i + len - 3]!) ?? []);
          // Below what the sample can see, the trigrams are taken as independent: a trigram absent
          // from 1,000 sampled rows may still be in thousands of 1M incidents, and a longer window
          // of such trigrams has far fewer candidates. Without this, a window of the first trigram
          // missing from the sample won (a unique alert id of digits read ~5,000 candidates).
          const candidateShare = candidates.length > 0 ? candidates.length / rows : Math.min(floor, independent);
          const cost = read + CHECK_COST * candidateShare;
          if (!best || cost < best.cost) best = { text, cost };
        }
      }
    }
    return best?.text ?? fallback?.text;
  }

  /** Raw incident rows matching `query` (q non-empty), newest first, at most `limit`. */
  rows<Row extends { id: number }>(query: IncidentQuery & { q: string }, limit: number): Row[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status !== undefined) { where.push('i.status = ?'); params.push(query.status); }
    if (query.label !== undefined) { where.push('i.label = ?'); params.push(query.label); }
    const filters = where.map((w) => ` AND ${w}`).join('');
    const before = query.before !== undefined ? [query.before] : [];
    const p = likePattern(query.q);
    const w = this.window(query.q);
    // The window's LIKE has no ESCAPE, so FTS5 can use it; the exact pattern is checked on each row.
    // CROSS JOIN keeps the index as the outer loop, read in rowid (= incident id) order.
    const windowLike = w === undefined ? '' : 's.body LIKE ? AND ';
    const indexed = this.stmt(`SELECT i.* FROM incident_search s CROSS JOIN incidents i ON i.id = s.rowid
      WHERE ${windowLike}s.body LIKE ? ESCAPE '\\'${before.length ? ' AND s.rowid < ?' : ''}${filters} ORDER BY s.rowid DESC LIMIT ?`)
      .all(...(w === undefined ? [] : [`%${w}%`]), p, ...before, ...params, limit) as Row[];
    // Incidents not indexed yet (the server indexes them within moments): the plain LIKE.
    const pending = this.stmt(`SELECT i.* FROM incident_search_pending p CROSS JOIN incidents i ON i.id = p.incident_id
      WHERE (i.name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM artifacts a WHERE a.incident_id = i.id AND a.cef_text LIKE ? ESCAPE '\\'))
      ${before.length ? ' AND i.id < ?' : ''}${filters} ORDER BY i.id DESC LIMIT ?`)
      .all(p, p, ...before, ...params, limit) as Row[];
    if (pending.length === 0) return indexed;
    // A pending incident may also be in the index from before (a late artifact): once only.
    const byId = new Map<number, Row>();
    for (const r of [...pending, ...indexed]) if (!byId.has(r.id)) byId.set(r.id, r);
    return [...byId.values()].sort((a, b) => b.id - a.id).slice(0, limit);
  }
}
