/**
 * Trigger conditions (src/engine/trigger-condition.ts): every allowed form, precedence, fields an
 * alert does not carry, custom lists with IP/CIDR items, and bad expressions refused with what is
 * wrong and where.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTriggerCondition, TriggerConditionError } from '../../src/engine/trigger-condition.js';
import { ipInList } from '../../src/store/ip-match.js';
import type { TriggerSubject } from '../../src/store/store.js';
import type { Severity } from '../../src/common/domain.js';

const LISTS: Record<string, string[]> = {
  'unauthorized-ips': ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'],
  vips: ['ceo@contoso.example', 'cfo@contoso.example'],
  empty: [],
};

/** A subject as the store builds it; list lookups count, and an unknown list throws as the store's does. */
interface Over { severity?: Severity; label?: string; source?: string; cef?: Array<Record<string, unknown>> }

function subject(over: Over = {}) {
  const lookups: Array<[string, string]> = [];
  const s: TriggerSubject = {
    severity: over.severity ?? 'high', label: over.label ?? 'mobile-unauthorized-ip', source: over.source ?? 'splunk',
    artifacts: (over.cef ?? [{ destinationAddress: '203.0.113.45', deviceExternalId: 'dev-1', destinationPort: '443' }])
      .map((cef) => ({ cef })),
    inList(list, value) {
      lookups.push([list, value]);
      const items = LISTS[list];
      if (items === undefined) throw new Error(`custom list "${list}" does not exist`);
      return ipInList(value, items);
    },
  };
  return { s, lookups };
}

const holds = (expr: string, over?: Over) => parseTriggerCondition(expr).holds(subject(over).s);

/** The error an expression is refused with. */
function refusal(expr: string): TriggerConditionError {
  try {
    parseTriggerCondition(expr);
  } catch (err) {
    assert.ok(err instanceof TriggerConditionError, `not a TriggerConditionError: ${String(err)}`);
    return err;
  }
  assert.fail(`accepted: ${expr}`);
}

