/**
 * Trigger conditions: a short expression a playbook (`triggers.when`) or an operator (`riposte
 * playbooks trigger <id> --when …`) sets on top of the label, e.g.
 *
 *   severity >= "high" && artifact.destinationAddress in list("unauthorized-ips") && has(artifact.deviceExternalId)
 *
 * The grammar, and nothing more (anything else is refused with what and where):
 *   condition := condition && condition | condition || condition | !condition | ( condition ) | true | false
 *              | has(field)                          a field is present (non-empty) on some artifact
 *              | value == literal | value != literal  (!= is exactly !(value == literal))
 *              | value in list("name")               in a custom list, as `ctx.lists.contains` decides (IP/CIDR)
 *              | value in ["a", "b", …]
 *              | severity (< | <= | > | >=) "<severity>"   ordered low < medium < high < critical
 *   value     := severity | label | source | field
 *   field     := artifact.<name> | artifact["<name>"]   the CEF field <name> of the incident's artifacts
 *   literal   := "text" | 'text' | number
 * A field stands for the values it has across the incident's artifacts: a comparison holds when
 * one of them satisfies it; a field no artifact has satisfies nothing. Precedence is JavaScript's:
 * ! binds tightest, then the comparisons and `in`, then &&, then ||.
 *
 * Parsing is jsep's (it builds an AST and executes nothing); this module checks the AST against
 * the forms above and turns it into closures that walk it. No eval, no Function, no JS generated.
 */
import jsep from 'jsep';
import { SEVERITIES, type Severity } from '../common/domain.js';
import { MAX_TRIGGER_LENGTH } from '../store/records.js';
import type { TriggerSubject } from '../store/store.js';

/** An expression that does not parse or uses something not allowed; the message names what and where. */
export class TriggerConditionError extends Error {
  constructor(readonly problem: string, readonly position: number | null, readonly expression: string) {
    const where = position === null ? '' : ` at column ${position + 1}: ${excerpt(expression, position)}`;
    super(`trigger condition: ${problem}${where}`);
    this.name = 'TriggerConditionError';
  }
}

/** A checked condition, ready to be evaluated against the alert being ingested. */
export interface TriggerCondition {
  readonly text: string;
  /** Custom lists it consults, in order of appearance. */
  readonly lists: readonly string[];
  /** Synchronous; throws when the subject cannot decide it (a list that does not exist). */
  holds(subject: TriggerSubject): boolean;
}

const MAX_DEPTH = 64;
const MAX_SET = 1000;
const VALUE_NAMES = ['severity', 'label', 'source'] as const;
const ALLOWED = 'severity, label, source, artifact.<field>, has(…), list("…"), true, false';
const VALUES_ALLOWED = [...VALUE_NAMES, 'artifact.<field>'].join(', ');
const TOO_DEEP = `is nested too deeply (at most ${MAX_DEPTH} levels)`;

// ── the parser's configuration (jsep's settings are module-wide; only this module uses jsep) ──
jsep.addBinaryOp('in', 7);
/** Start index of each token being read; a token's end is where the parser stands after it. */
let starts: number[] = [];
jsep.hooks.add('gobble-token', function (env) {
  starts.push(this.index);
  // jsep reads a number without running `after-token`: read it here so every start gets its end.
  const c = this.code;
  if ((c >= 48 && c <= 57) || c === 46) env.node = this.gobbleNumericLiteral();
});
jsep.hooks.add('after-token', function (env) {
  const start = starts.pop();
  const node = env.node as Spanned | undefined;
  // A parenthesized node keeps its own (inner) span; a bare token gets the token's.
  if (node && start !== undefined && node.start === undefined) {
    node.start = start;
    node.end = this.index;
  }
});

type Spanned = jsep.Expression & { start?: number; end?: number };
type Pred = (s: TriggerSubject) => boolean;
type Values = (s: TriggerSubject) => readonly string[];
interface ValueRef { values: Values; kind: 'severity' | 'label' | 'source' | 'field'; text: string }

/** Parses and checks an expression; throws TriggerConditionError naming the problem and where. */
export function parseTriggerCondition(text: string): TriggerCondition {
  if (typeof text !== 'string') throw new TriggerConditionError('must be a string', null, '');
  if (text.trim() === '') throw new TriggerConditionError('is empty', null, text);
  if (text.length > MAX_TRIGGER_LENGTH) {
    throw new TriggerConditionError(`is longer than ${MAX_TRIGGER_LENGTH} characters`, null, text);
  }
  let ast: jsep.Expression;
  starts = [];
  try {
    ast = jsep(text);
  } catch (err) {
    const e = err as { index?: unknown; description?: unknown };
    if (typeof e.index === 'number' && typeof e.description === 'string') {
      throw new TriggerConditionError(`does not parse: ${e.description}`, e.index, text);
    }
    if (err instanceof RangeError) throw new TriggerConditionError(TOO_DEEP, null, text);
    throw err;
  }
  spanAll(ast);
  const lists: string[] = [];
  const holds = new Checker(text, lists).condition(ast, 0);
  return { text, lists, holds };
}

