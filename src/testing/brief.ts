/** A value as JSON for a message about a test, cut after `max` characters (inputs can be large). */
export function brief(v: unknown, max: number): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
