/**
 * The playbooks shipped with Riposte: files the server loads into the sandbox like any other
 * playbook (it never imports them). Paths are those of the compiled modules.
 */
import { fileURLToPath } from 'node:url';

export const BUILTIN_REPOSITORY = 'builtin';

export const shippedPlaybookFiles: Array<{ path: string; file: string }> = [
  { path: 'playbooks/mobile-unauthorized-ip.ts', file: fileURLToPath(new URL('./mobile-unauthorized-ip.js', import.meta.url)) },
];
