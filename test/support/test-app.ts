/**
 * A scriptable in-process "vendor" app for engine and broker tests: its actions count what they
 * really did, and a script decides how each attempt behaves (succeed, fail retryably, fail
 * terminally, lose the reply, hang).
 */
import { z } from 'zod';
import { capabilities, defineApp, RetryableError, TerminalError } from '../../src/sdk/index.js';

export type Behaviour = 'ok' | 'retryable' | 'terminal' | 'lost-reply' | 'hang' | 'bug';

export class TestVendor {
  /** Effects the vendor really applied, in order. */
  readonly applied: Array<{ action: string; input: unknown; key: string }> = [];
  /** Calls received (attempts), applied or not. */
  calls = 0;
  readonly script: Behaviour[] = [];
  delayMs = 0;
  /** Per-call latency (overrides delayMs), e.g. random latencies for property tests. */
  latency: ((action: string, input: unknown) => number) | undefined;
  /** Called as each attempt arrives, before it is applied (to look at what was committed by then). */
  onCall: ((action: string, key: string) => void) | undefined;

  next(): Behaviour {
    return this.script.shift() ?? 'ok';
  }

  count(action: string): number {
    return this.applied.filter((a) => a.action === action).length;
  }
}

export function makeTestApp(vendor: TestVendor) {
  async function behave<T>(action: string, input: unknown, key: string, signal: AbortSignal, result: T): Promise<T> {
    vendor.calls++;
    vendor.onCall?.(action, key);
    const delay = vendor.latency ? vendor.latency(action, input) : vendor.delayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const b = vendor.next();
    switch (b) {
      case 'retryable': throw new RetryableError('vendor busy', { status: 429, retryAfterMs: 5, applied: 'no' });
      case 'terminal': throw new TerminalError('vendor refused: no such thing', { status: 404 });
      case 'bug': throw new TypeError('handler bug');
      case 'hang': await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))); return result;
      case 'lost-reply':
        vendor.applied.push({ action, input, key });
        throw new RetryableError('connection reset after sending', { applied: 'unknown' });
      case 'ok':
        vendor.applied.push({ action, input, key });
        return result;
    }
  }
  return defineApp({
    id: 'test-vendor',
    name: 'Test vendor',
    vendor: 'Riposte tests',
    product: 'Scriptable vendor',
    version: '1.0.0',
    implements: ['mdm'],
    config: z.object({ url: z.string(), token: z.string() }),
    secrets: ['token'],
    actions: (action) => ({
      echo: action({
        description: 'Returns its input', kind: 'investigate', readOnly: true, idempotent: true,
        input: z.object({ value: z.string() }), output: z.object({ value: z.string() }), timeoutMs: 200, maxAttempts: 3,
        handler: (input, ctx) => behave('echo', input, ctx.idempotencyKey, ctx.signal, { value: input.value }),
      }),
      destroy: action({
        description: 'An irreversible effect', kind: 'contain', readOnly: false, idempotent: false,
        input: z.object({ target: z.string() }), output: z.object({ destroyed: z.string() }), timeoutMs: 200, maxAttempts: 3,
        handler: (input, ctx) => behave('destroy', input, ctx.idempotencyKey, ctx.signal, { destroyed: input.target }),
        async reconcile(input) {
          return vendor.applied.some((a) => a.action === 'destroy' && (a.input as { target: string }).target === input.target)
            ? { applied: true, output: { destroyed: input.target } }
            : { applied: false };
        },
      }),
      destroyBlind: action({
        description: 'An irreversible effect without reconcile', kind: 'contain', readOnly: false, idempotent: false,
        input: z.object({ target: z.string() }), output: z.object({ destroyed: z.string() }), timeoutMs: 200,
        handler: (input, ctx) => behave('destroyBlind', input, ctx.idempotencyKey, ctx.signal, { destroyed: input.target }),
      }),
      // The mdm capability, whole (defineApp checks it): findDevice and wipeDevice.
      findDevice: action({
        description: 'mdm capability', kind: 'investigate', readOnly: true, idempotent: true,
        input: capabilities.mdm.findDevice.input,
        output: z.object({ found: z.boolean(), device: z.object({ id: z.string(), name: z.string() }).optional() }),
        handler: (input, ctx) => behave('findDevice', input, ctx.idempotencyKey, ctx.signal, { found: true, device: { id: input.deviceId ?? 'd1', name: input.deviceName ?? 'dev' } }),
      }),
      wipeDevice: action({
        description: 'mdm capability', kind: 'contain', readOnly: false, idempotent: false,
        input: capabilities.mdm.wipeDevice.input, output: capabilities.mdm.wipeDevice.output, timeoutMs: 200,
        handler: (input, ctx) => behave('wipeDevice', input, ctx.idempotencyKey, ctx.signal, { accepted: true }),
      }),
    }),
  });
}