describe('trigger conditions: the forms', () => {
  it('evaluates the example of the docs', () => {
    const expr = 'severity >= "high" && artifact.destinationAddress in list("unauthorized-ips")'
      + ' && has(artifact.deviceExternalId)';
    assert.equal(holds(expr), true);
    assert.equal(holds(expr, { severity: 'medium' }), false);
    assert.equal(holds(expr, { cef: [{ destinationAddress: '192.0.2.1', deviceExternalId: 'd' }] }), false);
    assert.equal(holds(expr, { cef: [{ destinationAddress: '203.0.113.45' }] }), false);
    assert.deepEqual(parseTriggerCondition(expr).lists, ['unauthorized-ips']);
  });

  it('orders severities low < medium < high < critical', () => {
    const table: Array<[string, Severity, boolean]> = [
      ['severity >= "high"', 'high', true], ['severity >= "high"', 'critical', true],
      ['severity >= "high"', 'medium', false],
      ['severity > "high"', 'high', false], ['severity > "high"', 'critical', true],
      ['severity <= "medium"', 'low', true], ['severity <= "medium"', 'high', false],
      ['severity < "low"', 'low', false], ['severity == "low"', 'low', true], ['severity != "low"', 'low', false],
      ['severity in ["high", "critical"]', 'critical', true], ['severity in ["high", "critical"]', 'low', false],
    ];
    for (const [expr, severity, want] of table) {
      assert.equal(holds(expr, { severity }), want, `${expr} with ${severity}`);
    }
  });

  it('compares fields, label and source with == and != (numbers as their text)', () => {
    assert.equal(holds('artifact.deviceExternalId == "dev-1"'), true);
    assert.equal(holds("artifact.deviceExternalId == 'dev-2'"), false);
    assert.equal(holds('artifact.destinationPort == 443'), true);
    assert.equal(holds('artifact["destinationPort"] == "443"'), true);
    assert.equal(holds('label == "mobile-unauthorized-ip" && source == "splunk"'), true);
    assert.equal(holds('source != "splunk"'), false);
    assert.equal(holds('artifact.deviceExternalId != "dev-2"'), true);
  });

  it('matches a field on any artifact; a field no artifact has matches nothing, and != is its negation', () => {
    const cef = [{ sourceUserName: 'jdoe' }, { sourceUserName: 'ceo@contoso.example', deviceExternalId: '' }];
    assert.equal(holds('artifact.sourceUserName == "ceo@contoso.example"', { cef }), true);
    assert.equal(holds('artifact.sourceUserName in list("vips")', { cef }), true);
    assert.equal(holds('has(artifact.deviceExternalId)', { cef }), false, 'an empty value is not present');
    assert.equal(holds('has(artifact.nothing)', { cef }), false);
    assert.equal(holds('artifact.nothing == "x"', { cef }), false);
    assert.equal(holds('artifact.nothing != "x"', { cef }), true);
    assert.equal(holds('artifact.nothing in ["x"]', { cef }), false);
    assert.equal(holds('artifact.nothing in list("vips")', { cef }), false);
    assert.equal(holds('has(artifact.sourceUserName)', { cef: [] }), false, 'no artifacts at all');
  });

  it('reads only own CEF fields: constructor, __proto__ and toString are absent fields', () => {
    for (const field of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(holds(`has(artifact.${field})`), false, field);
      assert.equal(holds(`artifact["${field}"] == "x"`), false, field);
    }
  });

  it('matches custom lists as ctx.lists.contains does: exact items, IPs inside IP/CIDR items, IPv6', () => {
    const inList = (value: string, list = 'unauthorized-ips') =>
      holds(`artifact.v in list("${list}")`, { cef: [{ v: value }] });
    assert.equal(inList('203.0.113.45'), true, 'inside 203.0.113.0/24');
    assert.equal(inList('203.0.114.1'), false);
    assert.equal(inList('198.51.100.7'), true, 'an exact IP item');
    assert.equal(inList('198.51.100.8'), false);
    assert.equal(inList('2001:db8::1'), true, 'inside 2001:db8::/32');
    assert.equal(inList('ceo@contoso.example', 'vips'), true);
    assert.equal(inList('CEO@contoso.example', 'vips'), false, 'exact, case-sensitive like the lists');
    assert.equal(inList('203.0.113.45', 'empty'), false);
  });

  it('matches a list of values', () => {
    assert.equal(holds('artifact.destinationPort in ["22", 443]'), true);
    assert.equal(holds('artifact.destinationPort in ["22", "3389"]'), false);
  });

  it('combines with !, && and ||, and constants', () => {
    assert.equal(holds('true'), true);
    assert.equal(holds('false'), false);
    assert.equal(holds('!false'), true);
    assert.equal(holds('!(artifact.destinationAddress in list("unauthorized-ips"))'), false);
    assert.equal(holds('severity == "low" || has(artifact.deviceExternalId)'), true);
    assert.equal(holds('!!true'), true);
  });

  it('binds ! tightest, then comparisons, then &&, then ||', () => {
    // && before ||: true || (false && false) is true; (true || false) && false would be false.
    assert.equal(holds('severity == "high" || severity == "low" && severity == "medium"'), true);
    assert.equal(holds('(severity == "high" || severity == "low") && severity == "medium"'), false);
    // ! applies to the condition right after it only.
    assert.equal(holds('!(severity == "low") && severity == "high"'), true);
    assert.equal(holds('!(severity == "high" && severity == "high")'), false);
    assert.equal(holds('!false || false'), true);
    assert.equal(holds('!(false || true)'), false);
  });

  it('stops at the first decisive operand: a list behind a false && is never looked up', () => {
    const { s, lookups } = subject({ severity: 'low' });
    const c = parseTriggerCondition('severity >= "high" && artifact.destinationAddress in list("nope")');
    assert.equal(c.holds(s), false);
    assert.deepEqual(lookups, []);
  });

  it('throws when a list it consults does not exist (the store then starts no run)', () => {
    assert.throws(() => holds('artifact.destinationAddress in list("nope")'), /custom list "nope" does not exist/);
  });
});

