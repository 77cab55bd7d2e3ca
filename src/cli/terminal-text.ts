/**
 * Text that came from outside (a reason typed by someone, a vendor's answer) is shown on a terminal
 * only through `terminalSafe`: control characters — escape sequences that could move the cursor,
 * rewrite earlier lines or set the window title — are shown as `\u001b`-style escapes instead.
 */

// C0 controls (tab included: it would break the aligned columns), DEL, C1 controls, and the
// bidirectional overrides that can make text read in another order than it is stored.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
