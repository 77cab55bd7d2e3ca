/**
 * What a parked run or step waits for, as a type. Stored as text in `runs.waiting_on`
 * (`timer`, `approval:<id>`, `prompt:<id>`, `kill-switch`); these two functions are the only
 * place that text is made or read.
 */
export type WaitOn =
  { kind: 'timer' } | { kind: 'approval'; id: string } | { kind: 'prompt'; id: string } | { kind: 'kill-switch' };

export function formatWaitOn(w: WaitOn): string {
  return w.kind === 'approval' || w.kind === 'prompt' ? `${w.kind}:${w.id}` : w.kind;
}

/** The stored text back as a WaitOn; null for text no version of Riposte wrote. */
export function parseWaitOn(text: string | null): WaitOn | null {
  if (text === 'timer' || text === 'kill-switch') return { kind: text };
  const m = text === null ? null : /^(approval|prompt):(.+)$/s.exec(text);
  if (!m) return null;
  return { kind: m[1] as 'approval' | 'prompt', id: m[2]! };
}
