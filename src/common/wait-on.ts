/**
 * What a parked run or step waits for, as a type. Stored as text in `runs.waiting_on`
 * (`timer`, `approval:<id>`, `prompt:<id>`, `run:<id>`, `kill-switch`); these two functions are the
 * only place that text is made or read. `run`: a child run (`ctx.playbook`) the step waits for.
 */
export type WaitOn =
  | { kind: 'timer' }
  | { kind: 'approval'; id: string }
  | { kind: 'prompt'; id: string }
  | { kind: 'run'; id: string }
  | { kind: 'kill-switch' };

export function formatWaitOn(w: WaitOn): string {
  return w.kind === 'timer' || w.kind === 'kill-switch' ? w.kind : `${w.kind}:${w.id}`;
}

/** The stored text back as a WaitOn; null for text no version of Riposte wrote. */
export function parseWaitOn(text: string | null): WaitOn | null {
  if (text === 'timer' || text === 'kill-switch') return { kind: text };
  const m = text === null ? null : /^(approval|prompt|run):(.+)$/s.exec(text);
  if (!m) return null;
  return { kind: m[1] as 'approval' | 'prompt' | 'run', id: m[2]! };
}