/** Checks the AST against the allowed forms and compiles each to a closure. */
class Checker {
  constructor(private readonly text: string, private readonly lists: string[]) {}

  condition(node: jsep.Expression, depth: number): Pred {
    if (depth > MAX_DEPTH) this.fail(TOO_DEEP, node);
    const d = depth + 1;
    switch (node.type) {
      case 'Literal': {
        const { value } = node as jsep.Literal;
        if (typeof value === 'boolean') return () => value;
        return this.fail(`${this.show(node)} is a value, not a condition`, node);
      }
      case 'UnaryExpression': {
        const u = node as jsep.UnaryExpression;
        if (u.operator !== '!') return this.fail(`operator ${u.operator} is not allowed (only !, &&, ||)`, node);
        const inner = this.condition(u.argument, d);
        return (s) => !inner(s);
      }
      case 'BinaryExpression':
      case 'LogicalExpression':
        return this.binary(node as jsep.BinaryExpression, d);
      case 'CallExpression':
        return this.call(node as jsep.CallExpression);
      case 'Identifier':
      case 'MemberExpression':
        this.value(node);
        return this.fail(
          `${this.show(node)} is a value, not a condition: compare it (==, !=, in) or test it with has(…)`, node);
      case 'Compound': {
        // Two expressions side by side: a missing operator, or `in` with nothing after it.
        const next = (node as jsep.Compound).body[1] ?? node;
        if (next.type === 'Identifier' && (next as jsep.Identifier).name === 'in') {
          return this.fail('nothing after in: write value in list("…") or value in ["…", …]', next);
        }
        return this.fail(`unexpected ${this.show(next)}: join conditions with && or ||`, next);
      }
      default:
        return this.fail(`${describeType(node.type)} is not allowed (allowed: ${ALLOWED})`, node);
    }
  }

  private binary(node: jsep.BinaryExpression, d: number): Pred {
    const op = node.operator;
    if (op === '&&' || op === '||') {
      const left = this.condition(node.left, d);
      const right = this.condition(node.right, d);
      return op === '&&' ? (s) => left(s) && right(s) : (s) => left(s) || right(s);
    }
    if (op === '==' || op === '!=') {
      const ref = this.operand(node.left, node.right, op);
      const wanted = this.literal(node.right, ref);
      const values = ref.values;
      const eq: Pred = (s) => values(s).includes(wanted);
      return op === '==' ? eq : (s) => !eq(s);
    }
    if (op === '<' || op === '<=' || op === '>' || op === '>=') {
      const ref = this.operand(node.left, node.right, op);
      if (ref.kind !== 'severity') this.fail(`only severity can be compared with ${op}, not ${ref.text}`, node.left);
      const rank = severityRank(this.literal(node.right, ref));
      const cmp = ORDER[op];
      return (s) => cmp(severityRank(s.severity), rank);
    }
    if (op === 'in') return this.membership(node, this.operand(node.left, node.right, op));
    if (op === '===' || op === '!==') return this.fail(`operator ${op} is not allowed: use ${op.slice(0, 2)}`, node);
    return this.fail(`operator ${op} is not allowed (allowed: ${OPS_ALLOWED})`, node);
  }

  /** The value on the left of a comparison; a literal there (reversed operands) is named as such. */
  private operand(left: jsep.Expression, right: jsep.Expression, op: string): ValueRef {
    if (left.type === 'Literal' && right.type !== 'Literal') {
      this.fail(`put the value first: ${this.show(right)} ${op} ${this.show(left)}`, left);
    }
    if (left.type === 'UnaryExpression' && (left as jsep.UnaryExpression).operator === '!') {
      const value = this.show((left as jsep.UnaryExpression).argument);
      this.fail(`! applies to the value only here: write !(${value} ${op} …)`, left);
    }
    return this.value(left);
  }

