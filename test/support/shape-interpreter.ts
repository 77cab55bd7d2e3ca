/**
 * The playbook that interprets a shape (see shapes.ts), with no imports of its own beyond types, so
 * it can be bundled into the sandbox as well as run in process.
 */
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

