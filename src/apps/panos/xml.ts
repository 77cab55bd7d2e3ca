/**
 * Minimal XML reader/writer for the narrow PAN-OS XML API shapes (responses, `element=` config
 * fragments, `cmd=` op commands). Shared by the PAN-OS app and the lab simulator. Supports
 * elements, attributes (single or double quoted, spaces around `=`), text, the five named
 * entities plus numeric references, CDATA, comments and the `<?xml?>` prolog. No namespaces, no
 * DTDs. Whitespace-only text between elements is dropped.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

export class XmlParseError extends Error {
  override name = 'XmlParseError';
}

const NAME = /[A-Za-z_:][\w:.\-]*/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string, at: number): string {
  return s.replace(/&([^;&\s]*);?/g, (m, ent: string) => {
    if (!m.endsWith(';')) throw new XmlParseError(`bare '&' near offset ${at}`);
    if (ent in ENTITIES) return ENTITIES[ent]!;
    const num = /^#x([0-9a-f]+)$/i.exec(ent)?.[1] ?? /^#([0-9]+)$/.exec(ent)?.[1];
    if (num !== undefined) {
      const code = ent.startsWith('#x') || ent.startsWith('#X') ? parseInt(num, 16) : parseInt(num, 10);
      if (code > 0 && code <= 0x10ffff) return String.fromCodePoint(code);
    }
    throw new XmlParseError(`unknown entity &${ent}; near offset ${at}`);
  });
}

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(msg: string): never {
    throw new XmlParseError(`${msg} at offset ${this.pos}`);
  }

  skipWs(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  /** Skips prolog, comments and processing instructions; true when something was skipped. */
  skipMisc(): boolean {
    for (const [open, close] of [['<?', '?>'], ['<!--', '-->']] as const) {
      if (this.src.startsWith(open, this.pos)) {
        const end = this.src.indexOf(close, this.pos + open.length);
        if (end < 0) this.fail(`unterminated ${open}`);
        this.pos = end + close.length;
        return true;
      }
    }
    return false;
  }

  name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.src);
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }

  element(): XmlElement {
    if (this.src[this.pos] !== '<') this.fail("expected '<'");
    this.pos++;
    const el: XmlElement = { name: this.name(), attrs: {}, children: [] };
    for (;;) {
      const before = this.pos;
      this.skipWs();
      if (this.src.startsWith('/>', this.pos)) {
        this.pos += 2;
        return el;
      }
      if (this.src[this.pos] === '>') {
        this.pos++;
        break;
      }
      if (this.pos === before) this.fail('expected whitespace before attribute');
      const attr = this.name();
      this.skipWs();
      if (this.src[this.pos] !== '=') this.fail("expected '='");
      this.pos++;
      this.skipWs();
      const q = this.src[this.pos];
      if (q !== '"' && q !== "'") this.fail('expected quoted attribute value');
      const end = this.src.indexOf(q, this.pos + 1);
      if (end < 0) this.fail('unterminated attribute value');
      const raw = this.src.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail("'<' in attribute value");
      if (attr in el.attrs) this.fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(raw, this.pos);
      this.pos = end + 1;
    }
    el.children = this.content(el.name);
    return el;
  }

  /** Children up to the closing tag of `parent` (or end of input when parent is undefined). */
  content(parent?: string): XmlNode[] {
    const out: XmlNode[] = [];
    let text = '';
    const flush = (): void => {
      if (text.trim() !== '') out.push(text);
      text = '';
    };
    for (;;) {
      if (this.pos >= this.src.length) {
        if (parent !== undefined) this.fail(`unclosed <${parent}>`);
        flush();
        return out;
      }
      if (this.src.startsWith('</', this.pos)) {
        if (parent === undefined) this.fail('unexpected closing tag');
        this.pos += 2;
        const n = this.name();
        if (n !== parent) this.fail(`expected </${parent}>, found </${n}>`);
        this.skipWs();
        if (this.src[this.pos] !== '>') this.fail("expected '>'");
        this.pos++;
        flush();
        return out;
      }
      if (this.src.startsWith('<![CDATA[', this.pos)) {
        const end = this.src.indexOf(']]>', this.pos);
        if (end < 0) this.fail('unterminated CDATA');
        text += this.src.slice(this.pos + 9, end);
        this.pos = end + 3;
        continue;
      }
      if (this.skipMisc()) continue;
      if (this.src[this.pos] === '<') {
        flush();
        out.push(this.element());
        continue;
      }
      const next = this.src.indexOf('<', this.pos);
      const end = next < 0 ? this.src.length : next;
      text += decode(this.src.slice(this.pos, end), this.pos);
      this.pos = end;
    }
  }
}

/** Parses a document with exactly one root element. */
export function parseXml(src: string): XmlElement {
  const nodes = new Parser(src).content();
  const els = nodes.filter((n): n is XmlElement => typeof n !== 'string');
  if (els.length !== 1 || nodes.length !== 1) throw new XmlParseError('document must have exactly one root element');
  return els[0]!;
}

/** Parses a fragment of zero or more sibling elements (the `element=` parameter); text is refused. */
export function parseXmlFragment(src: string): XmlElement[] {
  const nodes = new Parser(src).content();
  if (nodes.some((n) => typeof n === 'string')) throw new XmlParseError('text outside of an element');
  return nodes as XmlElement[];
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' } as const)[c as '<']};`);
}

export function serializeXml(node: XmlNode): string {
  if (typeof node === 'string') return escapeXml(node);
  const attrs = Object.entries(node.attrs).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  if (node.children.length === 0) return `<${node.name}${attrs}/>`;
  return `<${node.name}${attrs}>${node.children.map(serializeXml).join('')}</${node.name}>`;
}

export function childElements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name));
}

export function firstChild(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el === undefined ? undefined : childElements(el, name)[0];
}

/** Follows a chain of child names from `el`. */
export function findPath(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const n of names) cur = firstChild(cur, n);
  return cur;
}

/** Concatenated text of an element and its descendants. */
export function textOf(node: XmlNode | undefined): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node;
  return node.children.map(textOf).join('');
}

export function cloneXml<T extends XmlNode>(node: T): T {
  if (typeof node === 'string') return node;
  return { name: node.name, attrs: { ...node.attrs }, children: node.children.map(cloneXml) } as T;
}