  private value(node: jsep.Expression): ValueRef {
    if (node.type === 'Identifier') {
      const name = (node as jsep.Identifier).name;
      switch (name) {
        case 'severity': return { kind: 'severity', text: name, values: (s) => [s.severity] };
        case 'label': return { kind: 'label', text: name, values: (s) => [s.label] };
        case 'source': return { kind: 'source', text: name, values: (s) => [s.source] };
        case 'artifact': return this.fail('name a field of the artifacts: artifact.<field>', node);
        default: return this.fail(`unknown name "${name}" (allowed: ${VALUES_ALLOWED})`, node);
      }
    }
    if (node.type === 'MemberExpression') {
      const m = node as jsep.MemberExpression;
      if (m.object.type !== 'Identifier' || (m.object as jsep.Identifier).name !== 'artifact') {
        if (m.object.type === 'MemberExpression') return this.fail(`a field has no fields: ${this.show(node)}`, node);
        return this.fail(`unknown value ${this.show(node)} (allowed: ${VALUES_ALLOWED})`, node);
      }
      if (m.optional) return this.fail('?. is not allowed: a missing field simply matches nothing', node);
      let field: string;
      if (!m.computed && m.property.type === 'Identifier') field = (m.property as jsep.Identifier).name;
      else if (m.computed && m.property.type === 'Literal' && typeof (m.property as jsep.Literal).value === 'string') {
        field = (m.property as jsep.Literal).value as string;
      } else return this.fail('a field is named artifact.<name> or artifact["<name>"]', node);
      if (field === '' || field.length > 128) return this.fail('a field name has 1 to 128 characters', node);
      return { kind: 'field', text: `artifact.${field}`, values: (s) => fieldValues(s, field) };
    }
    if (node.type === 'CallExpression') return this.fail(`${this.show(node)} is not a value here`, node);
    if (node.type === 'BinaryExpression') {
      const op = (node as jsep.BinaryExpression).operator;
      if (!CONDITION_OPS.has(op)) return this.fail(`operator ${op} is not allowed (allowed: ${OPS_ALLOWED})`, node);
      return this.fail(`${this.show(node)} is a condition, not a value`, node);
    }
    return this.fail(`${this.show(node)} is not a value (allowed: ${VALUES_ALLOWED})`, node);
  }

  /** A string (or, for a field, a number, compared as its text); a severity must be one. */
  private literal(node: jsep.Expression, ref: ValueRef): string {
    const v = node.type === 'Literal' ? (node as jsep.Literal).value : undefined;
    let text: string;
    if (typeof v === 'string') text = v;
    else if (typeof v === 'number' && ref.kind === 'field' && Number.isFinite(v)) text = String(v);
    else return this.fail(`${ref.text} is compared with a quoted text, not ${this.show(node)}`, node);
    if (ref.kind === 'severity' && !(SEVERITIES as readonly string[]).includes(text)) {
      this.fail(`unknown severity "${text}" (severities: ${SEVERITIES.join(', ')})`, node);
    }
    return text;
  }

  private membership(node: jsep.BinaryExpression, ref: ValueRef): Pred {
    const right = node.right;
    const values = ref.values;
    if (right.type === 'ArrayExpression') {
      const elements = (right as jsep.ArrayExpression).elements;
      if (elements.length === 0 || elements.length > MAX_SET) {
        this.fail(`a list of values has 1 to ${MAX_SET} items`, right);
      }
      const item = (e: jsep.Expression | null) =>
        (e === null ? this.fail('a list of values has no holes', right) : this.literal(e, ref));
      const set = new Set(elements.map(item));
      return (s) => values(s).some((v) => set.has(v));
    }
    if (right.type === 'CallExpression' && calleeName(right as jsep.CallExpression) === 'list') {
      const name = this.listName(right as jsep.CallExpression);
      if (ref.kind === 'severity') {
        this.fail('severity is not looked up in a custom list: use in ["high", "critical"]', node.left);
      }
      this.lists.push(name);
      return (s) => values(s).some((v) => s.inList(name, v));
    }
    return this.fail(`the right of in is list("<custom list>") or ["…", …], not ${this.show(right)}`, right);
  }

  private listName(call: jsep.CallExpression): string {
    const [arg, ...rest] = call.arguments;
    if (!arg || rest.length > 0 || arg.type !== 'Literal' || typeof (arg as jsep.Literal).value !== 'string') {
      return this.fail('list(…) takes one quoted list name', call);
    }
    const name = (arg as jsep.Literal).value as string;
    if (!LIST_NAME.test(name)) {
      this.fail(`"${name}" is not a list name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)`,
        arg);
    }
    return name;
  }

  private call(node: jsep.CallExpression): Pred {
    const name = calleeName(node);
    if (name === 'list') return this.fail('list(…) belongs on the right of in: value in list("…")', node);
    if (name !== 'has') return this.fail(`unknown function ${this.show(node.callee)} (only has(…) and list(…))`, node);
    const [arg, ...rest] = node.arguments;
    if (!arg || rest.length > 0) return this.fail('has(…) takes one field: has(artifact.<field>)', node);
    const ref = this.value(arg);
    if (ref.kind !== 'field') return this.fail(`has(…) tests an artifact field, and ${ref.text} is always there`, arg);
    const values = ref.values;
    return (s) => values(s).length > 0;
  }

