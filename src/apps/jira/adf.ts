/**
 * Atlassian Document Format helpers: Jira Cloud REST v3 only accepts ADF for rich-text fields
 * (issue description, comment body); a plain string is rejected with HTTP 400.
 */

export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
}

export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/** Rich-text fields hold at most 32 767 characters. */
const MAX_TEXT = 32_000;

/**
 * Plain text → ADF: blank lines separate paragraphs, single newlines become hard breaks.
 * ADF rejects empty text nodes, so empty lines and paragraphs are dropped.
 */
export function textToAdf(text: string, extraParagraphs: string[] = []): AdfDoc {
  const body = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n\n[truncated by Riposte]` : text;
  const paragraphs = [...body.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/), ...extraParagraphs];
  const content: AdfNode[] = [];
  for (const p of paragraphs) {
    const lines = p.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    const inline: AdfNode[] = [];
    lines.forEach((l, i) => {
      if (i > 0) inline.push({ type: 'hardBreak' });
      inline.push({ type: 'text', text: l });
    });
    content.push({ type: 'paragraph', content: inline });
  }
  return { type: 'doc', version: 1, content };
}

/** ADF → plain text (paragraph-like blocks on their own lines). */
export function adfToText(node: unknown): string {
  const n = node as AdfNode | null;
  if (typeof n !== 'object' || n === null) return typeof node === 'string' ? node : '';
  if (n.type === 'text') return n.text ?? '';
  if (n.type === 'hardBreak') return '\n';
  const inner = (n.content ?? []).map(adfToText).join('');
  return n.type === 'paragraph' || n.type === 'heading' || n.type === 'listItem' || n.type === 'codeBlock' ? `${inner}\n` : inner;
}