describe('trigger conditions: refused expressions', () => {
  const cases: Array<[string, RegExp, number | null]> = [
    ['severity >= "high" &&', /does not parse: Expected expression after &&/, 21],
    ['severity >= "high" )', /does not parse/, null],
    ['artifact.x == "a', /does not parse: Unclosed quote/, null],
    ['severty >= "high"', /unknown name "severty" \(allowed: severity, label, source, artifact\.<field>\)/, 0],
    ['severity >= "hgh"', /unknown severity "hgh" \(severities: low, medium, high, critical\)/, 12],
    ['severity >= 3', /severity is compared with a quoted text, not 3/, 12],
    ['artifact.destinationPort > "80"', /only severity can be compared with >, not artifact\.destinationPort/, 0],
    ['exec("rm -rf /")', /unknown function exec \(only has\(…\) and list\(…\)\)/, 0],
    ['severity == "low" || process.mainModule.require("fs")', /unknown function process\.mainModule\.require/, 21],
    ['artifact.a.constructor("return process")()', /a field has no fields|unknown function/, 0],
    ['artifact.x + 1 == 2', /operator \+ is not allowed/, 0],
    ['artifact.x === "a"', /operator === is not allowed: use ==/, 0],
    ['"a" == artifact.x', /put the value first: artifact\.x == "a"/, 0],
    ['!artifact.x in list("vips")', /! applies to the value only here: write !\(artifact\.x in …\)/, 0],
    ['artifact.x', /artifact\.x is a value, not a condition/, 0],
    ['"text"', /"text" is a value, not a condition/, 0],
    ['artifact == "x"', /name a field of the artifacts: artifact\.<field>/, 0],
    ['artifact.x.y == "a"', /a field has no fields: artifact\.x\.y/, 0],
    ['artifact?.x == "a"', /\?\. is not allowed/, 0],
    ['artifact[0] == "a"', /a field is named artifact\.<name> or artifact\["<name>"\]/, 0],
    ['has(severity)', /has\(…\) tests an artifact field, and severity is always there/, 4],
    ['has(artifact.a, artifact.b)', /has\(…\) takes one field/, 0],
    ['list("vips")', /list\(…\) belongs on the right of in/, 0],
    ['artifact.x in list(vips)', /list\(…\) takes one quoted list name/, 14],
    ['artifact.x in list("no spaces")', /"no spaces" is not a list name/, 19],
    ['artifact.x in "vips"', /the right of in is list\("<custom list>"\) or \["…", …\], not "vips"/, 14],
    ['artifact.x in []', /a list of values has 1 to 1000 items/, 14],
    ['severity in list("vips")', /severity is not looked up in a custom list/, 0],
    ['severity == "low"; true', /unexpected true: join conditions with && or \|\|/, 19],
    ['severity == "low" has(artifact.x)', /unexpected has\(artifact\.x\): join conditions with && or \|\|/, 18],
    ['artifact.x in', /nothing after in: write value in list\("…"\) or value in \["…", …\]/, 11],
    ['severity == "low" ? true : false', /a \? b : c is not allowed/, 0],
    ['this.constructor', /unknown value this\.constructor/, 0],
    ['-1', /operator - is not allowed/, 0],
    ['typeof artifact.x == "string"', /unexpected artifact\.x == "string": join conditions/, 7],
    ['x = 1', /does not parse/, 2],
    [`${'!'.repeat(100)}true`, /is nested too deeply \(at most 64 levels\)/, 65],
    ['', /is empty/, null],
    ['   ', /is empty/, null],
    [`severity == "${'x'.repeat(2000)}"`, /is longer than 2000 characters/, null],
  ];
  for (const [expr, message, position] of cases) {
    it(`refuses ${JSON.stringify(expr.length > 60 ? `${expr.slice(0, 57)}…` : expr)}`, () => {
      const err = refusal(expr);
      assert.match(err.message, /^trigger condition: /);
      assert.match(err.message, message);
      if (position !== null) {
        assert.equal(err.position, position);
        assert.match(err.message, new RegExp(` at column ${position + 1}: `));
      }
    });
  }

  it('marks the spot in the message and escapes control characters', () => {
    const err = refusal('severity >= "high" && bogus == "\u001b[2J"');
    assert.equal(err.message,
      'trigger condition: unknown name "bogus" (allowed: severity, label, source, artifact.<field>) at column 23: '
      + 'severity >= "high" && ▸bogus == "\\u001b[2J"');
    const some = 'severity == "low" || '.repeat(3);
    const long = refusal(`${some}bogus == "x" || ${some}true`);
    assert.match(long.message, / at column 64: …\|\| severity == "low" \|\| ▸bogus == "x" \|\| severity…$/);
  });

  it('refuses a value that is not a string', () => {
    assert.throws(() => parseTriggerCondition(42 as unknown as string), /trigger condition: must be a string/);
  });
});