  private show(node: jsep.Expression): string {
    const n = node as Spanned;
    if (n.start !== undefined && n.end !== undefined) return this.text.slice(n.start, n.end).trim();
    return render(node);
  }

  private fail(problem: string, node: jsep.Expression): never {
    throw new TriggerConditionError(problem, spanStart(node), this.text);
  }
}

const CONDITION_OPS: ReadonlySet<string> = new Set(['&&', '||', '!', '==', '!=', '<', '<=', '>', '>=', 'in']);
const OPS_ALLOWED = [...CONDITION_OPS].join(' ');
const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ORDER: Record<'<' | '<=' | '>' | '>=', (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b,
};

/** low 0 … critical 3; an unknown severity ranks -1 and so is "at least" nothing. */
function severityRank(s: string): number {
  return (SEVERITIES as readonly string[]).indexOf(s as Severity);
}

/** The non-empty values of CEF field `field` across the artifacts (own keys only). */
function fieldValues(s: TriggerSubject, field: string): string[] {
  const out: string[] = [];
  for (const a of s.artifacts) {
    const cef = a.cef;
    if (!cef || !Object.hasOwn(cef, field)) continue;
    const v = cef[field];
    if (v === undefined || v === null) continue;
    const t = String(v);
    if (t !== '') out.push(t);
  }
  return out;
}

function calleeName(call: jsep.CallExpression): string | null {
  return call.callee.type === 'Identifier' ? (call.callee as jsep.Identifier).name : null;
}

const SPAN_KEYS = [
  'left', 'right', 'argument', 'object', 'property', 'callee', 'arguments', 'elements', 'body',
  'test', 'consequent', 'alternate',
];

/** A node without a span of its own (a callee, a property) as text. */
function render(node: jsep.Expression): string {
  switch (node.type) {
    case 'Identifier': return (node as jsep.Identifier).name;
    case 'Literal': return (node as jsep.Literal).raw;
    case 'MemberExpression': {
      const m = node as jsep.MemberExpression;
      return m.computed ? `${render(m.object)}[${render(m.property)}]` : `${render(m.object)}.${render(m.property)}`;
    }
    default: return describeType(node.type);
  }
}

/** Gives every node a span: a binary node (not a token, unless parenthesized) spans its operands. */
function spanAll(node: jsep.Expression): void {
  const n = node as Spanned;
  let start = Infinity;
  let end = -Infinity;
  for (const key of SPAN_KEYS) {
    const v = n[key];
    for (const child of Array.isArray(v) ? v : [v]) {
      if (!child || typeof child !== 'object' || typeof (child as jsep.Expression).type !== 'string') continue;
      spanAll(child as jsep.Expression);
      const c = child as Spanned;
      if (c.start !== undefined) start = Math.min(start, c.start);
      if (c.end !== undefined) end = Math.max(end, c.end);
    }
  }
  if (n.start === undefined && start !== Infinity) {
    n.start = start;
    n.end = end;
  }
}

function spanStart(node: jsep.Expression): number | null {
  return (node as Spanned).start ?? null;
}

function describeType(type: string): string {
  const names: Record<string, string> = {
    ConditionalExpression: 'a ? b : c', ThisExpression: 'this', ArrayExpression: 'a list of values',
    Compound: 'several expressions', SequenceExpression: 'a sequence (,)',
  };
  return names[type] ?? type;
}

/** The expression around `at`, with ▸ marking the spot; control characters escaped. */
function excerpt(text: string, at: number): string {
  const from = Math.max(0, at - 24);
  const to = Math.min(text.length, at + 24);
  const s = `${from > 0 ? '…' : ''}${text.slice(from, at)}▸${text.slice(at, to)}${to < text.length ? '…' : ''}`;
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escape);
}

/** The condition a playbook's runs start under, and whose it is (null: the label alone). */
export interface EffectiveTrigger {
  when: string | null;
  from: 'operator' | 'playbook' | null;
}

/** The operator's condition replaces the playbook's; neither means the label alone decides. */
export function effectiveTrigger(declared: string | undefined, operator: string | null | undefined): EffectiveTrigger {
  if (operator !== null && operator !== undefined) return { when: operator, from: 'operator' };
  if (declared !== undefined) return { when: declared, from: 'playbook' };
  return { when: null, from: null };
}
