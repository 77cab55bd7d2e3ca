/**
 * XML for the PAN-OS simulator, on fast-xml-parser. Deliberately not the PAN-OS app's own parser
 * (src/apps/panos/xml.ts): if the simulator shared it, a bug there would be made on both ends of
 * the wire and no test would see it. Pure functions, no side effects.
 *
 * A tree is plain elements (name, attributes, children) and strings. Parsing drops comments,
 * processing instructions and whitespace-only text between elements, joins CDATA into the text,
 * and refuses what is not well-formed. Building escapes the five XML characters in text and
 * attribute values and writes an empty element as `<name/>`, as the simulator always has.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlEl {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlEl | string;

/** Input that is not well-formed XML, or not the shape asked for (one root, no loose text). */
export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

/** fast-xml-parser's `preserveOrder` shape: `{ [tag]: children, ':@'?: attributes }` or `{ '#text': text }`. */
type Ordered = Record<string, unknown>;
const ATTRS = ':@';
const TEXT = '#text';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Also decodes numeric character references (&#233;), which plain XML entity handling leaves as is.
  htmlEntities: true,
});

const builder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  suppressEmptyNode: true,
  processEntities: true,
  format: false,
});

function fromOrdered(nodes: Ordered[]): XmlNode[] {
  const out: XmlNode[] = [];
  for (const node of nodes) {
    if (Object.hasOwn(node, TEXT)) {
      const text = String(node[TEXT]);
      const last = out[out.length - 1];
      // CDATA and text around it arrive as separate text nodes: one string, as in the document.
      if (typeof last === 'string') out[out.length - 1] = last + text;
      else out.push(text);
      continue;
    }
    const name = Object.keys(node).find((k) => k !== ATTRS);
    if (name === undefined) continue;
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries((node[ATTRS] ?? {}) as Record<string, unknown>)) attrs[k] = String(v);
    out.push({ name, attrs, children: fromOrdered(node[name] as Ordered[]) });
  }
  return out.filter((n) => typeof n !== 'string' || n.trim() !== '');
}

function toOrdered(nodes: readonly XmlNode[]): Ordered[] {
  return nodes.map((n) => {
    if (typeof n === 'string') return { [TEXT]: n };
    const o: Ordered = { [n.name]: toOrdered(n.children) };
    if (Object.keys(n.attrs).length > 0) o[ATTRS] = { ...n.attrs };
    return o;
  });
}

/** The validator's message in one line; its "Invalid '[…]' found" for unclosed tags, in words. */
function explain(message: string, wrapper: string): string {
  const unclosed = /^Invalid '(\[[^]*\])' found\.$/.exec(message.trim());
  if (unclosed !== null) {
    const names = (JSON.parse(unclosed[1]!) as string[]).filter((n) => n !== wrapper);
    return `unclosed ${names.map((n) => `<${n}>`).join(', ')}`;
  }
  return message.replace(/\s+/g, ' ').trim();
}

function validate(doc: string, wrapper: string, shift: number): void {
  const valid = XMLValidator.validate(doc);
  if (valid === true) return;
  const { msg, line, col } = valid.err;
  throw new XmlSyntaxError(`${explain(msg, wrapper)} (line ${line}, column ${line === 1 ? col - shift : col})`);
}

const MULTIPLE_ROOTS = /^Multiple possible root nodes/;

/**
 * Parses `src`. A fragment may have several siblings, which the validator refuses as a document:
 * it is checked as is first (for messages about the input itself), and if several roots are all
 * that is wrong, checked and parsed inside an `<element>` wrapper (named after the request
 * parameter it comes from), then unwrapped.
 */
function parseNodes(src: string, fragment: boolean): XmlNode[] {
  const wrapper = 'element';
  const open = fragment ? `<${wrapper}>` : '';
  const doc = fragment ? `${open}${src}</${wrapper}>` : src;
  try {
    validate(src, wrapper, 0);
  } catch (err) {
    if (!fragment || !(err instanceof XmlSyntaxError) || !MULTIPLE_ROOTS.test(err.message)) throw err;
    validate(doc, wrapper, open.length);
  }
  let nodes: XmlNode[];
  try {
    nodes = fromOrdered(parser.parse(doc) as Ordered[]);
  } catch (err) {
    // The parser refuses some names outright (e.g. __proto__).
    throw new XmlSyntaxError(err instanceof Error ? err.message : String(err));
  }
  const root = nodes[0];
  return fragment && root !== undefined && typeof root !== 'string' ? root.children : nodes;
}

/** A document: exactly one root element. */
export function parseDocument(src: string): XmlEl {
  const nodes = src.trim() === '' ? [] : parseNodes(src, false);
  const root = nodes[0];
  if (nodes.length !== 1 || root === undefined || typeof root === 'string') {
    throw new XmlSyntaxError('expected exactly one root element');
  }
  return root;
}

/** Zero or more sibling elements (the `element=` parameter of a config set); loose text is refused. */
export function parseFragment(src: string): XmlEl[] {
  const nodes = parseNodes(src, true);
  if (nodes.some((n) => typeof n === 'string')) throw new XmlSyntaxError('text outside of an element');
  return nodes as XmlEl[];
}

/** The XML text of a node or of siblings. */
export function toXml(nodes: XmlNode | readonly XmlNode[]): string {
  const list = Array.isArray(nodes) ? nodes : [nodes as XmlNode];
  return list.length === 0 ? '' : (builder.build(toOrdered(list)) as string);
}

/** An element; `children` may mix elements and text. */
export function el(name: string, attrs: Record<string, string> = {}, ...children: XmlNode[]): XmlEl {
  return { name, attrs, children };
}

export function elements(parent: XmlEl | undefined, name?: string): XmlEl[] {
  if (parent === undefined) return [];
  return parent.children.filter((c): c is XmlEl => typeof c !== 'string' && (name === undefined || c.name === name));
}

export function child(parent: XmlEl | undefined, name: string): XmlEl | undefined {
  return elements(parent, name)[0];
}

/** Follows a chain of child names. */
export function descend(from: XmlEl | undefined, ...names: string[]): XmlEl | undefined {
  return names.reduce<XmlEl | undefined>((cur, n) => child(cur, n), from);
}

/** Text of a node and its descendants. */
export function text(node: XmlNode | undefined): string {
  if (node === undefined) return '';
  return typeof node === 'string' ? node : node.children.map(text).join('');
}

export function clone<T extends XmlNode>(node: T): T {
  if (typeof node === 'string') return node;
  return { name: node.name, attrs: { ...node.attrs }, children: node.children.map(clone) } as T;
}
