/** Text from outside is shown with its control characters made visible, never sent raw to the terminal. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, terminalSafe, truncate } from '../../src/cli/format.js';

describe('terminalSafe', () => {
  it('escapes C0, DEL, C1 and bidirectional overrides; leaves other text alone', () => {
    assert.equal(terminalSafe('a\u001b[31mb'), 'a\\u001b[31mb');
    assert.equal(terminalSafe('\u0007\u007f\u009b\u202e\u2066'), '\\u0007\\u007f\\u009b\\u202e\\u2066');
    assert.equal(terminalSafe('jdoe@contoso.example → 203.0.113.45 ✓ é'), 'jdoe@contoso.example → 203.0.113.45 ✓ é');
  });

  it('applies to truncate and summarize (C1 controls survive JSON.stringify)', () => {
    assert.equal(truncate('x\ty\n  z'), 'x\\u0009y z');
    assert.equal(summarize({ id: 'a\u009b2Jb\u001b' }), '{"id":"a\\u009b2Jb\\u001b"}');
    assert.equal(truncate('\u001b'.repeat(50), 20).length, 20);
  });
});
