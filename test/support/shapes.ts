/**
 * Playbooks generated from data, for property tests of replay: a shape is a tree of effects
 * combined in sequence, in parallel (`Promise.all`), in a race (`Promise.race`) and in loops. The
 * playbook that interprets a shape is deterministic; only the vendors' latencies differ from one
 * execution to the next.
 */
import fc from 'fast-check';
import type { AppDefinition } from '../../src/sdk/app.js';
import type { PlaybookContext } from '../../src/sdk/playbook.js';

export type Shape =
  | { t: 'read' } // a read-only action (echo), random latency
  | { t: 'write' } // a changing, non-idempotent action with reconcile (destroy), random latency
  | { t: 'note' } // a note on the incident
  | { t: 'sleep'; ms: number } // a short sleep, waited in process
  | { t: 'park' } // a sleep long enough to park the run (it is replayed when the timer fires)
  | { t: 'now' }
  | { t: 'seq'; body: Shape[] }
  | { t: 'all'; body: Shape[] }
  | { t: 'race'; body: Shape[] }
  | { t: 'loop'; n: number; body: Shape };

/** fast-check arbitrary of shapes: at most `depth` levels of combinators. */
export function shapeArb(opts: { park?: boolean; depth?: number } = {}): fc.Arbitrary<Shape> {
  const leaves: Array<fc.Arbitrary<Shape>> = [
    fc.constant<Shape>({ t: 'read' }),
    fc.constant<Shape>({ t: 'write' }),
    fc.constant<Shape>({ t: 'note' }),
    fc.integer({ min: 0, max: 15 }).map((ms): Shape => ({ t: 'sleep', ms })),
    fc.constant<Shape>({ t: 'now' }),
  ];
  if (opts.park) leaves.push(fc.constant<Shape>({ t: 'park' }));
  const leaf = fc.oneof(...leaves);
  const { tree } = fc.letrec<{ tree: Shape }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth: opts.depth ?? 3 },
      leaf,
      fc.array(tie('tree'), { minLength: 1, maxLength: 4 }).map((body): Shape => ({ t: 'seq', body })),
      fc.array(tie('tree'), { minLength: 2, maxLength: 4 }).map((body): Shape => ({ t: 'all', body })),
      fc.array(tie('tree'), { minLength: 2, maxLength: 3 }).map((body): Shape => ({ t: 'race', body })),
      fc.record({ n: fc.integer({ min: 1, max: 3 }), body: tie('tree') }).map((l): Shape => ({ t: 'loop', ...l })),
    ),
  }));
  return tree;
}

export interface ShapeApp {
  echo(input: { value: string }): Promise<{ value: string }>;
  destroy(input: { target: string }): Promise<{ destroyed: string }>;
}

/**
 * Runs a shape. Every effect gets an id from its place in the tree (and loop round), so every
 * step's parameters are distinct; the result lists what each node returned, races included.
 */
export async function interpret(
  ctx: PlaybookContext,
  app: AppDefinition,
  asset: string,
  shape: Shape,
  parkMs: number,
): Promise<string> {
  const tv = ctx.asset(app, asset) as unknown as ShapeApp;
  const run = async (s: Shape, id: string): Promise<string> => {
    switch (s.t) {
      case 'read':
        return (await tv.echo({ value: id })).value;
      case 'write':
        return (await tv.destroy({ target: id })).destroyed;
      case 'note':
        await ctx.note(`note ${id}`);
        return `n${id}`;
      case 'sleep':
        await ctx.sleep(s.ms);
        return `s${id}`;
      case 'park':
        await ctx.sleep(parkMs);
        return `p${id}`;
      case 'now':
        ctx.now();
        return `t${id}`;
      case 'seq': {
        const out: string[] = [];
        for (const [i, b] of s.body.entries()) out.push(await run(b, `${id}.${i}`));
        return `(${out.join(' ')})`;
      }
      case 'all':
        return `[${(await Promise.all(s.body.map((b, i) => run(b, `${id}.${i}`)))).join(' ')}]`;
      case 'race':
        return `{${await Promise.race(s.body.map((b, i) => run(b, `${id}.${i}`)))}}`;
      case 'loop': {
        const out: string[] = [];
        for (let i = 0; i < s.n; i++) out.push(await run(s.body, `${id}#${i}`));
        return out.join('+');
      }
    }
  };
  return run(shape, 'r');
}

/** How many effects of a kind a shape makes (races and loops included). */
export function count(s: Shape, kind: 'write' | 'note' | 'read'): number {
  switch (s.t) {
    case 'seq':
    case 'all':
    case 'race':
      return s.body.reduce((n, b) => n + count(b, kind), 0);
    case 'loop':
      return s.n * count(s.body, kind);
    default:
      return s.t === kind ? 1 : 0;
  }
}
