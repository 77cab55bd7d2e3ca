/** The playbooks shipped with Riposte, each with the compiled module that defines it (its code identity). */
import { fileURLToPath } from 'node:url';
import type { PlaybookModule } from '../src/engine/registry.js';
import mobileUnauthorizedIp from './mobile-unauthorized-ip.js';

export const shippedPlaybooks: PlaybookModule[] = [
  { definition: mobileUnauthorizedIp, entry: fileURLToPath(new URL('./mobile-unauthorized-ip.js', import.meta.url)) },
];
