/**
 * The arguments of `ctx.lists.add(list, value)` / `ctx.lists.remove(list, value)`, checked where
 * the call is made (in process, and at the sandbox's boundary): a list name or a value the API
 * would refuse is refused before the step takes a position in the journal, so the refusal is the
 * same on every replay and nothing is written. Whether the list exists is the host's question
 * (it can change): an unknown list fails the step.
 */
import { listNameProblem, validateListItem } from '../store/ip-match.js';

export type ListOp = 'add' | 'remove';

/** The list and the value as the step journals them; throws a TypeError naming what is wrong. */
export function checkListCall(op: ListOp, list: unknown, value: unknown): { list: string; value: string } {
  const call = `ctx.lists.${op}`;
  const nameProblem = listNameProblem(list);
  if (nameProblem !== null) throw new TypeError(`${call}: ${nameProblem}`);
  if (typeof value !== 'string') {
    const got = value === null ? 'null' : typeof value;
    throw new TypeError(`${call}(${JSON.stringify(list)}, …): the value must be a string, got ${got}`);
  }
  const itemProblem = validateListItem(value);
  if (itemProblem !== null) throw new TypeError(`${call}(${JSON.stringify(list)}, …): ${itemProblem}`);
  return { list: list as string, value };
}
