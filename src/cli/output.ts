/**
 * The only way CLI commands write to the terminal (an architecture test holds every other file of
 * src/cli to it). Alerts, notes, vendor answers and names come from outside: an escape sequence in
 * one (`\e]0;…\a` sets the window title, `\e[2J` clears the screen, U+009B is a one-byte CSI,
 * U+202E reverses the line) must reach the analyst as visible text, never as a command.
 *
 * Two layers: formatters put each field through `terminalSafe` (all controls escaped, newlines too,
 * so a field cannot forge a line), and these writers escape every control character except the
 * newlines the CLI itself writes, so a field a formatter forgot still cannot drive the terminal.
 * `--json` output escapes what JSON.stringify leaves raw (DEL, C1 controls, bidi overrides, line
 * separators), which keeps it valid JSON that a `jq` or `cat` on a terminal shows harmlessly.
 */
import { terminalSafe } from './terminal-text.js';

export { terminalSafe };

// Every control character but the newline; DEL, C1, the bidi embeddings/overrides/isolates.
const UNSAFE_ON_SCREEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// What JSON.stringify does not escape but a terminal would act on (or reorder).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with every control character but `\n` shown as a `\u001b`-style escape. */
export function screenSafe(text: string): string {
  return text.replace(UNSAFE_ON_SCREEN, hex4);
}

/** Pretty JSON in which no character can steer a terminal; still the same JSON value. */
export function safeJson(value: unknown): string {
  // Outside strings JSON has only ASCII printable characters and whitespace, so every match is
  // inside a string, where `\uXXXX` means the same character.
  return (JSON.stringify(value, null, 2) ?? 'null').replace(UNSAFE_IN_JSON, hex4);
}

/** One or more lines on stdout, then a newline. */
export function print(text: string): void {
  process.stdout.write(`${screenSafe(text)}\n`);
}

/** Text on stdout as it is (no newline added), made screen-safe. */
export function write(text: string): void {
  process.stdout.write(screenSafe(text));
}

/** Text on stderr as it is (no newline added), made screen-safe. */
export function writeErr(text: string): void {
  process.stderr.write(screenSafe(text));
}

/** `value` as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}
