/**
 * Playbooks generated from data, for property tests of replay: a shape is a tree of effects
 * combined in sequence, in parallel (`Promise.all`), in a race (`Promise.race`) and in loops. The
 * playbook that interprets a shape is deterministic; only the vendors' latencies differ from one
 * execution to the next.
 */
import fc from 'fast-check';
import type { Shape } from './shape-interpreter.js';

export { interpret } from './shape-interpreter.js';
export type { Shape };

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
