/**
 * The RSQL subset the Jamf Pro API simulator understands in `filter=`: comparisons
 * `field==value`, `!=`, `=ge=`, `=gt=`, `=le=`, `=lt=`, joined by `;` (and, binds tighter) and
 * `,` (or), with parentheses. Values are bare (`command==ERASE_DEVICE`) or double/single quoted
 * with backslash escapes (`general.name=="O\"Brien"`); `*` in an `==` value is a wildcard.
 * String equality is case-insensitive, like Jamf's MySQL-backed filters [unverified].
 */
export type RsqlNode =
  | { kind: 'and' | 'or'; parts: RsqlNode[] }
  | { kind: 'cmp'; field: string; op: string; value: string };

export class RsqlError extends Error {}

const OPS = new Set(['==', '!=', '=ge=', '=gt=', '=le=', '=lt=']);

export function parseRsql(text: string): RsqlNode {
  let pos = 0;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const take = (re: RegExp): string | undefined => {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    pos = re.lastIndex;
    return m[0];
  };
  const group = (kind: 'and' | 'or', sep: string, next: () => RsqlNode): RsqlNode => {
    const parts = [next()];
    for (ws(); text[pos] === sep; ws()) {
      pos++;
      parts.push(next());
    }
    return parts.length === 1 ? parts[0]! : { kind, parts };
  };
  const value = (): string => {
    const q = text[pos];
    if (q !== '"' && q !== "'") {
      const v = take(/[^;,()"'\s]+/y);
      if (v === undefined) throw new RsqlError(`missing value at position ${pos}`);
      return v;
    }
    let out = '';
    for (pos++; pos < text.length; pos++) {
      const c = text[pos]!;
      if (c === '\\' && pos + 1 < text.length) out += text[++pos];
      else if (c === q) {
        pos++;
        return out;
      } else out += c;
    }
    throw new RsqlError('unterminated quoted value');
  };
  const term = (): RsqlNode => {
    ws();
    if (text[pos] === '(') {
      pos++;
      const inner = or();
      ws();
      if (text[pos] !== ')') throw new RsqlError(`expected ')' at position ${pos}`);
      pos++;
      return inner;
    }
    const field = take(/[A-Za-z][A-Za-z0-9_.]*/y);
    if (field === undefined) throw new RsqlError(`expected a field name at position ${pos}`);
    const op = take(/==|!=|=[a-z]+=/y);
    if (op === undefined || !OPS.has(op)) throw new RsqlError(`unsupported operator after '${field}'`);
    return { kind: 'cmp', field, op, value: value() };
  };
  const and = () => group('and', ';', term);
  const or = () => group('or', ',', and);
  const node = or();
  ws();
  if (pos !== text.length) throw new RsqlError(`unexpected '${text[pos]}' at position ${pos}`);
  return node;
}

export function rsqlFields(node: RsqlNode): string[] {
  return node.kind === 'cmp' ? [node.field] : node.parts.flatMap(rsqlFields);
}

function order(a: string, b: string): number {
  const da = Date.parse(a);
  const db = Date.parse(b);
  if (!Number.isNaN(da) && !Number.isNaN(db)) return da - db;
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a.localeCompare(b);
}

function globEquals(actual: string, pattern: string): boolean {
  if (!pattern.includes('*')) return actual.toLowerCase() === pattern.toLowerCase();
  const re = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${re}$`, 'i').test(actual);
}

/** Evaluates the filter against one item; `get` returns a field's value ('' when absent). */
export function evalRsql(node: RsqlNode, get: (field: string) => string): boolean {
  if (node.kind !== 'cmp') return node.kind === 'and' ? node.parts.every((p) => evalRsql(p, get)) : node.parts.some((p) => evalRsql(p, get));
  const actual = get(node.field);
  switch (node.op) {
    case '==': return globEquals(actual, node.value);
    case '!=': return !globEquals(actual, node.value);
    case '=ge=': return actual !== '' && order(actual, node.value) >= 0;
    case '=gt=': return actual !== '' && order(actual, node.value) > 0;
    case '=le=': return actual !== '' && order(actual, node.value) <= 0;
    default: return actual !== '' && order(actual, node.value) < 0;
  }
}
