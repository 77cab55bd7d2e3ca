/** The project root (dist/bench/ → ../..), so the benchmark runs from any working directory. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const inRoot = (...p: string[]) => resolve(ROOT, ...p);
