/** Asking the person at the terminal to confirm a consequential command by typing `yes`. */
import { createInterface } from 'node:readline';
import { screenSafe } from './output.js';

export interface ConfirmIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Whether a person can answer: both ends of the conversation are a terminal. */
export function interactive(io: ConfirmIo): boolean {
  return io.input.isTTY === true && io.output.isTTY === true;
}

/**
 * Asks `question` and resolves true only when the answer is `yes` (any case, surrounding blanks
 * ignored). End of input (Ctrl-D) or any other answer is a no. Call only when `interactive(io)`.
 */
export function confirmByTyping(question: string, io: ConfirmIo): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.input, output: io.output, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line.trim().toLowerCase() === 'yes');
    });
    rl.once('close', () => {
      if (!answered) {
        io.output.write('\n');
        resolve(false);
      }
    });
    io.output.write(screenSafe(question));
  });
}
